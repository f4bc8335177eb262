-- Innovation figures of the municipal SOEs per group and per period, and for all of them (group 'ALL'),
-- from the current submission of every enterprise: the one aggregation that the mart soe_innovation shows
-- and the SOE policy targets are tracked with (int_target_observations). R&D growth compares like with like: only enterprises
-- that reported both the period and the same period a year earlier count, on both sides; so does the
-- change of their high-value patent stock.
--
-- Amounts are summed as DECIMAL(38, 6) (to the fen, 0.000001 of 10k yuan): a sum of doubles depends on the
-- order of its rows, so two runs over the same files could differ in the last digit.
--
-- Incremental by reporting period (macros/enterprise_periods.sql): the cells of the periods whose
-- contributions were rebuilt are aggregated again, every other period stays as it is.

{{ config(materialized='incremental', incremental_strategy='replace_periods', on_schema_change='append_new_columns') }}

with

contributions as (

    select * from {{ ref('int_soe_innovation_contributions') }}
    where {{ in_periods_to_rebuild('period') }}

),

aggregated as (

    select
        case when grouping(group_name) = 1 then 'ALL' else group_name end as group_name,
        period,
        count(*) as enterprises,
        sum(cast(rd_expenditure_10k_yuan as decimal(38, 6))) as rd_expenditure_10k_yuan,
        sum(cast(revenue_10k_yuan as decimal(38, 6))) as revenue_10k_yuan,
        sum(cast(rd_expenditure_10k_yuan as decimal(38, 6))) filter (where rd_expenditure_year_before is not null) as rd_matched,
        sum(cast(rd_expenditure_year_before as decimal(38, 6))) as rd_matched_year_before,
        sum(invention_patents_granted) as invention_patents_granted,
        sum(high_value_invention_patents_valid) as high_value_invention_patents_valid,
        count(*) filter (where is_tech_based) as tech_based_enterprises,
        count(*) filter (where is_hightech) as hightech_enterprises,
        sum(cast(sei_output_10k_yuan as decimal(38, 6))) as sei_output_10k_yuan,
        sum(cast(industrial_output_10k_yuan as decimal(38, 6))) as industrial_output_10k_yuan,
        sum(high_value_invention_patents_valid - high_value_invention_patents_valid_year_before)
            as high_value_invention_patents_added
    from contributions
    group by grouping sets ((group_name, period), (period))

)

select
    cast(group_name as varchar) as group_name,
    cast(period as varchar) as period,
    cast(enterprises as bigint) as enterprises,
    cast(rd_expenditure_10k_yuan as double) as rd_expenditure_10k_yuan,
    cast(revenue_10k_yuan as double) as revenue_10k_yuan,
    cast(100 * rd_expenditure_10k_yuan / nullif(revenue_10k_yuan, 0) as double) as rd_intensity_pct,
    cast(100 * (rd_matched - rd_matched_year_before) / nullif(rd_matched_year_before, 0) as double) as rd_growth_pct,
    cast(invention_patents_granted as bigint) as invention_patents_granted,
    cast(high_value_invention_patents_valid as bigint) as high_value_invention_patents_valid,
    cast(tech_based_enterprises as bigint) as tech_based_enterprises,
    cast(hightech_enterprises as bigint) as hightech_enterprises,
    cast(100 * sei_output_10k_yuan / nullif(industrial_output_10k_yuan, 0) as double) as sei_output_share_pct,
    cast(high_value_invention_patents_added as bigint) as high_value_invention_patents_added
from aggregated
