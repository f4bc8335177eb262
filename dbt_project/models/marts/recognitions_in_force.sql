{#- Recognitions in force at each year end, per kind and scope, from the current version of every record. -#}
with

kinds as (

    select * from {{ ref('ref_recognition_kinds') }}

),

recognitions as (

    select * from {{ ref('int_recognitions_current') }}

),

-- every year from the first recognition to the latest recognition or revocation in the registers
years as (

    select year, make_date(year, 12, 31) as period_end
    from (
        select cast(unnest(range(first_year, last_year + 1)) as integer) as year
        from (
            select
                min(year(recognized_on)) as first_year,
                max(greatest(year(recognized_on), coalesce(year(revoked_on), 0))) as last_year
            from recognitions
        )
        where first_year is not null
    )

),

-- all holders; all municipal SOEs (any group); each SOE group
scopes as (

    select 'all_holders' as scope, cast(null as varchar) as group_name
    union all
    select 'municipal_soes', 'ALL'
    union all
    select distinct 'soe_group', group_name from recognitions where group_name is not null

),

scoped as (

    select 'all_holders' as scope, cast(null as varchar) as group_name, * exclude (group_name) from recognitions
    union all
    select 'municipal_soes', 'ALL', * exclude (group_name) from recognitions where group_name is not null
    union all
    select 'soe_group', group_name, * exclude (group_name) from recognitions where group_name is not null

),

grid as (

    select kinds.code as kind_code, kinds.name_zh, kinds.name_en, scopes.scope, scopes.group_name, years.year, years.period_end
    from kinds cross join scopes cross join years

)

select
    grid.kind_code,
    grid.name_zh as kind_name_zh,
    grid.name_en as kind_name_en,
    grid.scope,
    grid.group_name,
    grid.year,
    grid.period_end,
    count(scoped.record_id) filter (where {{ recognition_in_force('grid.period_end', 'scoped.recognized_on', 'scoped.revoked_on') }}) as in_force,
    count(scoped.record_id) filter (where year(scoped.recognized_on) = grid.year) as recognized_in_year,
    count(scoped.record_id) filter (where year(scoped.revoked_on) = grid.year) as revoked_in_year,
    count(distinct scoped.uscc) filter (where {{ recognition_in_force('grid.period_end', 'scoped.recognized_on', 'scoped.revoked_on') }}) as holders_in_force
from grid
left join scoped
    on scoped.kind_code = grid.kind_code
   and scoped.scope = grid.scope
   and scoped.group_name is not distinct from grid.group_name
group by all
