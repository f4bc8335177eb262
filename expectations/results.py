"""What a suite run returns, and the table the results are kept in (no Great Expectations import).

``audit.quality_results`` holds one row per expectation per run (and ``quality.load_counts`` what the
suites validated load by load counted: ``expectations.by_load``). Validation itself only reads the
warehouse; the caller that holds the writer lock records the results (``record_results``). Whether a run
may publish is answered from the Dagster checks (``orchestration.assets.serving.failed_blocking_checks``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from expectations.by_load import LoadCounts, record_load_counts
from expectations.spec import Severity

QUALITY_RESULTS_DDL = """
create schema if not exists audit;
create table if not exists audit.quality_results (
    run_id           varchar   not null,  -- the Dagster run (or the caller's id) that validated
    suite            varchar   not null,  -- expectations suite, e.g. marts.rd_intensity
    table_name       varchar   not null,  -- schema.table validated
    expectation      varchar   not null,  -- expectation name within the suite
    severity         varchar   not null,  -- error | warn
    blocking         boolean   not null,  -- a failure stops publishing
    passed           boolean   not null,
    observed_value   json,                -- what was measured (count, columns, example values)
    unexpected_count bigint,              -- rows (or keys) that broke the expectation, when countable
    checked_at       timestamp not null
);
"""


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation of one suite run."""

    name: str
    passed: bool
    severity: Severity
    blocking: bool
    observed_value: Any
    unexpected_count: int | None
    description: str = ""
    examples: list[Any] | dict[str, Any] = field(default_factory=list)  # offending values or rows, when it failed


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    table: str
    outcomes: tuple[ExpectationOutcome, ...]
    checked_at: datetime
    error: str | None = None  # why the suite could not run (the table does not exist, ...)
    #: What this validation counted in the loads it validated, for the next ones (``expectations.by_load``).
    load_counts: LoadCounts | None = field(default=None, compare=False, repr=False)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.blocking and not o.passed]

    def outcome(self, name: str) -> ExpectationOutcome:
        for outcome in self.outcomes:
            if outcome.name == name:
                return outcome
        raise KeyError(f"suite {self.suite} has no expectation {name!r}")

    def failed(self) -> list[str]:
        return [o.name for o in self.outcomes if not o.passed]


def record_results(con: duckdb.DuckDBPyConnection, run_id: str, results: Iterable[SuiteResult]) -> int:
    """Append the outcomes of ``results`` to ``audit.quality_results``, and keep what they counted load by load
    (``quality.load_counts``); returns how many outcome rows."""
    results = list(results)
    con.execute(QUALITY_RESULTS_DDL)
    record_load_counts(con, [r.load_counts for r in results if r.load_counts is not None])
    rows = [
        (run_id, r.suite, r.table, o.name, o.severity, o.blocking, o.passed,
         json.dumps(o.observed_value, ensure_ascii=False, default=str), o.unexpected_count, r.checked_at)
        for r in results
        for o in r.outcomes
    ]
    if rows:
        con.executemany("insert into audit.quality_results values (?, ?, ?, ?, ?, ?, ?, ?::json, ?, ?)", rows)
    return len(rows)

