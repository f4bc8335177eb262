with

indicators as (

    select * from {{ ref('ref_indicators') }}

)

select
    cast(indicator_code as varchar) as indicator_code,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(unit as varchar) as unit,
    cast(description as varchar) as description
from indicators
