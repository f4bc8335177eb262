{#- The plans the targets come from, with their issuer, the years they cover and their targets. -#}
with

plans as (

    select * from {{ ref('ref_policy_plans') }}

),

targets as (

    select * from {{ ref('policy_targets') }}

),

per_plan as (

    select
        plan,
        min(issuer) as issuer,
        min(source_doc) as source_doc,
        count(*) as targets,
        min(target_year) as first_target_year,
        max(target_year) as last_target_year
    from targets
    group by plan

)

select
    cast(plans.plan as varchar) as plan,
    cast(per_plan.issuer as varchar) as issuer,
    cast(plans.first_year as integer) as first_year,
    cast(plans.last_year as integer) as last_year,
    cast(plans.note as varchar) as years_note,
    cast(per_plan.source_doc as varchar) as source_doc,
    cast(coalesce(per_plan.targets, 0) as bigint) as targets,
    cast(per_plan.first_target_year as integer) as first_target_year,
    cast(per_plan.last_target_year as integer) as last_target_year
from plans
left join per_plan on per_plan.plan = plans.plan
