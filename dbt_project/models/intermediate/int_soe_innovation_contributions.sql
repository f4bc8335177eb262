-- What each enterprise contributes to the cells of marts.soe_innovation: its current submission for the
-- period, with its own figures of the same period a year earlier when it reported that period. The one
-- definition of which enterprise counts in which cell, shared by the aggregates (soe_innovation) and by
-- the concentration statistics that disclosure control tests them with (soe_innovation_concentration).
-- A table: both read it, and the join a year back over ten million rows is done once, not by each of them
-- side by side (dbt runs two models at a time; the two joins together hit DuckDB's memory limit).
--
-- Incremental by reporting period (macros/enterprise_periods.sql): the periods whose submissions changed
-- and the same periods a year later, whose year before changed, are rebuilt; the year before is read only
-- for them.

{{ config(materialized='incremental', incremental_strategy='replace_periods', on_schema_change='append_new_columns') }}

with

current_submissions as (

    select * from {{ ref('int_enterprise_submissions_current') }}
    where {{ in_periods_to_rebuild('period') }}

),

year_before as (

    -- the model again rather than the CTE above: a CTE used twice would be held in memory whole
    select
        uscc,
        period,
        rd_expenditure_10k_yuan as rd_expenditure_year_before,
        high_value_invention_patents_valid as high_value_invention_patents_valid_year_before
    from {{ ref('int_enterprise_submissions_current') }}
    where {{ in_periods_to_rebuild(period_shifted_by_years('period', 1)) }}

)

-- the same enterprise's R&D a year earlier (2023Q3 for 2024Q3), when it reported that period
select
    c.*,
    y.rd_expenditure_year_before,
    y.high_value_invention_patents_valid_year_before
from current_submissions c
left join year_before y on y.uscc = c.uscc and y.period = c.same_period_last_year
