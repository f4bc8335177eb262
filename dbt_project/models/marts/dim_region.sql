with

regions as (

    select * from {{ ref('ref_regions') }}

)

select
    cast(region_code as varchar) as region_code,
    lpad(cast(gb2260_code as varchar), 6, '0') as gb2260_code,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(level as varchar) as level
from regions
