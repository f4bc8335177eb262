"""What the build database says about a run, told to the user: the summary printed at the end of
``make run`` and shown at the top of the quality report, and the audit tables the report lists (load log,
current quarantine, history of runs).

It lives in ``expectations/`` because it is the opening of the quality report and reads the audit
tables the checks read and write (``audit.quality_results`` is defined in ``expectations/results.py``);
it imports no Great Expectations, so ``make run`` prints it in milliseconds.

Everything is read on one read-only connection. An absent or unreadable database, or a warehouse from
before a table, column or view existed, gives what can be read, never an error: a missing
``audit.current_loads`` counts every quarantined row as current, a missing ``note`` or ``stage`` reads
as empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from core import warehouse
from expectations.freshness import SOURCES, SUITE_PREFIX, publication_calendar
from expectations.suites import SUITES

#: Reasons shown per file in the summary, and rows of the quarantine sample in the report.
TOP_REASONS = 3
QUARANTINE_SAMPLE_ROWS = 50
REPORTED_RUNS = 30
EVENT_STATUSES = ("withdrawn", "restored", "duplicate")

#: What fixes a quarantined row, by the rule its reason starts with; any other rule: correct the file.
_REFERENCE_FIXES = (
    ("unmapped region", "add the region name to dbt_project/seeds/ref_region_aliases.csv"),
    ("unmapped indicator", "add the indicator label to dbt_project/seeds/ref_indicator_aliases.csv"),
    ("unknown unit", "add the unit to dbt_project/seeds/ref_units.csv"),
    ("unknown_industry_code", "add the code to dbt_project/seeds/ref_industry_codes.csv if it is a GB/T 4754-2017 class"),
)
_FIX_THE_FILE = "correct the file: its new version replaces this one at the next run"
REMAP = "after a fix in dbt_project/seeds/, the next `make run` maps these rows again without reloading the file"


def _rule_sql(reason: str) -> str:
    """SQL for a reason's rule: its text before the first quote, parenthesis or colon
    (``unmapped region '寧夏'`` -> ``unmapped region``; ``invalid_uscc: 9150...`` -> ``invalid_uscc``)."""
    return f"coalesce(nullif(trim(regexp_extract({reason}, '^[^''\"(:]*')), ''), {reason})"


@dataclass(frozen=True)
class FailedFile:
    """A file of the landing folder whose latest attempt failed: nothing of it was loaded."""

    source_file: str
    reason: str
    failed_at: datetime

    @property
    def what_to_do(self) -> str:
        if self.source_file.startswith("releases/"):
            return f"fix the file or its sidecar ({Path(self.source_file).name}.meta.yml) and run `make run` again"
        return "fix the file and run `make run` again"


@dataclass(frozen=True)
class ReasonCount:
    """Quarantined rows of a file that break one rule."""

    rule: str
    rows: int
    example: str  # one full reason of the rule, e.g. unmapped region '寧夏回族自治區'

    @property
    def text(self) -> str:
        example = "" if self.example == self.rule else f" (e.g. {self.example})"
        return f"{self.rule}, {count_of(self.rows, 'row')}{example}"

    @property
    def fixed_in_reference_data(self) -> bool:
        return any(self.rule.startswith(rule) for rule, _ in _REFERENCE_FIXES)

    @property
    def what_to_do(self) -> str:
        return next((fix for rule, fix in _REFERENCE_FIXES if self.rule.startswith(rule)), _FIX_THE_FILE)


def is_confidential_file(source_file: str) -> bool:
    """Enterprise submissions and registers: their rows, and reasons that quote their values, are restricted
    (only statistical releases, ``releases/...``, are public)."""
    return not source_file.startswith("releases/")


@dataclass(frozen=True)
class QuarantinedFile:
    """A file with rows in the current quarantine: their figures are missing until fixed."""

    source_file: str
    rows: int
    reasons: tuple[ReasonCount, ...]  # the most frequent rules first

    @property
    def is_confidential(self) -> bool:
        return is_confidential_file(self.source_file)


@dataclass(frozen=True)
class LoadEvent:
    """A withdrawn, restored or duplicate row of ``audit.load_log``."""

    status: str
    source_file: str
    load_id: str
    note: str
    at: datetime

    @property
    def what_to_do(self) -> str:
        return {
            "withdrawn": "its figures left the current marts (kept in the history, marked withdrawn); "
            "put the file back to restore them",
            "restored": "its figures are current again",
            "duplicate": "nothing was loaded; remove the copy unless it is meant to be there",
        }.get(self.status, "")


@dataclass(frozen=True)
class BlockingCheck:
    """A failed blocking expectation of the run: it stopped publishing."""

    suite: str
    expectation: str
    description: str
    observed_value: str
    unexpected_count: int | None

    @property
    def what_to_do(self) -> str:
        return (
            f"see suite {self.suite} in the quality report for the offending rows, correct or remove the landing "
            "file they come from (or the reference data) and run `make run` again; the last published data stays "
            "in place until then"
        )


@dataclass(frozen=True)
class FreshnessStatus:
    """The latest data freshness result of one input and frequency (``expectations/freshness.py``)."""

    source: str  # releases | enterprise_submissions | registers
    check: str  # data_freshness_<frequency>
    on_time: bool
    observed: dict[str, Any]  # DataFreshness.observed(): message, periods, dates
    checked_at: datetime

    @property
    def asset(self) -> str:
        return f"raw/{self.source}"

    @property
    def frequency(self) -> str:
        return self.check.removeprefix("data_freshness_")

    @property
    def message(self) -> str:
        return str(self.observed.get("message", ""))

    @property
    def what_to_do(self) -> str:
        if self.on_time:
            return ""
        period = self.observed.get("overdue_period")
        return (
            f"put the files of {period} into LANDING_DIR/{SOURCES[self.source].landing_folder}/ and run `make run` "
            "(or, if the deadline is wrong, correct it in expectations/publication_calendar.csv); "
            "publishing goes on meanwhile"
        )


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    started_at: datetime | None
    blocking_checks: tuple[BlockingCheck, ...] = ()
    failed_files: tuple[FailedFile, ...] = ()
    quarantined_files: tuple[QuarantinedFile, ...] = ()
    events: tuple[LoadEvent, ...] = ()
    overdue: tuple[FreshnessStatus, ...] = ()  # inputs whose data is overdue on the reporting date (a warning)
    unavailable: str | None = None  # why the build database could not be read

    @property
    def all_clear(self) -> bool:
        return not (self.blocking_checks or self.failed_files or self.quarantined_files or self.events)

    def lines(self) -> list[str]:
        """The summary as text, one item per line, each followed by what to do."""
        lines = [f"Summary of run {self.run_id}"]
        if self.unavailable:
            return [*lines, f"  {self.unavailable}"]
        if self.blocking_checks:
            lines.append(f"Publishing stopped by {count_of(self.blocking_checks, 'blocking check')}:")
            for check in self.blocking_checks:
                lines.append(f"  {check.suite} / {check.expectation}: {check.observed_value}")
                if check.description:
                    lines.append(f"    expected: {check.description}")
                lines.append(f"    what to do: {check.what_to_do}")
        if self.failed_files:
            lines.append(f"{count_of(self.failed_files, 'file')} failed to load (nothing of them was loaded):")
            for failed in self.failed_files:
                lines += [f"  {failed.source_file}: {failed.reason}", f"    what to do: {failed.what_to_do}"]
        if self.quarantined_files:
            lines.append(f"{count_of(self.quarantined_files, 'file')} with quarantined rows (their figures are missing):")
            for file in self.quarantined_files:
                lines.append(f"  {file.source_file}: {count_of(file.rows, 'row')} quarantined, the most frequent reasons:")
                lines += [f"    {reason.text}; what to do: {reason.what_to_do}" for reason in file.reasons]
                if any(reason.fixed_in_reference_data for reason in file.reasons):
                    lines.append(f"    {REMAP}")
        if self.events:
            lines.append(f"{count_of(self.events, 'file')} withdrawn, restored or duplicate in this run:")
            for event in self.events:
                lines += [f"  {event.status} {event.source_file} (load {event.load_id}): {event.note}",
                          f"    what to do: {event.what_to_do}"]
        if self.all_clear:
            lines.append("  every file loaded, no row quarantined, no blocking check failed")
        if self.overdue:
            lines.append(f"{count_of(self.overdue, 'input')} with data overdue (a warning: publishing goes on):")
            for status in self.overdue:
                lines += [f"  {status.asset} ({status.frequency}): {status.message}",
                          f"    what to do: {status.what_to_do}"]
        return lines

    def text(self) -> str:
        return "\n".join(self.lines())


@dataclass(frozen=True)
class RunOverview:
    """What the quality report shows: the summary and the audit tables behind it (rows as dicts)."""

    summary: RunSummary
    load_log: list[dict[str, Any]]
    quarantine_reasons: list[dict[str, Any]]
    quarantine_sample: list[dict[str, Any]]
    quarantine_rows: int
    runs: list[dict[str, Any]]
    freshness: list[FreshnessStatus]


def render_run_summary(build_db: Path, run_id: str, run_started_at: datetime | None) -> str:
    """The summary of run ``run_id`` as text: what ``make run`` prints at its end."""
    return read_run_summary(build_db, run_id, run_started_at).text()


def read_run_summary(build_db: Path, run_id: str, run_started_at: datetime | None) -> RunSummary:
    """The summary of run ``run_id`` from the build database.

    Failed files and withdrawn/restored/duplicate events are those recorded since ``run_started_at``
    (a failed file is tried again on every run, so a file still failing has a row of this run); without
    a start time, the files whose latest attempt failed, and no events.
    """
    with _reading(build_db) as audit:
        if isinstance(audit, str):
            return RunSummary(run_id, run_started_at, unavailable=audit)
        return _summary(audit, run_id, _local(run_started_at))


def read_run_overview(build_db: Path, run_id: str, run_started_at: datetime | None) -> RunOverview:
    """The summary and the audit tables of the quality report, in one read."""
    with _reading(build_db) as audit:
        if isinstance(audit, str):
            return RunOverview(RunSummary(run_id, run_started_at, unavailable=audit), [], [], [], 0, [], [])
        return RunOverview(
            summary=_summary(audit, run_id, _local(run_started_at)),
            load_log=audit.load_log(),
            quarantine_reasons=audit.quarantine_reasons(),
            quarantine_sample=audit.quarantine_sample(QUARANTINE_SAMPLE_ROWS),
            quarantine_rows=audit.quarantine_rows(),
            runs=audit.runs(REPORTED_RUNS),
            freshness=audit.freshness(),
        )


def _summary(audit: _Audit, run_id: str, since: datetime | None) -> RunSummary:
    if "load_log" not in audit.columns:
        return RunSummary(run_id, since, unavailable="nothing was loaded yet: the build database has no audit.load_log")
    return RunSummary(
        run_id=run_id,
        started_at=since,
        blocking_checks=tuple(audit.blocking_checks(run_id)),
        failed_files=tuple(audit.failed_files(since)),
        quarantined_files=tuple(audit.quarantined_files()),
        events=tuple(audit.events(since)) if since else (),
        overdue=tuple(status for status in audit.freshness() if not status.on_time),
    )


def count_of(items: Any, noun: str) -> str:
    """``1 file``, ``2 files``: ``items`` is a number or a collection."""
    n = items if isinstance(items, int) else len(items)
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _local(moment: datetime | None) -> datetime | None:
    """The audit tables hold naive local times."""
    return moment.astimezone().replace(tzinfo=None) if moment and moment.tzinfo else moment


@contextmanager
def _reading(build_db: Path) -> Iterator[_Audit | str]:
    """The audit tables of ``build_db`` on a read-only connection, or why they cannot be read."""
    if not Path(build_db).is_file():
        yield f"no build database at {build_db}: nothing was loaded yet"
        return
    try:
        con = warehouse.connect(Path(build_db), read_only=True)
    except duckdb.Error as error:
        yield f"the build database {build_db} could not be read: {error}"
        return
    try:
        yield _Audit(con)
    finally:
        con.close()


class _Audit:
    """Queries on the audit tables that tolerate missing tables and columns."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.columns: dict[str, set[str]] = {}
        for table, column in con.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = 'audit'"
        ).fetchall():
            self.columns.setdefault(table, set()).add(column)

    def _col(self, table: str, column: str, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return f"{prefix}{column}" if column in self.columns.get(table, ()) else "null"

    def _rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # ------------------------------------------------------------ the summary

    def blocking_checks(self, run_id: str) -> list[BlockingCheck]:
        if "quality_results" not in self.columns:
            return []
        rows = self.con.execute(
            """select suite, expectation, observed_value, unexpected_count from audit.quality_results
            where run_id = ?
            qualify row_number() over (partition by suite, expectation order by checked_at desc) = 1
                and blocking and not passed
            order by suite, expectation""",
            [run_id],
        ).fetchall()
        return [BlockingCheck(suite, name, _description(suite, name), _observed(observed), unexpected)
                for suite, name, observed, unexpected in rows]

    def failed_files(self, since: datetime | None) -> list[FailedFile]:
        if "load_log" not in self.columns:
            return []
        rows = self.con.execute(
            f"""select source_file, coalesce(error, 'no reason recorded'), loaded_at from audit.load_log
            where status in ('loaded', 'failed') {'and loaded_at >= ?' if since else ''}
            qualify row_number() over (partition by source_file order by loaded_at desc) = 1 and status = 'failed'
            order by source_file""",
            [since] if since else [],
        ).fetchall()
        return [FailedFile(source_file, reason.removeprefix(f"{source_file}: "), at) for source_file, reason, at in rows]

    def _current_quarantine(self) -> str:
        """The rows of ``audit.quarantine`` whose load is current (every row, without the view)."""
        if "current_loads" in self.columns:
            return "(select * from audit.quarantine where load_id in (select load_id from audit.current_loads))"
        return "audit.quarantine"

    def _reasons(self) -> str:
        """One row per (quarantined row, reason it gives: several are joined by ``; ``), with its rule."""
        return f"""(select q.source_file, q.row_number, {self._col('quarantine', 'stage', 'q')} as stage,
                   trim(r.reason) as reason, {_rule_sql('trim(r.reason)')} as rule
            from {self._current_quarantine()} q, unnest(string_split(q.reason, '; ')) r(reason))"""

    def quarantined_files(self) -> list[QuarantinedFile]:
        if "quarantine" not in self.columns:
            return []
        files = self.con.execute(
            f"select source_file, count(*) from {self._current_quarantine()} group by all order by 2 desc, 1"
        ).fetchall()
        reasons: dict[str, list[ReasonCount]] = {}
        for source_file, rule, rows, example in self.con.execute(
            f"""select source_file, rule, count(*), min(reason) from {self._reasons()} group by source_file, rule
            qualify row_number() over (partition by source_file order by count(*) desc, rule) <= {TOP_REASONS}
            order by source_file, count(*) desc, rule"""
        ).fetchall():
            reasons.setdefault(source_file, []).append(ReasonCount(rule, rows, example))
        return [QuarantinedFile(f, n, tuple(reasons.get(f, ()))) for f, n in files]

    def events(self, since: datetime) -> list[LoadEvent]:
        if "load_log" not in self.columns:
            return []
        rows = self.con.execute(
            f"""select status, source_file, load_id, coalesce({self._col('load_log', 'note')}, error, ''), loaded_at
            from audit.load_log where status in {EVENT_STATUSES} and loaded_at >= ?
            order by loaded_at, source_file""",
            [since],
        ).fetchall()
        return [LoadEvent(*row) for row in rows]

    def freshness(self) -> list[FreshnessStatus]:
        """The latest data freshness result of every input and frequency of the publication calendar."""
        if "quality_results" not in self.columns:
            return []
        declared = {(SUITE_PREFIX + d.source, d.check_name) for d in publication_calendar()}
        rows = self.con.execute(
            f"""select suite, expectation, passed, cast(observed_value as varchar), checked_at
            from audit.quality_results where starts_with(suite, '{SUITE_PREFIX}')
            qualify row_number() over (partition by suite, expectation order by checked_at desc) = 1
            order by suite, expectation"""
        ).fetchall()
        return [
            FreshnessStatus(suite.removeprefix(SUITE_PREFIX), check, passed, json.loads(observed or "{}"), at)
            for suite, check, passed, observed, at in rows
            if (suite, check) in declared
        ]

    # ------------------------------------------------------------ the report's tables

    def load_log(self) -> list[dict[str, Any]]:
        """The latest row of every file (an attempt before an event recorded at the same time), with the
        rows of its load in the current quarantine."""
        if "load_log" not in self.columns:
            return []
        rows = self._rows(
            f"""select source_file, status, loaded_at, rows_loaded, rows_quarantined,
                   (select count(*) from {self._current_quarantine()} q where q.load_id = l.load_id)
                       as rows_quarantined_now,
                   coalesce(error, {self._col('load_log', 'note', 'l')}) as reason, load_id
            from audit.load_log l
            qualify row_number() over (partition by source_file order by loaded_at desc,
                case status when 'withdrawn' then 2 when 'loaded' then 0 when 'failed' then 0 else 1 end) = 1
            order by source_file"""
        )
        for row in rows:
            row["reason"] = row["reason"] and row["reason"].removeprefix(f"{row['source_file']}: ")
        return rows

    def quarantine_rows(self) -> int:
        if "quarantine" not in self.columns:
            return 0
        return self.con.execute(f"select count(*) from {self._current_quarantine()}").fetchone()[0]

    def quarantine_reasons(self) -> list[dict[str, Any]]:
        """Rows of the current quarantine per file and reason, the most frequent first."""
        if "quarantine" not in self.columns:
            return []
        return self._rows(
            f"""select source_file, rule, reason, count(*) as rows from {self._reasons()}
            group by all order by source_file, rows desc, reason"""
        )

    def quarantine_sample(self, limit: int) -> list[dict[str, Any]]:
        if "quarantine" not in self.columns:
            return []
        return self._rows(
            f"""select source_file, row_number, {self._col('quarantine', 'stage')} as stage, reason,
                   cast(record as varchar) as record
            from {self._current_quarantine()} order by source_file, row_number nulls last, reason limit {limit}"""
        )

    def runs(self, limit: int) -> list[dict[str, Any]]:
        """Per run of the checks, the latest first: when, how many suites, which expectations failed."""
        if "quality_results" not in self.columns:
            return []
        return self._rows(
            f"""with latest as (
                select * from audit.quality_results
                qualify row_number() over (partition by run_id, suite, expectation order by checked_at desc) = 1)
            select run_id, min(checked_at) as first_checked_at, max(checked_at) as last_checked_at,
                   count(distinct suite) as suites, count(*) as expectations,
                   count(*) filter (where not passed) as failed,
                   count(*) filter (where not passed and blocking) as blocking_failed,
                   coalesce(list(suite || ' / ' || expectation order by not blocking, suite, expectation)
                            filter (where not passed), []) as failures
            from latest group by run_id order by last_checked_at desc, run_id limit {limit}"""
        )


def _observed(value: Any) -> str:
    """An observed value as stored (JSON text) shown plainly: ``1 of 2 rows unexpected``, ``3``."""
    if value is None:
        return "no observed value"
    try:
        decoded = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return str(value)
    return decoded if isinstance(decoded, str) else json.dumps(decoded, ensure_ascii=False, default=str)


def _description(suite_name: str, expectation: str) -> str:
    for suite in SUITES:
        if suite.name == suite_name:
            return next((e.description for e in suite.expectations if e.name == expectation), "")
    return ""
