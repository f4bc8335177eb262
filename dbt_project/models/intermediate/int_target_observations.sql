{#-
    The figures each policy target is tracked with, one row per (target, period): the measure named by
    ref_target_indicators, for the region of the target's geo or the SOE group of its scope
    (ref_target_scopes), up to the target year. Targets of kind new_count / cumulative_count are counts
    accumulated over annual periods from the year after the baseline year (else the plan's first year).
    The count targets fed by the recognitions registers come from int_target_observations_recognitions.
-#}
with

targets as (

    select * from {{ ref('policy_targets') }}

),

target_indicators as (

    select * from {{ ref('ref_target_indicators') }}

),

scopes as (

    select * from {{ ref('ref_target_scopes') }}

),

plans as (

    select * from {{ ref('ref_policy_plans') }}

),

-- the measures of ref_target_indicators, from the intermediate models the region marts show
region_figures as (

    select
        'rd_intensity' as source_model,
        'rd_intensity_pct' as measure,
        region_code as subject,
        cast(year as varchar) as period,
        coalesce(published_rd_intensity_pct, rd_intensity_pct) as value
    from {{ ref('int_rd_intensity') }}

    union all

    select 'patents_per_10k', 'invention_patents_per_10k', region_code, cast(year as varchar), invention_patents_per_10k
    from {{ ref('int_patents_per_10k') }}

    union all

    select 'patents_per_10k', 'high_value_invention_patents_per_10k', region_code, cast(year as varchar), high_value_invention_patents_per_10k
    from {{ ref('int_patents_per_10k') }}

    union all

    select 'industrial_va_growth', 'industrial_va_growth_pct', region_code, cast(year as varchar), value
    from {{ ref('int_indicator_values_annual') }}
    where indicator_code = 'industrial_va_growth'

    union all

    -- every annual indicator: a new indicator is tracked from the seeds alone (measure = its code)
    select 'indicator_series', indicator_code, region_code, cast(year as varchar), value
    from {{ ref('int_indicator_values_annual') }}

),

-- the SOE figures the mart soe_innovation shows, per group and period
soe_figures as (

    select group_name, period, measure, value
    from (
        select
            group_name,
            period,
            cast(rd_growth_pct as double) as rd_growth_pct,
            cast(rd_intensity_pct as double) as rd_intensity_pct,
            cast(sei_output_share_pct as double) as sei_output_share_pct,
            cast(tech_based_enterprises as double) as tech_based_enterprises,
            cast(hightech_enterprises as double) as hightech_enterprises,
            cast(invention_patents_granted as double) as invention_patents_granted,
            cast(high_value_invention_patents_valid as double) as high_value_invention_patents_valid,
            cast(high_value_invention_patents_added as double) as high_value_invention_patents_added
        from {{ ref('int_soe_innovation') }}
    ) unpivot (
        value for measure in (
            rd_growth_pct, rd_intensity_pct, sei_output_share_pct, tech_based_enterprises,
            hightech_enterprises, invention_patents_granted, high_value_invention_patents_valid,
            high_value_invention_patents_added
        )
    )

),

figures as (

    select 'region' as subject_kind, source_model, measure, subject, period, value
    from region_figures

    union all

    select 'soe_group', 'soe_innovation', measure, group_name, period, value
    from soe_figures

),

timed as (

    select
        *,
        cast(left(period, 4) as integer) as year,
        {{ period_end_year('period') }} as period_end_year,
        {{ period_frequency('period') }} = 'A' as is_annual
    from figures
    where value is not null

),

tracked as (

    select
        targets.target_id,
        targets.kind,
        timed.period,
        timed.period_end_year,
        timed.value,
        coalesce(targets.baseline_year + 1, plans.first_year) as count_from_year,
        timed.is_annual,
        timed.year
    from targets
    inner join target_indicators on target_indicators.indicator = targets.indicator
    inner join scopes on scopes.scope = targets.scope
    left join plans on plans.plan = targets.plan
    inner join timed
        on timed.source_model = target_indicators.source_model
       and timed.measure = target_indicators.measure
       and timed.subject_kind = scopes.subject_kind
       and timed.subject = case scopes.subject_kind when 'region' then targets.geo else scopes.group_name end
       and timed.period_end_year <= targets.target_year

),

levels as (

    select target_id, period, period_end_year, value
    from tracked
    where kind not in ('new_count', 'cumulative_count')

),

counts as (

    select
        target_id,
        period,
        period_end_year,
        sum(value) over (partition by target_id order by period_end_year rows unbounded preceding) as value
    from tracked
    where kind in ('new_count', 'cumulative_count')
      and is_annual
      and year >= count_from_year

)

select * from levels
union all
select * from counts
union all
select target_id, period, period_end_year, value from {{ ref('int_target_observations_recognitions') }}
