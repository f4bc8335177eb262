{#-
    SQL boolean: does `value` satisfy the target `comparator` against `target_value`? `~` ("around")
    holds within var('target_around_tolerance') of the target, as a share of the target's magnitude.
    Null when `value` is null.
-#}
{% macro target_comparator_holds(value, comparator='comparator', target_value='target_value') -%}
    case {{ comparator }}
        when '>=' then {{ value }} >= {{ target_value }}
        when '>' then {{ value }} > {{ target_value }}
        when '<=' then {{ value }} <= {{ target_value }}
        when '<' then {{ value }} < {{ target_value }}
        when '~' then abs({{ value }} - {{ target_value }}) <= {{ var('target_around_tolerance') }} * abs({{ target_value }})
    end
{%- endmacro %}
