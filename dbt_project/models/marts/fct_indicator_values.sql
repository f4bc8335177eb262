with

vintaged as (

    select * from {{ ref('int_indicator_observations_vintaged') }}

),

latest as (

    select *
    from vintaged
    qualify row_number() over (
        partition by region_code, indicator_code, period
        order by {{ latest_vintage_first() }}
    ) = 1

)

select
    region_code,
    indicator_code,
    period,
    value,
    unit,
    release_date,
    status,
    source_file,
    year,
    frequency,
    published_decimals,
    obs_status,
    note,
    loaded_at,
    load_id
from latest
