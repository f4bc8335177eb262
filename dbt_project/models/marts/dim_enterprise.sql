-- One row per enterprise and version of its attributes (slowly changing, type 2): a new version starts
-- with the first period whose current submission names another group, name, industry, district or
-- status; the latest version is current. A submission states the attributes as at the end of its
-- period, so periods are ordered by their end (a year after its Q4) and versions dated by it.
--
-- Most enterprises never change: they get their single version from one aggregate, and only the rows of
-- the others are put in order (the model is referenced where used: DuckDB would hold a shared CTE of
-- millions of rows in memory).

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

changing as (

    select uscc
    from {{ ref('int_enterprise_submissions_current') }}
    group by uscc
    having min(hash({{ attributes | join(', ') }})) <> max(hash({{ attributes | join(', ') }}))

),

steady_versions as (

    select
        uscc,
        1 as version,
        {{- version_columns }}
    from {{ ref('int_enterprise_submissions_current') }} s
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
    from {{ ref('int_enterprise_submissions_current') }} s
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

select
    cast(d.uscc as varchar) as uscc,
    cast(d.version as integer) as version,
    cast(d.enterprise_name as varchar) as enterprise_name,
    cast(d.group_name as varchar) as group_name,
    cast(d.industry_code as varchar) as industry_code,
    cast(i.name_zh as varchar) as industry_name_zh,
    cast(i.section_code as varchar) as industry_section_code,
    cast(d.district_code as varchar) as district_code,
    cast(r.name_zh as varchar) as district_name_zh,
    cast(d.is_hightech as boolean) as is_hightech,
    cast(d.is_tech_based as boolean) as is_tech_based,
    cast(d.has_rd_institution as boolean) as has_rd_institution,
    cast(d.first_period as varchar) as first_period,
    cast(d.last_period as varchar) as last_period,
    cast(d.periods_reported as bigint) as periods_reported,
    cast(d.valid_from as date) as valid_from,
    cast(d.valid_to as date) as valid_to,
    cast(d.valid_to is null as boolean) as is_current
from dated d
left join {{ ref('ref_industry_codes') }} i on i.industry_code = d.industry_code
left join {{ ref('ref_chongqing_districts') }} r on r.district_code = d.district_code
