{#-
    Order of vintages of one figure, newest first: the later release date wins; on the same day a
    revised release beats a final one, which beats a preliminary one; then the later load wins (a
    corrected re-delivery of the same file). `load_id` only makes the order total.
    Columns come from int_indicator_observations_vintaged (or a model that keeps them).
-#}
{% macro latest_vintage_first(prefix='') -%}
    {{ prefix }}release_date desc,
    {{ prefix }}status_precedence desc,
    {{ prefix }}loaded_at desc,
    {{ prefix }}load_id desc
{%- endmacro %}
