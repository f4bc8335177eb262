-- Every submission of every (uscc, period), numbered by load: the latest load is current, every earlier
-- one is history, with the file and time that replaced it. Most keys were submitted once: only the
-- resubmitted ones need ordering, which keeps this cheap on millions of rows. A table, so that the
-- marts read the current rows from storage instead of recomputing them.
--
-- The accepted rows are referenced where they are used rather than through one CTE: DuckDB would hold a
-- CTE used three times in memory, all ten million rows of it.

{{ config(materialized='table') }}

with

resubmitted as (

    -- hashes of the keys loaded more than once (a hash collision only sends a key the ordered way)
    select hash(uscc, period) as key
    from {{ ref('int_enterprise_submissions_accepted') }}
    group by key
    having count(*) > 1

),

submitted_once as (

    select
        s.*,
        cast(1 as bigint) as version,
        cast(null as timestamp) as superseded_at,
        cast(null as varchar) as superseded_by_file
    from {{ ref('int_enterprise_submissions_accepted') }} s
    anti join resubmitted r on r.key = hash(s.uscc, s.period)

),

submitted_again as (

    select
        s.*,
        row_number() over by_load as version,
        lead(s.loaded_at) over by_load as superseded_at,
        lead(s.source_file) over by_load as superseded_by_file
    from {{ ref('int_enterprise_submissions_accepted') }} s
    semi join resubmitted r on r.key = hash(s.uscc, s.period)
    window by_load as (partition by s.uscc, s.period order by s.loaded_at, s.load_id)

)

select *, superseded_at is null as is_current from submitted_once
union all by name
select *, superseded_at is null as is_current from submitted_again
