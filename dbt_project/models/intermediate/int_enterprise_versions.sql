-- The versions of every enterprise's attributes (slowly changing, type 2), for dim_enterprise: a new version
-- starts with the first period whose current submission names another group, name, industry, district or
-- status; the latest version is current. A submission states the attributes as at the end of its
-- period, so periods are ordered by their end (a year after its Q4) and versions dated by it.
--
-- Most enterprises never change: they get their single version from one aggregate, and only the rows of
-- the others are put in order.
--
-- Incremental by enterprise: the enterprises with a row in a period to rebuild (a new quarter's file
-- names a few thousand of several hundred thousand) get all their versions again, from all their periods;
-- the others stay as they are (macros/enterprise_periods.sql). Their rows are read once into a
-- materialized CTE (a quarter at ten million rows: 0.45 s instead of 1.0 s for three scans); a full build
-- reads every row where it is used instead, not holding millions of rows in memory.

{{ config(materialized='incremental', incremental_strategy='replace_enterprises', on_schema_change='append_new_columns') }}

{%- set attributes = [
    'enterprise_name', 'group_name', 'industry_code', 'district_code',
    'is_hightech', 'is_tech_based', 'has_rd_institution',
] %}

{#- Periods in order: by their end, and at the same end the longer one later (a year after its Q4 and
    its December), so that first and last periods are never a tie broken at random. -#}
{%- set period_order = 'struct_pack(period_end := period_end, span := period_end - period_start)' %}

{#- What a version says, from the rows it covers. -#}
{%- set version_columns %}
        {%- for attribute in attributes %}
        any_value({{ attribute }}) as {{ attribute }},
        {%- endfor %}
        arg_min(period, {{ period_order }}) as first_period,
        arg_max(period, {{ period_order }}) as last_period,
        min(period_end) as valid_from,
        count(*) as periods_reported
{%- endset %}

with

rebuilt as {{ 'materialized' if is_incremental() else 'not materialized' }} (

    select uscc, period, period_start, period_end, {{ attributes | join(', ') }}
    from {{ ref('int_enterprise_submissions_current') }}
    where {{ in_enterprises_to_rebuild('uscc') }}

),

changing as (

    select uscc
    from rebuilt
    group by uscc
    having min(hash({{ attributes | join(', ') }})) <> max(hash({{ attributes | join(', ') }}))

),

steady_versions as (

    select
        uscc,
        1 as version,
        {{- version_columns }}
    from rebuilt s
    anti join changing c on c.uscc = s.uscc
    group by uscc

),

changes as (

    select
        s.uscc,
        s.period,
        s.period_start,
        s.period_end,
        {%- for attribute in attributes %}
        s.{{ attribute }},
        {%- endfor %}
        case
            when hash({{ attributes | join(', ') }}) is distinct from lag(hash({{ attributes | join(', ') }})) over by_period
            then 1 else 0
        end as starts_version
    from rebuilt s
    semi join changing c on c.uscc = s.uscc
    window by_period as (partition by s.uscc order by s.period_end, s.period_start desc)

),

numbered as (

    select
        *,
        sum(starts_version) over (partition by uscc order by period_end, period_start desc rows unbounded preceding)
            as version
    from changes

),

changing_versions as (

    select
        uscc,
        version,
        {{- version_columns }}
    from numbered
    group by uscc, version

),

versions as (

    select * from steady_versions
    union all by name
    select * from changing_versions

),

dated as (

    select
        *,
        lead(valid_from) over (partition by uscc order by version) as valid_to
    from versions

)

select * from dated
