-- How concentrated each cell of marts.soe_innovation is, per measure: how many enterprises contribute and
-- how much the largest two of them contribute. Statistical disclosure control (serving/disclosure.py) tests
-- every cell with these before the public tier is published; this mart itself is restricted.
-- `rd_expenditure_year_before` counts only the enterprises matched a year earlier (the base of rd_growth_pct).

with

contributions as (

    select * from {{ ref('int_soe_innovation_contributions') }}

),

contributed as (

    -- one row per enterprise, cell and measure it reported (unpivot drops missing values)
    select group_name, period, measure, value
    from (
        select
            group_name,
            period,
            cast(rd_expenditure_10k_yuan as double) as rd_expenditure_10k_yuan,
            cast(revenue_10k_yuan as double) as revenue_10k_yuan,
            cast(industrial_output_10k_yuan as double) as industrial_output_10k_yuan,
            cast(sei_output_10k_yuan as double) as sei_output_10k_yuan,
            cast(invention_patents_granted as double) as invention_patents_granted,
            cast(high_value_invention_patents_valid as double) as high_value_invention_patents_valid,
            cast(rd_expenditure_year_before as double) as rd_expenditure_year_before
        from contributions
    ) unpivot (
        value for measure in (
            rd_expenditure_10k_yuan, revenue_10k_yuan, industrial_output_10k_yuan, sei_output_10k_yuan,
            invention_patents_granted, high_value_invention_patents_valid, rd_expenditure_year_before
        )
    )

),

aggregated as (

    select
        case when grouping(group_name) = 1 then 'ALL' else group_name end as group_name,
        period,
        measure,
        count(*) as contributors,
        sum(cast(value as decimal(38, 6))) as total,
        max(value, 2) as largest_two
    from contributed
    group by grouping sets ((group_name, period, measure), (period, measure))

)

select
    cast(group_name as varchar) as group_name,
    cast(period as varchar) as period,
    cast(measure as varchar) as measure,
    cast(contributors as bigint) as contributors,
    cast(total as double) as total,
    cast(largest_two[1] as double) as largest,
    cast(coalesce(largest_two[2], 0) as double) as second_largest
from aggregated
