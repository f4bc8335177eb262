{#- Where every policy target stands as of the reporting date: latest figure and its age, the period
    judged, gap, required pace and a status (rules in the yml). -#}
with

targets as (

    select * from {{ ref('policy_targets') }}

),

observations as (

    select * from {{ ref('int_target_observations') }}

),

indicators as (

    select * from {{ ref('ref_indicators') }}

),

units as (

    select * from {{ ref('ref_target_units') }}

),

-- the figure of the period that ends last; a year beats its fourth quarter or December (same end)
latest as (

    select
        target_id,
        period as latest_period,
        {{ period_frequency('period') }} as latest_frequency,
        period_end_year as latest_period_end_year,
        {{ period_end_date('period') }} as latest_period_end_date,
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
        targets.unit,
        indicators.name_zh,
        indicators.name_en,
        units.label_en as unit_label_en,
        units.label_zh as unit_label_zh,
        {{ reporting_date() }} as reporting_date,
        latest.latest_value,
        latest.latest_period,
        -- a period not over yet (a register's count of the current year so far) is current: age 0
        round(
            case
                when latest.latest_period_end_date > {{ reporting_date() }} then 0
                else date_diff('day', latest.latest_period_end_date, {{ reporting_date() }})
            end / 365.25, 2
        ) as latest_age_years,
        -- the target year is over on the reporting date: from now on only its own figure can judge it
        targets.target_year < year({{ reporting_date() }}) as target_year_passed,
        -- the latest figure is the target year's (observations end by the target year), for the whole
        -- period: a count of the target year so far judges like an earlier figure until the year is over
        latest.latest_period_end_year >= targets.target_year
            and latest.latest_period_end_date < {{ reporting_date() }} as is_target_year_figure,
        targets.target_value - latest.latest_value as gap,
        targets.target_year - latest.latest_period_end_year as years_left,
        (latest.latest_value - trend_start.start_value)
            / (latest.latest_period_end_year - trend_start.start_period_end_year) as recent_annual_change
    from targets
    left join indicators on indicators.indicator_code = targets.indicator
    left join units on units.unit = targets.unit
    left join latest on latest.target_id = targets.target_id
    left join trend_start on trend_start.target_id = targets.target_id

),

judged as (

    select
        *,
        {{ target_comparator_holds('latest_value') }} as holds,
        case
            when latest_value is null then 'no_data'
            when target_year_passed and not is_target_year_figure then 'awaiting_data'
            when is_target_year_figure and {{ target_comparator_holds('latest_value') }} then 'met'
            when is_target_year_figure then 'off_track'
            when {{ target_comparator_holds('latest_value') }} then 'on_track'
            when {{ target_comparator_holds('latest_value + recent_annual_change * years_left') }} then 'on_track'
            when recent_annual_change is null or recent_annual_change * sign(gap) > 0 then 'at_risk'
            else 'off_track'
        end as status
    from measured

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
    case when years_left > 0 and not holds then gap / years_left end as required_annual_change,
    status,
    case when status not in ('no_data', 'awaiting_data') then latest_period end as judged_period,
    latest_age_years,
    latest_age_years > {{ var('target_stale_after_years') }} as is_stale,
    case
        when comparator in ('>=', '>') and latest_value > target_value then latest_value - target_value
        when comparator in ('<=', '<') and latest_value < target_value then target_value - latest_value
    end as exceeded_by,
    reporting_date,
    name_zh,
    name_en,
    unit,
    unit_label_en,
    unit_label_zh
from judged
