{#- The figures behind each target's tracking row, for charting a target's path. -#}
select
    target_id,
    period,
    period_end_year,
    value
from {{ ref('int_target_observations') }}
