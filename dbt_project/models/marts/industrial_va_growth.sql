{#- Growth of industrial value added above designated size at comparable prices, as published: a real
    growth rate is never derived from nominal value-added levels. -#}
with

growth as (

    select *
    from {{ ref('int_indicator_values_annual') }}
    where indicator_code = 'industrial_va_growth'

)

select
    region_code,
    year,
    value as industrial_va_growth_pct,
    release_date,
    status,
    source_file
from growth
