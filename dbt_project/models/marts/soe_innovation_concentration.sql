-- How concentrated each cell of marts.soe_innovation is, per measure: how many enterprises contribute and
-- how much the largest two of them contribute. Statistical disclosure control (serving/disclosure.py) tests
-- every cell with these before the public tier is published; this mart itself is restricted.
-- `rd_expenditure_year_before` counts only the enterprises matched a year earlier (the base of rd_growth_pct).
--
-- Incremental by reporting period (macros/enterprise_periods.sql): the cells of the periods whose
-- contributions were rebuilt are aggregated again, every other period stays as it is.

{{ config(materialized='incremental', incremental_strategy='replace_periods', on_schema_change='append_new_columns') }}

{% set measures = [
    'rd_expenditure_10k_yuan', 'revenue_10k_yuan', 'industrial_output_10k_yuan', 'sei_output_10k_yuan',
    'invention_patents_granted', 'high_value_invention_patents_valid', 'rd_expenditure_year_before',
] %}

with

contributions as (

    select * from {{ ref('int_soe_innovation_contributions') }}
    where {{ in_periods_to_rebuild('period') }}

),

aggregated as (

    -- one pass over the contributions, every measure at once: count and sum skip missing values
    select
        case when grouping(group_name) = 1 then 'ALL' else group_name end as group_name,
        period,
        {%- for measure in measures %}
        count({{ measure }}) as {{ measure }}__contributors,
        sum(cast({{ measure }} as decimal(38, 6))) as {{ measure }}__total,
        max(cast({{ measure }} as double), 2) as {{ measure }}__largest_two{{ "," if not loop.last }}
        {%- endfor %}
    from contributions
    group by grouping sets ((group_name, period), (period))

),

per_measure as (

    {%- for measure in measures %}
    select
        group_name,
        period,
        '{{ measure }}' as measure,
        {{ measure }}__contributors as contributors,
        {{ measure }}__total as total,
        {{ measure }}__largest_two as largest_two
    from aggregated
    where {{ measure }}__contributors > 0
    {{ "union all" if not loop.last }}
    {%- endfor %}

)

select
    cast(group_name as varchar) as group_name,
    cast(period as varchar) as period,
    cast(measure as varchar) as measure,
    cast(contributors as bigint) as contributors,
    cast(total as double) as total,
    cast(largest_two[1] as double) as largest,
    cast(coalesce(largest_two[2], 0) as double) as second_largest
from per_measure
