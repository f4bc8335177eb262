{#- The units targets are stated in, with their labels. -#}
with

units as (

    select * from {{ ref('ref_target_units') }}

)

select
    cast(unit as varchar) as unit,
    cast(coalesce(suffix, '') as varchar) as suffix,
    cast(label_en as varchar) as label_en,
    cast(label_zh as varchar) as label_zh
from units
