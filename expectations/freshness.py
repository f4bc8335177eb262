"""Data freshness: is the latest period of each input as recent as its publication calendar says it
should be on the reporting date?

``publication_calendar.csv`` (next to this module) declares, per input (``releases``,
``enterprise_submissions``, ``registers``) and frequency, how many days after a period's end its data is
due, and why. On a reporting date the latest period *due* is the last one whose due date has passed; the
input is on time when a period at least as recent is loaded (in a current load: withdrawn files do not
count), else the period after the latest loaded one is overdue since its due date. Nothing loaded at all
is overdue too.

The periods are read from the raw tables (no dbt model is needed, so the check can run right after the
loaders): the periods of the submissions, the periods of the release cells that carry a figure (parsed
with :func:`core.periods.parse_period`), and the years of the register's recognition and revocation dates.

Overdue data is a warning, never a reason to stop publishing. The results are recorded in
``audit.quality_results`` as suites ``freshness.<input>`` (:func:`as_suite_results`), which the run summary
and the quality report read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from core.periods import Period, PeriodError, parse_period
from expectations.results import ExpectationOutcome, SuiteResult

CALENDAR_PATH = Path(__file__).resolve().parent / "publication_calendar.csv"
#: Suites of the freshness results in ``audit.quality_results``: ``freshness.<input>``.
SUITE_PREFIX = "freshness."

#: Frequencies of the calendar, as spelled there, and their :class:`Period` codes and nouns.
FREQUENCIES = {"annual": ("A", "year"), "quarterly": ("Q", "quarter"), "monthly": ("M", "month")}

_CURRENT = "load_id in (select load_id from audit.current_loads)"


class Source(NamedTuple):
    """An input of the calendar: its raw table, its landing folder and a query listing the period labels
    of its current loads."""

    table: str
    landing_folder: str
    periods_sql: str


SOURCES: dict[str, Source] = {
    "releases": Source(
        "raw.release_observations",
        "releases",
        f"select distinct period_raw from raw.release_observations where value_raw is not null and {_CURRENT}",
    ),
    "enterprise_submissions": Source(
        "raw.enterprise_submissions",
        "enterprise",
        f"select distinct period from raw.enterprise_submissions where {_CURRENT}",
    ),
    "registers": Source(
        "raw.register_records",
        "registers",
        "select distinct cast(year(day) as varchar) from (select recognized_on as day from raw.register_records"
        f" where {_CURRENT} union all select revoked_on from raw.register_records where {_CURRENT}) where day is not null",
    ),
}


@dataclass(frozen=True)
class Deadline:
    """One row of the publication calendar: the data of each ``frequency`` period of ``source`` is due
    ``due_days`` after the period's end."""

    source: str
    frequency: str  # annual | quarterly | monthly
    due_days: int
    what: str  # e.g. "the SOE submissions of a quarter"
    basis: str  # where the deadline comes from

    @property
    def period_code(self) -> str:
        return FREQUENCIES[self.frequency][0]

    @property
    def period_noun(self) -> str:
        return FREQUENCIES[self.frequency][1]

    @property
    def asset_key(self) -> tuple[str, str]:
        """The Dagster asset that loads the input."""
        return ("raw", self.source)

    @property
    def check_name(self) -> str:
        return f"data_freshness_{self.frequency}"

    @property
    def rule(self) -> str:
        return f"{self.what} due {self.due_days} days after its end"

    def due_date(self, period: Period) -> date:
        return period.end + timedelta(days=self.due_days)

    def latest_due(self, day: date) -> Period:
        """The most recent period whose data was due on or before ``day``."""
        period = Period.containing(day, self.period_code)
        while self.due_date(period) > day:
            period = period.shift(-1)
        return period


@cache
def publication_calendar(path: Path = CALENDAR_PATH) -> tuple[Deadline, ...]:
    """The deadlines of ``publication_calendar.csv``, checked: a known input and frequency, a whole number
    of days, one row per input and frequency."""
    deadlines: list[Deadline] = []
    with open(path, encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path.name}:{line}"
            if row["source"] not in SOURCES:
                raise ValueError(f"{where}: source {row['source']!r} is not one of {sorted(SOURCES)}")
            if row["frequency"] not in FREQUENCIES:
                raise ValueError(f"{where}: frequency {row['frequency']!r} is not one of {sorted(FREQUENCIES)}")
            try:
                days = int(row["due_days_after_period_end"])
            except ValueError:
                raise ValueError(f"{where}: due_days_after_period_end {row['due_days_after_period_end']!r} "
                                 "is not a whole number of days") from None
            deadline = Deadline(row["source"], row["frequency"], days, row["what"], row["basis"])
            if any((d.source, d.frequency) == (deadline.source, deadline.frequency) for d in deadlines):
                raise ValueError(f"{where}: {deadline.source} {deadline.frequency} is declared twice")
            deadlines.append(deadline)
    return tuple(deadlines)


@dataclass(frozen=True)
class DataFreshness:
    """How recent one input's data of one frequency is on the reporting date."""

    deadline: Deadline
    reporting_date: date
    latest: Period | None  # the latest period loaded, None when nothing is

    @property
    def due(self) -> Period:
        """The latest period due by the reporting date."""
        return self.deadline.latest_due(self.reporting_date)

    @property
    def on_time(self) -> bool:
        return self.latest is not None and self.latest.steps_to(self.due) <= 0

    @property
    def overdue_period(self) -> Period | None:
        """The first period due and not loaded."""
        if self.on_time:
            return None
        return self.latest.shift(1) if self.latest else self.due

    @property
    def overdue_since(self) -> date | None:
        return self.deadline.due_date(self.overdue_period) if self.overdue_period else None

    @property
    def periods_overdue(self) -> int | None:
        """Periods due and not loaded after the latest one (None when nothing is loaded)."""
        if self.latest is None:
            return None
        return max(self.latest.steps_to(self.due), 0)

    @property
    def message(self) -> str:
        rule, due = self.deadline.rule, self.due
        if self.latest is None:
            return (f"nothing loaded: {rule}; {due} was due on {self.deadline.due_date(due)} "
                    f"(reporting date {self.reporting_date})")
        if self.on_time:
            return (f"on time: loaded up to {self.latest}; the latest {self.deadline.period_noun} due by "
                    f"{self.reporting_date} is {due} (due {self.deadline.due_date(due)})")
        days = (self.reporting_date - self.overdue_since).days
        missing = self.periods_overdue
        more = f", {missing} {self.deadline.period_noun}s missing up to {due}" if missing > 1 else ""
        return (f"{self.overdue_period} overdue since {self.overdue_since} ({days} days, reporting date "
                f"{self.reporting_date}): {rule}; loaded up to {self.latest}{more}")

    def observed(self) -> dict[str, Any]:
        """What the check observed: recorded in ``audit.quality_results`` and shown as check metadata."""
        return {
            "message": self.message,
            "latest_period": str(self.latest) if self.latest else None,
            "due_period": str(self.due),
            "due_on": self.deadline.due_date(self.due).isoformat(),
            "overdue_period": str(self.overdue_period) if self.overdue_period else None,
            "overdue_since": self.overdue_since.isoformat() if self.overdue_since else None,
            "periods_overdue": self.periods_overdue,
            "reporting_date": self.reporting_date.isoformat(),
            "rule": self.deadline.rule,
        }


def latest_periods(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, Period]:
    """The latest period of each frequency (``A``, ``Q``, ``M``) in the current loads of ``source``; an
    absent table (the input was never loaded) has none. Labels that are not periods are left out: the
    loaders and the mapping quarantine them."""
    table, _, query = SOURCES[source]
    schema, name = table.split(".")
    present = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, name]
    ).fetchone()[0]
    latest: dict[str, Period] = {}
    if not present:
        return latest
    for (label,) in con.execute(query).fetchall():
        try:
            period = parse_period(label)
        except PeriodError:
            continue
        current = latest.get(period.frequency)
        if current is None or current.steps_to(period) > 0:
            latest[period.frequency] = period
    return latest


def assess(
    con: duckdb.DuckDBPyConnection, reporting_date: date, calendar: tuple[Deadline, ...] | None = None
) -> list[DataFreshness]:
    """The freshness of every input and frequency of the calendar on ``reporting_date``."""
    calendar = publication_calendar() if calendar is None else calendar
    periods = {source: latest_periods(con, source) for source in {d.source for d in calendar}}
    return [DataFreshness(d, reporting_date, periods[d.source].get(d.period_code)) for d in calendar]


def as_suite_results(assessments: list[DataFreshness], checked_at: datetime) -> list[SuiteResult]:
    """The assessments as one suite result per input (``freshness.<input>``), severity warn, never
    blocking; ``unexpected_count`` is the number of periods overdue."""
    by_source: dict[str, list[ExpectationOutcome]] = {}
    for item in assessments:
        by_source.setdefault(item.deadline.source, []).append(ExpectationOutcome(
            name=item.deadline.check_name,
            passed=item.on_time,
            severity="warn",
            blocking=False,
            observed_value=item.observed(),
            unexpected_count=None if item.on_time else item.periods_overdue,
            description=f"The latest {item.deadline.period_noun} due is loaded: {item.deadline.rule}.",
        ))
    return [SuiteResult(SUITE_PREFIX + source, SOURCES[source].table, tuple(outcomes), checked_at)
            for source, outcomes in by_source.items()]
