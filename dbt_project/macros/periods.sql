{#- Canonical period labels (core/periods.py): `2024` (year), `2024Q2` (quarter), `2024-09` (month). -#}

{#- A, Q or M; null for anything else. -#}
{% macro period_frequency(period) -%}
    case
        when regexp_full_match({{ period }}, '\d{4}') then 'A'
        when regexp_full_match({{ period }}, '\d{4}Q[1-4]') then 'Q'
        when regexp_full_match({{ period }}, '\d{4}-\d{2}') then 'M'
    end
{%- endmacro %}

{#- Where the period ends, in years: 2024 -> 2024.0, 2024Q2 -> 2023.5, 2024-09 -> 2023.75, so that a
    target "by 2025" is reached at 2025.0 and a distance in years is a plain difference. -#}
{% macro period_end_year(period) -%}
    case {{ period_frequency(period) }}
        when 'A' then cast({{ period }} as integer)
        when 'Q' then cast(left({{ period }}, 4) as integer) - 1 + cast(right({{ period }}, 1) as integer) / 4
        when 'M' then cast(left({{ period }}, 4) as integer) - 1 + cast(right({{ period }}, 2) as integer) / 12
    end
{%- endmacro %}

{#- The last day of the period, as a date: 2024 -> 2024-12-31, 2024Q2 -> 2024-06-30, 2024-09 -> 2024-09-30. -#}
{% macro period_end_date(period) -%}
    case {{ period_frequency(period) }}
        when 'A' then make_date(cast(left({{ period }}, 4) as integer), 12, 31)
        when 'Q' then last_day(make_date(cast(left({{ period }}, 4) as integer), 3 * cast(right({{ period }}, 1) as integer), 1))
        when 'M' then last_day(make_date(cast(left({{ period }}, 4) as integer), cast(right({{ period }}, 2) as integer), 1))
    end
{%- endmacro %}

{#- The same period ``years`` years later (earlier when negative): 2024Q3, -1 -> 2023Q3; 2024, 1 -> 2025. -#}
{% macro period_shifted_by_years(period, years) -%}
    cast(cast(left({{ period }}, 4) as integer) + {{ years }} as varchar) || substr({{ period }}, 5)
{%- endmacro %}
