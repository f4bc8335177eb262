"""The row rules of format 5 as set-based DuckDB SQL, cheap enough for ten million rows.

Every column that is not a measure (codes, names, the period, the yes/no flags) is checked on its
*distinct* values, not on every row: an enterprise reports many periods and a file has few groups, period
labels or flag spellings, so the expensive work (trimming, the USCC check character, ``parse_period``) runs on a few hundred thousand values at most and each row only looks its values up in
``_dict_<column>``. Measures are parsed per row with plain casts. A row is valid when :func:`valid_sql`
holds (no strings built); only the rows where it does not get their reasons spelled out by
:func:`reasons_sql`.

A reason starts with the rule's name (``invalid_uscc:``, ``invalid_period:`` ...) followed by what was
wrong, naming the column and the value; a row breaking several rules gets them all, joined by ``; ``.
Whether an industry or district code is in its reference table is not a load rule: the mapping step
(``ingestion/enterprise/mapping.py``) checks it against the current seeds on every run.

The USCC check (GB 32100-2015) is :mod:`ingestion.uscc`, shared with the registers loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from ingestion.enterprise import schema
from ingestion.sql import INTEGER_TYPES as _INTEGER_TYPES  # noqa: F401 (re-exported)
from ingestion.sql import quote_identifier, quote_literal, text_sql  # noqa: F401 (re-exported)
from ingestion.sql import TRIM as _TRIM
from ingestion.sql import is_typed_number as _is_typed_number
from ingestion.uscc import (  # noqa: F401 (re-exported: the check is shared with the registers loader)
    USCC_ALPHABET,
    USCC_WEIGHTS,
    uscc_check_character_sql,
    uscc_compact_sql,
    uscc_problem_sql,
)


def dictionary_columns() -> list[schema.Column]:
    """The columns checked through their distinct values: all but the measures."""
    return [c for c in schema.columns() if not c.is_measure]


def _quoted(expression: str) -> str:
    """SQL rendering a text expression in single quotes, for reasons: ``'C9999'``."""
    return f"'''' || {expression} || ''''"


# ---------- cells


def _number_sql(raw: str, source_type: str) -> str:
    """A measure: typed sources as they are; text may have thousands separators and spaces (NaN and
    infinity parse here and fail the rules)."""
    if _is_typed_number(source_type):
        return f"cast({raw} as double)"
    cleaned = f"replace(replace(trim(cast({raw} as varchar), '{_TRIM}'), ',', ''), ' ', '')"
    return f"coalesce(try_cast({raw} as double), try_cast({cleaned} as double))"


def parsed_select(source_types: Mapping[str, str]) -> str:
    """The per-row scan of ``_src`` (the file's rows, see the loader): ``_row``, every cell as received
    (``_src_<column>``) and each measure parsed (``<measure>``, NULL when missing or not a number)."""
    items = ["_row"]
    for col in schema.columns():
        raw = quote_identifier(col.name)
        items.append(f"{raw} as _src_{col.name}")
        if col.is_measure:
            items.append(f"{_number_sql(raw, source_types[col.name])} as {col.name}")
    return ",\n    ".join(items)


# ---------- dictionaries of distinct values


def key_sql(uscc: str = "uscc", period: str = "period") -> str:
    """The hash of a submission's key: one enterprise, one period. Over the cells as received it finds the
    candidate duplicates in the same scan that collects the distinct values."""
    return f"hash({uscc}, {period})"


def distinct_values_sql() -> str:
    """One scan of ``_src`` giving the distinct raw values of every dictionary column, and (as ``_key``)
    the hash of every raw (uscc, period) that occurs more than once."""
    names = [c.name for c in dictionary_columns()]
    sets = ", ".join(f"({n})" for n in [*names, "_key"])
    return f"""select {', '.join(names)}, _key from (select *, {key_sql()} as _key from _src)
        group by grouping sets ({sets}) having grouping(_key) = 1 or count(*) > 1"""


def dictionary_sql(col: schema.Column, source_type: str) -> str:
    """``_dict_<column>(raw, text, value, problem)`` from ``_distinct``: ``text`` is the cell as text (NULL
    when missing), ``value`` the canonical value when valid, ``problem`` the reason when not. Periods get
    ``value`` and ``problem`` from ``parse_period`` in the loader (see :func:`period_dictionary_sql`)."""
    name = col.name
    distinct = f"select distinct {name} as raw, {text_sql(name, source_type)} as text from _distinct where {name} is not null"
    if col.kind == "period":
        return distinct
    if col.kind == "flag" and source_type.upper() == "BOOLEAN":
        value, problem = "raw", "null"
    elif col.kind == "flag":
        cases = " ".join(f"when {quote_literal(s)} then {str(v).lower()}" for s, v in schema.flag_spellings().items())
        value = f"case lower(text) {cases} end"
        problem = (
            f"case when value is null then 'invalid_flag: {name} ' || {_quoted('text')} || ' is not "
            f"{'/'.join(schema.flag_spellings())}' end"
        )
    elif col.kind == "uscc":
        value = uscc_compact_sql("text")
        problem = uscc_problem_sql("value")
    elif col.kind == "industry":  # membership in ref_industry_codes: ingestion/enterprise/mapping.py
        value, problem = "upper(text)", "null"
    else:  # free text, and district codes (membership in ref_chongqing_districts: mapping.py)
        value, problem = "text", "null"
    return f"""select raw, text, case when problem is null then value end as value, problem from (
        select raw, text, value, case when text is not null then {problem} end as problem
        from (select raw, text, {value} as value from ({distinct}))
    )"""


def period_dictionary_sql() -> str:
    """``_dict_period`` completed from ``_period_labels(text, value, problem)`` (filled by parse_period)."""
    return "select d.raw, d.text, l.value, l.problem from _dict_period d left join _period_labels l using (text)"


_VALUE_TYPES = {"flag": "BOOLEAN"}
#: Up to this many distinct values, a lookup is written into the SQL instead of joining the dictionary.
INLINE_LIMIT = 64


@dataclass(frozen=True)
class Lookup:
    """How each row gets the canonical value of one dictionary column (``p`` is the row of ``_parsed``).

    Usually the values arrive canonical already (``C3670``, ``2024Q3``), and the row keeps its own cell:
    no join at all. A few non-canonical spellings (是/否, ``2024-Q3``) become an inline CASE; only a large
    non-canonical dictionary is joined (``d_<column>``)."""

    column: schema.Column
    value_sql: str  # the canonical value; NULL when missing or invalid, except when the cell is kept
    ok_sql: str  # true when the cell is present and valid
    join: bool = False
    keeps_cell: bool = False  # the canonical value is the cell itself, same type and spelling


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return quote_literal(str(value))


def plan_lookup(con: duckdb.DuckDBPyConnection, col: schema.Column, source_type: str) -> Lookup:
    """Choose the cheapest correct :class:`Lookup` for ``col`` from what ``_dict_<column>`` holds."""
    name, raw = col.name, f"p._src_{col.name}"
    value_type = _VALUE_TYPES.get(col.kind, "VARCHAR")
    same_type = source_type.upper() == value_type
    cast = raw if same_type else f"try_cast({raw} as {value_type})"
    valid, renamed, invalid = con.execute(
        f"""select count(*) filter (where value is not null),
                   count(*) filter (where value is not null and try_cast(raw as {value_type}) is distinct from value),
                   count(*) filter (where value is null)
            from _dict_{name}"""
    ).fetchone()
    if renamed == 0:  # valid cells are canonical as they are: keep them, reject the few invalid ones
        if invalid == 0:
            return Lookup(col, cast, f"{raw} is not null", keeps_cell=same_type)
        if invalid <= INLINE_LIMIT:
            bad = ", ".join(_literal(r) for (r,) in con.execute(f"select raw from _dict_{name} where value is null").fetchall())
            return Lookup(col, cast, f"({raw} is not null and not list_contains([{bad}], {raw}))", keeps_cell=same_type)
        ok = f"({raw} is not null and {raw} not in (select raw from _dict_{name} where value is null))"
        return Lookup(col, cast, ok, keeps_cell=same_type)
    if valid <= INLINE_LIMIT:
        pairs = con.execute(f"select raw, value from _dict_{name} where value is not null").fetchall()
        value = f"case {raw} " + " ".join(f"when {_literal(r)} then {_literal(v)}" for r, v in pairs) + " end"
        return Lookup(col, value, f"({value}) is not null")
    return Lookup(col, f"d_{name}.value", f"d_{name}.value is not null", join=True)


def _joins(columns: list[schema.Column], source: str) -> str:
    return " ".join(f"left join _dict_{c.name} d_{c.name} on d_{c.name}.raw = {source}._src_{c.name}" for c in columns)


def row_select(lookups: list[Lookup]) -> str:
    """``_rows``: ``_parsed`` with each dictionary column's canonical value ``c`` and ``c__ok``."""
    items = ["p.*"] + [f"{lk.value_sql} as {lk.column.name}, {lk.ok_sql} as {lk.column.name}__ok" for lk in lookups]
    return f"select {', '.join(items)} from _parsed p {_joins([lk.column for lk in lookups if lk.join], 'p')}"


def valid_sql() -> str:
    """True when a row of ``_rows`` breaks no rule (cheap: no strings are built)."""
    cols = schema.columns()
    conditions = [f"{c.name}__ok" for c in dictionary_columns()]
    conditions += [f"isfinite({c.name}) and {c.name} >= 0" for c in cols if c.is_measure]
    conditions += [f"{c.name} = trunc({c.name})" for c in cols if c.kind == "count"]
    conditions += [
        "rd_expenditure_10k_yuan <= revenue_10k_yuan",
        "sei_output_10k_yuan <= industrial_output_10k_yuan",
        "high_value_invention_patents_valid <= invention_patents_valid",
    ]
    return "coalesce(" + " and ".join(conditions) + ", false)"


def explained_select(rows: str, source_types: Mapping[str, str]) -> str:
    """The rows of ``rows`` (a subquery of ``_rows``) with every column's text ``c__text`` and each
    dictionary column's ``c__problem``, for :func:`reasons_sql`: only computed for the few flagged rows."""
    items = ["f.*"]
    for col in schema.columns():
        if col.is_measure:
            items.append(f"{text_sql(f'f._src_{col.name}', source_types[col.name])} as {col.name}__text")
        else:
            items.append(f"d_{col.name}.text as {col.name}__text, d_{col.name}.problem as {col.name}__problem")
    return f"select {', '.join(items)} from ({rows}) f {_joins(dictionary_columns(), 'f')}"


def reasons_sql() -> str:
    """Every rule a row of :func:`explained_select` breaks, as text (empty when none)."""
    cols = schema.columns()
    measures = [c for c in cols if c.is_measure]
    shown = {  # counts without '.0'
        c.name: f"case when {c.name} = trunc({c.name}) then cast(cast({c.name} as bigint) as varchar) "
        f"else cast({c.name} as varchar) end"
        if c.kind == "count"
        else f"cast({c.name} as varchar)"
        for c in measures
    }

    def listed(prefix: str, items: list[str]) -> str:
        return f"{quote_literal(prefix)} || nullif(concat_ws(', ', {', '.join(items)}), '')"

    reasons = [
        listed("missing_value: no value in ", [f"case when {c.name}__text is null then '{c.name}' end" for c in cols]),
        *[f"{c.name}__problem" for c in dictionary_columns()],
        listed(
            "invalid_number: not a number: ",
            [
                f"case when {c.name}__text is not null and not coalesce(isfinite({c.name}), false) "
                f"then '{c.name} ' || {_quoted(c.name + '__text')} end"
                for c in measures
            ],
        ),
        listed(
            "invalid_number: not a whole number: ",
            [f"case when {c.name} <> trunc({c.name}) then '{c.name} ' || {c.name} end" for c in cols if c.kind == "count"],
        ),
        listed("negative_amount: ", [f"case when {c.name} < 0 then '{c.name} = ' || {shown[c.name]} end" for c in measures]),
        "case when rd_expenditure_10k_yuan > revenue_10k_yuan then 'rd_above_revenue: R&D expenditure ' || "
        f"{shown['rd_expenditure_10k_yuan']} || ' exceeds revenue ' || {shown['revenue_10k_yuan']} || ' (10k yuan)' end",
        "case when sei_output_10k_yuan > industrial_output_10k_yuan then 'sei_above_industrial_output: SEI output ' || "
        f"{shown['sei_output_10k_yuan']} || ' exceeds industrial output ' || {shown['industrial_output_10k_yuan']} || ' (10k yuan)' end",
        "case when high_value_invention_patents_valid > invention_patents_valid then "
        f"'high_value_above_valid_patents: ' || {shown['high_value_invention_patents_valid']} || ' high-value patents exceed ' || "
        f"{shown['invention_patents_valid']} || ' valid invention patents' end",
    ]
    return "concat_ws('; ', " + ", ".join(reasons) + ")"
