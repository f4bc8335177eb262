{#- Every annual indicator as one long, chartable series per region (latest vintages). -#}
with

annual as (

    select * from {{ ref('int_indicator_values_annual') }}

)

select
    region_code,
    indicator_code,
    year,
    value,
    unit,
    release_date,
    status,
    source_file
from annual
