-- Every submission of every (uscc, period), numbered by load: the latest load is current, every earlier
-- one is history, with the file and time that replaced it.

with

submissions as (

    select * from {{ ref('stg_enterprise__submissions') }}

),

versioned as (

    select
        *,
        row_number() over by_load as version,
        lead(loaded_at) over by_load as superseded_at,
        lead(source_file) over by_load as superseded_by_file
    from submissions
    window by_load as (partition by uscc, period order by loaded_at, load_id)

)

select
    *,
    superseded_at is null as is_current
from versioned
