{#- Every policy target with everything a reader needs to label it: plan, issuer, quote, names, unit,
    what it is tracked on and what input feeds it. -#}
with

targets as (

    select * from {{ ref('policy_targets') }}

),

indicators as (

    select * from {{ ref('ref_indicators') }}

),

units as (

    select * from {{ ref('ref_target_units') }}

),

target_indicators as (

    select * from {{ ref('ref_target_indicators') }}

),

scopes as (

    select * from {{ ref('ref_target_scopes') }}

),

inputs as (

    select * from {{ ref('ref_target_inputs') }}

)

select
    ---------- ids
    cast(targets.target_id as varchar) as target_id,
    cast(targets.plan as varchar) as plan,
    cast(targets.indicator as varchar) as indicator_code,

    ---------- labels
    cast(indicators.name_zh as varchar) as name_zh,
    cast(indicators.name_en as varchar) as name_en,
    cast(targets.issuer as varchar) as issuer,
    cast(targets.quote as varchar) as quote,
    cast(targets.source_doc as varchar) as source_doc,

    ---------- the target
    cast(targets.scope as varchar) as scope,
    cast(scopes.subject_kind as varchar) as subject_kind,
    cast(case scopes.subject_kind when 'region' then targets.geo else scopes.group_name end as varchar) as subject,
    cast(targets.geo as varchar) as region_code,
    cast(targets.comparator as varchar) as comparator,
    cast(targets.target_value as double) as target_value,
    cast(targets.unit as varchar) as unit,
    cast(units.label_en as varchar) as unit_label_en,
    cast(units.label_zh as varchar) as unit_label_zh,
    cast(coalesce(units.suffix, '') as varchar) as unit_suffix,
    cast(targets.baseline_value as double) as baseline_value,
    cast(targets.baseline_year as integer) as baseline_year,
    cast(targets.target_year as integer) as target_year,
    cast(targets.kind as varchar) as kind,

    ---------- how it is tracked
    cast(target_indicators.source_model as varchar) as tracked_in,
    cast(target_indicators.measure as varchar) as tracked_measure,
    cast(target_indicators.note as varchar) as tracking_note,
    cast(inputs.input as varchar) as input

from targets
left join indicators on indicators.indicator_code = targets.indicator
left join units on units.unit = targets.unit
left join target_indicators on target_indicators.indicator = targets.indicator
left join scopes on scopes.scope = targets.scope
left join inputs on inputs.indicator = targets.indicator
