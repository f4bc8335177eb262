{#- One row per day, 2000-01-01 to 2040-12-31: the calendar MetricFlow joins metrics to. -#}
{{ config(materialized='table', schema='intermediate') }}

select cast(day as date) as date_day
from range(date '2000-01-01', date '2041-01-01', interval 1 day) as days(day)
