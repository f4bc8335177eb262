"""How a suite is written down: plain dataclasses, no Great Expectations import.

A :class:`Suite` names a table, the Dagster asset that produces it and its expectations. Each
:class:`Expect` names one GX expectation class (``gx.expectations.<expectation>``) with its arguments,
a severity and a stable ``name`` (its key in the quality report and ``audit.quality_results``). Suites
are turned into GX objects only when they run (``expectations.runner``), so Dagster can declare the
checks without paying for the GX import.

Reference lists (regions, indicators, industry and district codes, policy targets) are never copied
into code: a query expectation writes ``{region_codes}`` and the runner puts a subquery on the dbt
seed in its place (:data:`CODE_SETS`), read from the warehouse when it validates.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2

from core.periods import CANONICAL_REGEX
from core.settings import DBT_PROJECT_DIR, SEEDS_DIR

Severity = Literal["error", "warn"]
SEVERITIES: tuple[Severity, ...] = ("error", "warn")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CodeSet:
    """A column of a dbt seed (schema ``reference``), optionally filtered: the valid codes."""

    seed: str
    column: str
    where: str | None = None


#: The reference lists suites may name as ``{name}`` in a query.
CODE_SETS: dict[str, CodeSet] = {
    "region_codes": CodeSet("ref_regions", "region_code"),
    "province_codes": CodeSet("ref_regions", "region_code", "level = 'province'"),
    "indicator_codes": CodeSet("ref_indicators", "indicator_code"),
    "policy_target_ids": CodeSet("policy_targets", "target_id"),
}


def code_set_subquery(code_set: CodeSet, *, seed_loaded: bool) -> str:
    """A subquery listing the codes (as text): the seed table in the warehouse, or the seed file when
    dbt has not loaded it yet (the raw checks of a first run come before ``dbt seed``). dbt infers seed
    column types, so a code column of digits (district codes) arrives as an integer: cast back."""
    source = f"reference.{code_set.seed}"
    if not seed_loaded:
        csv_path = str(SEEDS_DIR / f"{code_set.seed}.csv").replace("'", "''")
        source = f"read_csv('{csv_path}', header = true, all_varchar = true)"
    where = f" where {code_set.where}" if code_set.where else ""
    return f"(select cast({code_set.column} as varchar) as {code_set.column} from {source}{where})"


def substitute_code_sets(query: str, code_sets: dict[str, str]) -> str:
    """Put each ``{code set}`` of a query expectation's SQL in place (``{batch}`` stays for GX)."""
    for name, subquery in code_sets.items():
        query = query.replace("{" + name + "}", subquery)
    return query


#: Expectations that read the table's catalogue only (its columns and their types), never its rows.
SCHEMA_EXPECTATIONS = ("ExpectTableColumnsToMatchSet", "ExpectColumnValuesToBeOfType")
#: Expectations that count rows one at a time (GX's map expectations) or the rows of a query: on the rows of
#: several loads, their counts are the sums of each load's (see ``Suite.append_only_by``).
MAP_EXPECTATIONS = (
    "ExpectColumnValuesToNotBeNull",
    "ExpectColumnValuesToBeBetween",
    "ExpectColumnValuesToMatchRegex",
    "ExpectColumnValuesToBeInSet",
    "ExpectColumnPairValuesAToBeGreaterThanB",
)
ROW_EXPECTATIONS = (*MAP_EXPECTATIONS, "ExpectQueryToReturnNoRows")


@dataclass(frozen=True)
class Expect:
    """One expectation: ``gx.expectations.<expectation>(**kwargs)`` with a name and a severity."""

    name: str
    expectation: str
    severity: Severity
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"expectation name {self.name!r}: use lower_snake_case (it is a Dagster check name)")
        if self.severity not in SEVERITIES:
            raise ValueError(f"expectation {self.name}: severity {self.severity!r} is not one of {SEVERITIES}")


@dataclass(frozen=True)
class Suite:
    """The expectations on one table (or on the rows of it that ``where`` selects).

    ``blocking``: a failed error-level expectation stops what is downstream of ``asset_key`` (the
    marts); on raw tables errors are reported but do not block.

    ``append_only_by``: the column that names a load, on a table whose rows are appended a load at a time
    and never changed: each load's rows are validated once (:mod:`expectations.by_load`). Its expectations
    must then be of :data:`SCHEMA_EXPECTATIONS` (checked every time) or :data:`ROW_EXPECTATIONS` (counted
    per load), and each query expectation must find a row's problem among the rows of its own load (a key
    that includes the load, a lookup of each row in another append-only table).
    """

    name: str
    table: str  # schema.table
    asset_key: tuple[str, ...]
    expectations: tuple[Expect, ...]
    blocking: bool = False
    where: str | None = None  # SQL filter: the suite validates only these rows
    description: str = ""
    append_only_by: str | None = None

    def __post_init__(self) -> None:
        names = [e.name for e in self.expectations]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"suite {self.name}: expectation names used twice: {duplicates}")
        if self.append_only_by:
            if self.where:
                raise ValueError(f"suite {self.name}: append_only_by validates the whole table, not rows selected by where")
            by_load = set(SCHEMA_EXPECTATIONS) | set(ROW_EXPECTATIONS)
            other = [e.name for e in self.expectations if e.expectation not in by_load or "mostly" in e.kwargs]
            if other:
                raise ValueError(
                    f"suite {self.name}: validated by {self.append_only_by}, but these expectations cannot be counted "
                    f"load by load: {other} (known: {sorted(by_load)}, without mostly)"
                )

    @property
    def schema(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]

    def expectations_of(self, severity: Severity) -> tuple[Expect, ...]:
        return tuple(e for e in self.expectations if e.severity == severity)

    def check_name(self, severity: Severity) -> str:
        """The Dagster check of the suite's expectations of ``severity``: ``<table>__quality_errors`` or
        ``<table>__quality_warnings``, unique on the asset."""
        return f"{self.table_name}__quality_{'errors' if severity == 'error' else 'warnings'}"

    def blocks(self, severity: Severity) -> bool:
        """A failure of this severity stops publishing: error-level expectations of a blocking suite."""
        return self.blocking and severity == "error"

    def tables_read(self) -> frozenset[str]:
        """The tables validating the suite reads: its own, those its queries name (``schema.table``) and the
        seeds of the code sets they use."""
        texts = [v for e in self.expectations for v in e.kwargs.values() if isinstance(v, str)]
        texts += [self.where] if self.where else []
        named = {f"{schema}.{name}" for text in texts for schema, name in _TABLE_NAMED.findall(text)}
        seeds = {f"reference.{CODE_SETS[c].seed}" for text in texts for c in _PLACEHOLDER.findall(text) if c in CODE_SETS}
        return frozenset({self.table} | named | seeds)

    def digest(self) -> str:
        """SHA-256 of the suite as written: a result stored for another digest is of other expectations."""
        return hashlib.sha256(repr(self).encode("utf-8")).hexdigest()


#: ``schema.table`` in a suite's SQL, for the warehouse's schemas (see :meth:`Suite.tables_read`).
_TABLE_NAMED = re.compile(r"\b(raw|mapped|audit|staging|intermediate|marts|reference)\.([a-z_][a-z0-9_]*)\b")
#: ``{name}`` in a suite's SQL: ``{batch}`` or a code set.
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


# ---------------------------------------------------------------- builders shared by the suites


def columns_present(columns: list[str] | tuple[str, ...], *, exact: bool = False) -> Expect:
    """The table has these columns (``exact``: and no others)."""
    return Expect(
        "columns_match" if exact else "columns_present",
        "ExpectTableColumnsToMatchSet",
        "error",
        {"column_set": list(columns), "exact_match": exact},
        "The table has exactly these columns." if exact else "The table has at least these columns.",
    )


def column_types(types: dict[str, str]) -> list[Expect]:
    """Each column has its DuckDB type (VARCHAR, DOUBLE, BIGINT, INTEGER, DATE, TIMESTAMP, BOOLEAN)."""
    return [
        Expect(f"{column}_is_{sql_type.lower()}", "ExpectColumnValuesToBeOfType", "error",
               {"column": column, "type_": sql_type}, f"{column} is stored as {sql_type}.")
        for column, sql_type in types.items()
    ]


def not_null(*columns: str, severity: Severity = "error") -> list[Expect]:
    return [
        Expect(f"{column}_not_null", "ExpectColumnValuesToNotBeNull", severity, {"column": column},
               f"Every row has a {column}.")
        for column in columns
    ]


def unique_key(*columns: str, severity: Severity = "error") -> Expect:
    """No two rows share these columns; observed: the number of duplicated keys."""
    key = ", ".join(columns)
    return no_rows(
        "key_unique",
        f"select {key}, count(*) as rows from {{batch}} group by {key} having count(*) > 1",
        severity,
        f"({key}) identifies a row: no key appears twice.",
    )


def in_code_set(column: str, code_set: str, *, severity: Severity = "error") -> Expect:
    """Every non-null value is in a reference list (:data:`CODE_SETS`); observed: rows outside it."""
    if code_set not in CODE_SETS:
        raise ValueError(f"unknown code set {code_set!r}; known: {sorted(CODE_SETS)}")
    seed = CODE_SETS[code_set]
    return no_rows(
        f"{column}_known",
        f"select {column} from {{batch}} where {column} is not null and {column} not in {{{code_set}}}",
        severity,
        f"Every {column} is in the reference list {seed.seed}.{seed.column}.",
    )


def in_set(column: str, values: list[Any], *, severity: Severity = "error") -> Expect:
    """Every non-null value is one of a short fixed list (statuses, flags)."""
    return Expect(f"{column}_in_set", "ExpectColumnValuesToBeInSet", severity,
                  {"column": column, "value_set": list(values)}, f"{column} is one of {values}.")


def between(
    column: str,
    min_value: float | None,
    max_value: float | None,
    *,
    severity: Severity = "error",
    name: str | None = None,
    when: dict[str, Any] | None = None,
    why: str = "",
) -> Expect:
    """``min_value <= column <= max_value`` for every non-null value (of the rows ``when`` selects)."""
    kwargs: dict[str, Any] = {"column": column, "min_value": min_value, "max_value": max_value}
    if when:
        kwargs["when"] = dict(when)
    bounds = f"{'-inf' if min_value is None else min_value} .. {'+inf' if max_value is None else max_value}"
    scope = f" where {' and '.join(f'{k} = {v}' for k, v in when.items())}" if when else ""
    return Expect(name or f"{column}_in_range", "ExpectColumnValuesToBeBetween", severity, kwargs,
                  f"{column} within {bounds}{scope}. {why}".strip())


def not_negative(*columns: str, severity: Severity = "error") -> list[Expect]:
    return [between(column, 0, None, severity=severity, name=f"{column}_not_negative") for column in columns]


def matches(column: str, regex: str, *, severity: Severity = "error", what: str = "") -> Expect:
    """Every non-null value matches ``regex`` in full (DuckDB's ``~`` matches the whole value)."""
    if not (regex.startswith("^") and regex.endswith("$")):
        raise ValueError(f"regex for {column} must be anchored (^...$): {regex}")
    return Expect(f"{column}_format", "ExpectColumnValuesToMatchRegex", severity,
                  {"column": column, "regex": regex}, f"{column} is {what or regex}.")


def not_greater(column_a: str, column_b: str, *, severity: Severity = "error") -> Expect:
    """``column_a <= column_b`` on every row where both are present."""
    return Expect(
        f"{column_a}_not_above_{column_b}",
        "ExpectColumnPairValuesAToBeGreaterThanB",
        severity,
        {"column_A": column_b, "column_B": column_a, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
        f"{column_a} never exceeds {column_b}.",
    )


def no_rows(name: str, query: str, severity: Severity, description: str) -> Expect:
    """A SQL query that must return no rows; ``{batch}`` is the table, ``{<code set>}`` a reference list."""
    return Expect(name, "ExpectQueryToReturnNoRows", severity, {"unexpected_rows_query": query}, description)


# ---------------------------------------------------------------- periods and indicator ranges


#: Canonical period labels (core.periods): a year, a quarter or a month.
PERIOD_REGEX = CANONICAL_REGEX


@cache
def _period_macros() -> Any:
    """The macros of ``dbt_project/macros/periods.sql``, the SQL home of the period rules, as plain Jinja
    (they use nothing of dbt's), so the suites write the same SQL as the dbt models."""
    return jinja2.Environment().from_string((DBT_PROJECT_DIR / "macros" / "periods.sql").read_text(encoding="utf-8")).module


def period_sql(macro: str, period: str) -> str:
    """SQL of a period macro (``period_frequency``, ``period_end_year``, ``period_end_date``) on a column."""
    return str(getattr(_period_macros(), macro)(period)).strip()


def period_end_sql(period: str) -> str:
    """SQL for the last day of a canonical period (``2022``, ``2022Q3``, ``2022-09``); null otherwise."""
    return period_sql("period_end_date", period)


@dataclass(frozen=True)
class IndicatorRange:
    indicator_code: str
    severity: Severity
    min_value: float | None
    max_value: float | None
    rationale: str


@cache
def indicator_ranges() -> tuple[IndicatorRange, ...]:
    """``indicator_ranges.csv``: per indicator, the hard bounds (error) and plausible bounds (warn)."""
    path = _HERE / "indicator_ranges.csv"
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row["severity"] not in SEVERITIES:
                raise ValueError(f"{path}:{line}: severity {row['severity']!r} is not one of {SEVERITIES}")
            rows.append(IndicatorRange(
                row["indicator_code"], row["severity"],  # type: ignore[arg-type]
                float(row["min_value"]) if row["min_value"] else None,
                float(row["max_value"]) if row["max_value"] else None,
                row["rationale"],
            ))
    return tuple(rows)


def _range_name(severity: Severity) -> str:
    return "in_range" if severity == "error" else "plausible"


def value_ranges_by_indicator(
    value_column: str = "value", indicator_column: str = "indicator_code", *, when: dict[str, Any] | None = None
) -> list[Expect]:
    """One expectation per row of ``indicator_ranges.csv`` on a long table (one indicator per row), on the
    rows ``when`` selects too."""
    return [
        between(value_column, r.min_value, r.max_value, severity=r.severity,
                name=f"{value_column}_{_range_name(r.severity)}_{r.indicator_code}",
                when={indicator_column: r.indicator_code, **(when or {})}, why=r.rationale)
        for r in indicator_ranges()
    ]


def indicator_range(column: str, indicator_code: str) -> list[Expect]:
    """The ranges of one indicator applied to a wide column that holds it."""
    found = [r for r in indicator_ranges() if r.indicator_code == indicator_code]
    if not found:
        raise ValueError(f"indicator_ranges.csv has no range for {indicator_code!r}")
    return [
        between(column, r.min_value, r.max_value, severity=r.severity,
                name=f"{column}_{_range_name(r.severity)}", why=r.rationale)
        for r in found
    ]
