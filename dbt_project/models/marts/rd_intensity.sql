{#- R&D intensity per region and year, computed and as published, with the reconciliation of the two
    (int_rd_intensity). -#}
with

rd_intensity as (

    select * from {{ ref('int_rd_intensity') }}

)

select
    region_code,
    year,
    rd_expenditure,
    gdp,
    rd_intensity_pct,
    published_rd_intensity_pct,
    published_release_date,
    asof_rd_intensity_pct,
    reconciles
from rd_intensity
