with

vintaged as (

    select * from {{ ref('int_indicator_observations_vintaged') }}

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
    load_id,
    is_latest_vintage,
    is_withdrawn
from vintaged
