-- Every submission of every (uscc, period), numbered by load: the latest load that is not withdrawn is
-- current, every earlier one is history, with the file and time that replaced it. A submission whose load
-- was withdrawn (its file left the landing folder) is history too, so withdrawing a resubmission makes
-- the previous submission current again. Most keys were submitted once: only the
-- resubmitted ones need ordering, which keeps this cheap on millions of rows. A table, so that the
-- marts read the current rows from storage instead of recomputing them.
--
-- Incremental by reporting period: versions are numbered within (uscc, period), so the periods touched by
-- a new, withdrawn or restored load (int_enterprise_periods_to_rebuild) are numbered again from all their
-- rows and every other period stays as it is (macros/enterprise_periods.sql).
--
-- The accepted rows are referenced where they are used rather than through one CTE: DuckDB would hold a
-- CTE used three times in memory, all ten million rows of it.

{{ config(materialized='incremental', incremental_strategy='replace_periods', submissions_only=true, on_schema_change='append_new_columns') }}

with

current_loads as (

    select load_id from {{ ref('stg_enterprise__current_loads') }}

),

resubmitted as (

    -- hashes of the keys loaded more than once (a hash collision only sends a key the ordered way)
    select hash(uscc, period) as key
    from {{ ref('int_enterprise_submissions_accepted') }}
    where {{ in_periods_to_rebuild('period', submissions_only=true) }}
    group by key
    having count(*) > 1

),

submitted_once as (

    select
        s.*,
        s.load_id not in (select load_id from current_loads) as is_withdrawn,
        cast(1 as bigint) as version,
        cast(null as timestamp) as superseded_at,
        cast(null as varchar) as superseded_by_file
    from {{ ref('int_enterprise_submissions_accepted') }} s
    anti join resubmitted r on r.key = hash(s.uscc, s.period)
    where {{ in_periods_to_rebuild('s.period', submissions_only=true) }}

),

submitted_again_marked as (

    select
        s.*,
        s.load_id not in (select load_id from current_loads) as is_withdrawn
    from {{ ref('int_enterprise_submissions_accepted') }} s
    semi join resubmitted r on r.key = hash(s.uscc, s.period)
    where {{ in_periods_to_rebuild('s.period', submissions_only=true) }}

),

-- versions count every load; a submission is superseded by the next one that is not withdrawn
submitted_again as (

    select
        *,
        row_number() over by_load as version,
        case when not is_withdrawn then lead(loaded_at) over by_current_load end as superseded_at,
        case when not is_withdrawn then lead(source_file) over by_current_load end as superseded_by_file
    from submitted_again_marked
    window
        by_load as (partition by uscc, period order by loaded_at, load_id),
        by_current_load as (partition by uscc, period, is_withdrawn order by loaded_at, load_id)

)

select *, not is_withdrawn and superseded_at is null as is_current from submitted_once
union all by name
select *, not is_withdrawn and superseded_at is null as is_current from submitted_again
