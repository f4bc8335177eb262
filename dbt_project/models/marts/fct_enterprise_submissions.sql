-- Restricted. The current submission of every enterprise and period: one row per (uscc, period), the
-- figures of the latest load that is not withdrawn. `version` > 1 says the figures were resubmitted;
-- the earlier submissions are in fct_enterprise_submission_history.

{{ config(materialized='view') }}

select
    uscc,
    period,
    period_start,
    period_end,
    frequency,
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
    source_file,
    row_number,
    load_id,
    loaded_at
from {{ ref('int_enterprise_submissions_current') }}
