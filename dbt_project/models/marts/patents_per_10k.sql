{#- Invention patents per 10,000 resident population per region and year, computed or as published
    (int_patents_per_10k). -#}
with

per_10k as (

    select * from {{ ref('int_patents_per_10k') }}

)

select
    region_code,
    year,
    invention_patents_per_10k,
    high_value_invention_patents_per_10k,
    source,
    invention_patents_per_10k_source,
    high_value_invention_patents_per_10k_source
from per_10k
