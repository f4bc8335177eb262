-- One row per enterprise and version of its attributes (slowly changing, type 2): a new version starts
-- with the first period whose current submission names another group, name, industry, district or
-- status; the latest version is current. A submission states the attributes as at the end of its
-- period, so periods are ordered by their end (a year after its Q4) and versions dated by it.

with

current_submissions as (

    select * from {{ ref('int_enterprise_submissions_current') }}

),

ordered as (

    select
        uscc,
        period,
        period_start,
        period_end,
        enterprise_name,
        group_name,
        industry_code,
        district_code,
        is_hightech,
        is_tech_based,
        has_rd_institution,
        row(enterprise_name, group_name, industry_code, district_code, is_hightech, is_tech_based, has_rd_institution)
            as attributes
    from current_submissions

),

changes as (

    select
        *,
        case when attributes is distinct from lag(attributes) over by_period then 1 else 0 end as starts_version
    from ordered
    window by_period as (partition by uscc order by period_end, period_start desc)

),

numbered as (

    select
        *,
        sum(starts_version) over (partition by uscc order by period_end, period_start desc rows unbounded preceding)
            as version
    from changes

),

versions as (

    select
        uscc,
        version,
        any_value(enterprise_name) as enterprise_name,
        any_value(group_name) as group_name,
        any_value(industry_code) as industry_code,
        any_value(district_code) as district_code,
        any_value(is_hightech) as is_hightech,
        any_value(is_tech_based) as is_tech_based,
        any_value(has_rd_institution) as has_rd_institution,
        arg_min(period, period_end) as first_period,
        arg_max(period, period_end) as last_period,
        min(period_end) as valid_from,
        count(*) as periods_reported
    from numbered
    group by uscc, version

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
