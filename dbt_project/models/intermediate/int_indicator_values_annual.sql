{#- The latest vintage of every annual figure, one row per (region, indicator, year): what the annual
    indicator marts and the target observations read. -#}
with

vintages as (

    select * from {{ ref('int_indicator_observations_vintaged') }}

)

select
    region_code,
    indicator_code,
    year,
    value,
    unit,
    published_decimals,
    release_date,
    status,
    source_file
from vintages
where is_latest_vintage
  and frequency = 'A'
