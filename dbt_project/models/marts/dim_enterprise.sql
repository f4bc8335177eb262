-- One row per enterprise and version of its attributes (slowly changing, type 2), from
-- int_enterprise_versions, with the names of its industry class and district from the current seeds.
--
-- Incremental by enterprise, as int_enterprise_versions: the enterprises it rebuilds (a new quarter's file
-- names a few thousand of several hundred thousand), and those whose industry or district names, or section,
-- are no longer those of the seeds (a seed corrected), get their rows again; the others stay as they are.

{{ config(materialized='incremental', incremental_strategy='replace_enterprises', on_schema_change='append_new_columns') }}

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
from {{ ref('int_enterprise_versions') }} d
left join {{ ref('ref_industry_codes') }} i on i.industry_code = d.industry_code
left join {{ ref('ref_chongqing_districts') }} r on r.district_code = d.district_code
where {{ in_enterprises_to_rebuild('d.uscc') }}
{%- if is_incremental() %}
    or d.uscc in (
        select t.uscc
        from {{ this }} t
        left join {{ ref('ref_industry_codes') }} i on i.industry_code = t.industry_code
        left join {{ ref('ref_chongqing_districts') }} r on r.district_code = t.district_code
        where (t.industry_name_zh, t.industry_section_code, t.district_name_zh)
            is distinct from (cast(i.name_zh as varchar), cast(i.section_code as varchar), cast(r.name_zh as varchar))
    )
{%- endif %}
