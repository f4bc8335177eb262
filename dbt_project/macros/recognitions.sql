{#- A recognition is in force from its recognized_on day until the day before revoked_on (FORMATS.md §6):
    on day d when recognized_on <= d < revoked_on (or it was never revoked). -#}
{% macro recognition_in_force(as_of, recognized_on='recognized_on', revoked_on='revoked_on') -%}
    ({{ recognized_on }} <= {{ as_of }} and ({{ revoked_on }} is null or {{ revoked_on }} > {{ as_of }}))
{%- endmacro %}
