{#- The SQL home of the period rules, on canonical labels (core/periods.py, the Python home, writes them):
    `2024` (year), `2024Q2` (quarter), `2024-09` (month), years 1900-2099. tests/test_periods.py runs these
    macros and core.periods on the same labels; the quality suites use them too (expectations/spec.py),
    in queries Great Expectations fills in with str.format: so no braces in the SQL ([0-9][0-9], not [0-9]{2}). -#}

{#- A, Q or M; null for anything that is not a canonical label. -#}
{% macro period_frequency(period) -%}
    case
        when regexp_full_match({{ period }}, '(19|20)[0-9][0-9]') then 'A'
        when regexp_full_match({{ period }}, '(19|20)[0-9][0-9]Q[1-4]') then 'Q'
        when regexp_full_match({{ period }}, '(19|20)[0-9][0-9]-(0[1-9]|1[0-2])') then 'M'
    end
{%- endmacro %}

{#- The calendar year of the period (integer): 2024Q2 -> 2024. -#}
{% macro period_year(period) -%}
    case when {{ period_frequency(period) }} is not null then cast(left({{ period }}, 4) as integer) end
{%- endmacro %}

{#- The quarter (1-4) or month (1-12) within the year; null for a year. -#}
{% macro period_number(period) -%}
    case {{ period_frequency(period) }}
        when 'Q' then cast(right({{ period }}, 1) as integer)
        when 'M' then cast(right({{ period }}, 2) as integer)
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
