{#- Fails for every combination of `columns` that occurs more than once (a compound unique key). -#}
{% test unique_combination_of_columns(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
