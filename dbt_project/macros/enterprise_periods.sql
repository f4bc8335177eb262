{#- Incremental builds of the enterprise models by reporting period (see int_enterprise_periods_to_rebuild).

    A model that is rebuilt by period is configured with

        materialized='incremental', incremental_strategy='replace_periods'

    selects, on an incremental run, only the rows of the periods to rebuild
    (`where {{ in_periods_to_rebuild('period') }}`), and the strategy below deletes those periods from the
    table before inserting the new rows. All of them are deleted, not only the periods the new rows have:
    a period whose rows were all withdrawn or rejected must end up empty. `--full-refresh` rebuilds the
    table from every row.

    A model keyed by enterprise whose rows span periods (int_enterprise_versions, dim_enterprise) is rebuilt
    by enterprise instead: `incremental_strategy='replace_enterprises'`, its rows selected
    `where {{ in_enterprises_to_rebuild('uscc') }}`: the enterprises with a row in a period to rebuild
    (int_enterprises_to_rebuild). -#}

{#- The periods to rebuild (or only those whose submissions changed), as a list of SQL literals read when the
    model runs: `('2025Q1', '2026Q1')`. With literals DuckDB skips the row groups of every other period in
    the scans below the model; with a subquery it reads all of them first (3-7 s instead of 0.1 s for a
    quarter of ten million rows of history). The subquery when parsing (dbt then sees the dependency) and
    when the table is not built yet (`dbt compile` or `dbt docs generate` of a new warehouse). -#}
{% macro periods_to_rebuild(submissions_only=false) -%}
    {%- set relation = ref('int_enterprise_periods_to_rebuild') -%}
    {%- if not execute or adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
    {{ return("(" ~ periods_query(relation, submissions_only) ~ ")") }}
    {%- endif -%}
    {{ return(period_literals(relation, submissions_only)) }}
{%- endmacro %}

{#- The query of the periods in `relation` (int_enterprise_periods_to_rebuild), or of those whose submissions
    changed. -#}
{% macro periods_query(relation, submissions_only) -%}
    {{ return("select period from " ~ relation ~ (" where submissions_changed" if submissions_only else "")) }}
{%- endmacro %}

{#- Those periods as a parenthesized list of SQL literals (`(null)` when there are none). -#}
{% macro period_literals(relation, submissions_only) -%}
    {%- set periods = run_query(periods_query(relation, submissions_only) ~ " order by period").columns[0].values() -%}
    {%- set literals = [] -%}
    {%- for period in periods -%}
        {%- do literals.append("'" ~ (period | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{ return("(" ~ (literals | join(", ") if literals else "null") ~ ")") }}
{%- endmacro %}

{#- `column` is in the periods to rebuild (always true on a full build). `submissions_only`: the periods whose
    submissions changed, without the periods that changed only through their year before (for models
    that do not look a year back). -#}
{% macro in_periods_to_rebuild(column, submissions_only=false) -%}
    {#- referenced on every call, so that dbt sees the dependency when it parses the model (not incremental then) -#}
    {%- set _ = ref('int_enterprise_periods_to_rebuild') -%}
    {%- if is_incremental() -%}
    {{ column }} in {{ periods_to_rebuild(submissions_only) }}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- The `replace_periods` incremental strategy: replace the periods to rebuild (those of the model's
    `in_periods_to_rebuild`, configured by `submissions_only`). -#}
{% macro get_incremental_replace_periods_sql(arg_dict) -%}
    {{ replace_rows_sql(arg_dict, in_periods_to_rebuild('period', config.get('submissions_only', false))) }}
{%- endmacro %}

{#- Delete the rows of the model's table that `condition` selects, then insert the rebuilt rows: the two
    strategies of this file. All of them are deleted, not only those the new rows replace. -#}
{% macro replace_rows_sql(arg_dict, condition) -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ condition }};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- `column` (a USCC) is an enterprise to rebuild (int_enterprises_to_rebuild; always true on a full build). -#}
{% macro in_enterprises_to_rebuild(column) -%}
    {#- referenced on every call, so that dbt sees the dependency when it parses the model (not incremental then) -#}
    {%- set enterprises_to_rebuild = ref('int_enterprises_to_rebuild') -%}
    {%- if is_incremental() -%}
    {{ column }} in (select uscc from {{ enterprises_to_rebuild }})
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- The `replace_enterprises` incremental strategy: replace the rows of the enterprises to rebuild (a model
    keyed by enterprise whose rows span periods, such as its versions), and of any other enterprise the model
    selected rows of (dim_enterprise: those whose names from the seeds changed). -#}
{% macro get_incremental_replace_enterprises_sql(arg_dict) -%}
    {{ replace_rows_sql(arg_dict, in_enterprises_to_rebuild('uscc') ~ " or uscc in (select uscc from " ~ arg_dict['temp_relation'] ~ ")") }}
{%- endmacro %}

{#- One checksum of the code of every model rebuilt by period or by enterprise, of every model upstream of
    them and of the macros they call: when it differs from the last build's, every period is rebuilt. -#}
{% macro enterprise_models_checksum() -%}
    {%- if not execute -%}{{ return("''") }}{%- endif -%}
    {%- set ns = namespace(ids=[]) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.config.incremental_strategy in ('replace_periods', 'replace_enterprises') -%}
        {%- set ns.ids = ns.ids + [node.unique_id] -%}
    {%- endfor -%}
    {#- the upstream models, a level at a time (the project is far less than 20 levels deep) -#}
    {%- for _ in range(20) -%}
        {%- for id in ns.ids -%}
            {%- for upstream in graph.nodes[id].depends_on.nodes if upstream.startswith('model.') and upstream not in ns.ids -%}
                {%- set ns.ids = ns.ids + [upstream] -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set checksums = [] -%}
    {%- for id in ns.ids | sort -%}
        {%- do checksums.append(id ~ '=' ~ graph.nodes[id].checksum.checksum) -%}
        {%- for macro in graph.nodes[id].depends_on.macros | sort if macro in graph.macros -%}
            {%- do checksums.append(macro ~ '=' ~ local_md5(graph.macros[macro].macro_sql)) -%}
        {%- endfor -%}
    {%- endfor -%}
    '{{ local_md5(checksums | join(",")) }}'
{%- endmacro %}

{#- dbt's `get_where_subquery` (the `where` config of a data test), with one placeholder: `__periods_rebuilt__`,
    the periods whose submissions the last build of the enterprise models rebuilt (every period on a full
    build). A test of a table rebuilt by period whose key includes the period, configured with
    `where: "period in __periods_rebuilt__"`, then reads only the rows that build rewrote: the other
    periods are as they were when they passed it. Without the periods table (a test run before any build)
    the test reads every row. dbt renders `where` like any YAML config, without the project's macros:
    overriding this macro is dbt's documented way to compute it when the test runs. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__periods_rebuilt__' in where -%}
        {%- set periods = adapter.get_relation(relation.database, relation.schema, 'int_enterprise_periods_to_rebuild') if execute else none -%}
        {%- set rebuilt = period_literals(periods, submissions_only=true) if periods is not none
            else "(select period from " ~ relation ~ ")" -%}
        {%- set where = where | replace('__periods_rebuilt__', rebuilt) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ where ~ ") dbt_subquery") -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
