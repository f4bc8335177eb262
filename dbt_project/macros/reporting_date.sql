{#-
    The day target tracking is reported as of (a SQL date): var('reporting_date') when it is set
    (`dbt build --vars '{reporting_date: 2026-12-01}'`, and the unit tests pin it), else the current date.
-#}
{% macro reporting_date() -%}
    {%- set pinned = var('reporting_date', none) -%}
    {%- if pinned -%} cast('{{ pinned }}' as date) {%- else -%} current_date {%- endif -%}
{%- endmacro %}
