{#-
    The figures of the targets counted from the recognitions registers, one row per (target, year end):
    targets of kind new_count / cumulative_count whose indicator ref_target_indicators maps to source_model
    `recognitions` (measure = the kind code of ref_recognition_kinds), for the holders of the target's scope
    (ref_target_scopes: the region's every holder, all municipal SOEs, or one SOE group), from the current
    version of every recognition, with revocations applied (recognition_in_force).
    - cumulative_count: recognitions in force at the year end;
    - new_count: those of them dated from the year after the baseline year (else the plan's first year);
      without either there is nothing to count from and the target has no rows.
    Years run from the first year of the registers (new_count: the year counting starts) to the target year,
    and not beyond the latest year with a recognition or revocation. int_target_observations unions these in.
-#}
with

targets as (

    select * from {{ ref('policy_targets') }}
    where kind in ('new_count', 'cumulative_count')

),

target_kinds as (

    select
        targets.target_id,
        targets.kind,
        targets.target_year,
        coalesce(targets.baseline_year + 1, plans.first_year) as count_from_year,
        target_indicators.measure as kind_code,
        scopes.subject_kind,
        scopes.group_name
    from targets
    inner join {{ ref('ref_target_indicators') }} as target_indicators
        on target_indicators.indicator = targets.indicator
       and target_indicators.source_model = 'recognitions'
    inner join {{ ref('ref_target_scopes') }} as scopes on scopes.scope = targets.scope
    left join {{ ref('ref_policy_plans') }} as plans on plans.plan = targets.plan

),

recognitions as (

    select * from {{ ref('int_recognitions_current') }}

),

span as (

    select
        min(year(recognized_on)) as first_year,
        max(greatest(year(recognized_on), coalesce(year(revoked_on), 0))) as last_year
    from recognitions

),

periods as (

    select
        target_kinds.*,
        cast(y.year as integer) as year
    from target_kinds
    cross join (select unnest(range(first_year, last_year + 1)) as year from span where first_year is not null) as y
    where y.year <= target_kinds.target_year
      and (target_kinds.kind = 'cumulative_count' or y.year >= target_kinds.count_from_year)

)

select
    periods.target_id,
    cast(periods.year as varchar) as period,
    cast(periods.year as double) as period_end_year,
    cast(count(recognitions.record_id) as double) as value
from periods
left join recognitions
    on recognitions.kind_code = periods.kind_code
   and (
        periods.subject_kind = 'region'
        or (periods.group_name = 'ALL' and recognitions.group_name is not null)
        or recognitions.group_name = periods.group_name
   )
   and {{ recognition_in_force('make_date(periods.year, 12, 31)', 'recognitions.recognized_on', 'recognitions.revoked_on') }}
   and (periods.kind = 'cumulative_count' or year(recognitions.recognized_on) >= periods.count_from_year)
group by periods.target_id, periods.year
