{#- Where every policy target stands: latest figure, gap, required pace and a status (rules in the yml). -#}
with

targets as (

    select * from {{ ref('policy_targets') }}

),

observations as (

    select * from {{ ref('int_target_observations') }}

),

-- the figure of the period that ends last; a year beats its fourth quarter or December (same end)
latest as (

    select
        target_id,
        period as latest_period,
        {{ period_frequency('period') }} as latest_frequency,
        period_end_year as latest_period_end_year,
        value as latest_value
    from observations
    qualify row_number() over (
        partition by target_id
        order by period_end_year desc, case {{ period_frequency('period') }} when 'A' then 1 when 'Q' then 2 else 3 end
    ) = 1

),

-- the trend starts at the earliest figure of the same frequency as the latest one (years with years,
-- quarters with quarters) up to target_trend_window_years before it
trend_start as (

    select
        observations.target_id,
        observations.period_end_year as start_period_end_year,
        observations.value as start_value
    from observations
    inner join latest on latest.target_id = observations.target_id
    where observations.period_end_year < latest.latest_period_end_year
      and observations.period_end_year >= latest.latest_period_end_year - {{ var('target_trend_window_years') }}
      and {{ period_frequency('observations.period') }} = latest.latest_frequency
    qualify row_number() over (partition by observations.target_id order by observations.period_end_year) = 1

),

measured as (

    select
        targets.target_id,
        targets.indicator as indicator_code,
        targets.geo as region_code,
        targets.scope,
        targets.comparator,
        targets.target_value,
        targets.target_year,
        latest.latest_value,
        latest.latest_period,
        targets.target_value - latest.latest_value as gap,
        targets.target_year - latest.latest_period_end_year as years_left,
        (latest.latest_value - trend_start.start_value)
            / (latest.latest_period_end_year - trend_start.start_period_end_year) as recent_annual_change
    from targets
    left join latest on latest.target_id = targets.target_id
    left join trend_start on trend_start.target_id = targets.target_id

)

select
    target_id,
    indicator_code,
    region_code,
    scope,
    comparator,
    target_value,
    target_year,
    latest_value,
    latest_period,
    gap,
    case when years_left > 0 then gap / years_left end as required_annual_change,
    case
        when latest_value is null then 'no_data'
        when {{ target_comparator_holds('latest_value') }} then 'met'
        when years_left <= 0 then 'off_track'
        when {{ target_comparator_holds('latest_value + recent_annual_change * years_left') }} then 'on_track'
        when recent_annual_change is null or recent_annual_change * sign(gap) > 0 then 'at_risk'
        else 'off_track'
    end as status
from measured
