-- Restricted. Every submission that is no longer current: replaced by a later one (superseded_at,
-- superseded_by_file) or withdrawn with its file. With fct_enterprise_submissions, the whole resubmission
-- history of every (uscc, period).

{{ config(materialized='view') }}

select
    uscc,
    period,
    enterprise_name,
    group_name,
    industry_code,
    district_code,
    revenue_10k_yuan,
    rd_expenditure_10k_yuan,
    rd_personnel,
    invention_patent_applications,
    invention_patents_granted,
    invention_patents_valid,
    high_value_invention_patents_valid,
    industrial_output_10k_yuan,
    sei_output_10k_yuan,
    is_hightech,
    is_tech_based,
    has_rd_institution,
    version,
    is_withdrawn,
    superseded_at,
    superseded_by_file,
    source_file,
    row_number,
    load_id,
    loaded_at
from {{ ref('int_enterprise_submissions_versioned') }}
where not is_current
