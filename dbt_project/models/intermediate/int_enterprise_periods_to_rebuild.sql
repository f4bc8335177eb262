-- The reporting periods the enterprise models rebuild on this run (their `replace_periods` incremental
-- strategy, macros/enterprise_periods.sql): every period with a row of a load that is new, withdrawn,
-- restored, or whose rejected rows changed since the last build (int_enterprise_loads_built), and the
-- same periods a year later, whose contributions look a year back. Every period on the first build,
-- with --full-refresh, and when the code of the models changed since the last build.

{#- the state of the last build; none when parsing and in unit tests (no relation of its own): a first build -#}
{%- set last_build = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_enterprise_loads_built')
    if execute and this is not none else none %}

{{ config(materialized='table') }}

with

load_states as (

    select * from {{ ref('int_enterprise_load_states') }}

),

{% if last_build is none or flags.FULL_REFRESH -%}

changed_loads as (

    select load_id from load_states

),

{%- else -%}

changed_loads as (

    select s.load_id
    from load_states s
    left join {{ last_build }} b on b.load_id = s.load_id
    where
        b.load_id is null
        or b.models_checksum <> {{ enterprise_models_checksum() }}
        or (s.is_withdrawn, s.rejected_rows, s.rejected_rows_checksum)
            is distinct from (b.is_withdrawn, b.rejected_rows, b.rejected_rows_checksum)

),

{%- endif %}

changed_periods as (

    select distinct period
    from {{ ref('stg_enterprise__submissions') }}
    where load_id in (select load_id from changed_loads)

),

years_after as (

    select distinct {{ period_shifted_by_years('period', 1) }} as period
    from changed_periods

)

select period, true as submissions_changed from changed_periods
union all
select period, false as submissions_changed from years_after
where period not in (select period from changed_periods)
