{#- Growth of industrial value added above designated size at comparable prices, as published: a real
    growth rate is never derived from nominal value-added levels. -#}
with

growth as (

    select *
    from {{ ref('fct_indicator_values') }}
    where indicator_code = 'industrial_va_growth'
      and frequency = 'A'

)

select
    region_code,
    year,
    value as industrial_va_growth_pct,
    release_date,
    status,
    source_file
from growth
