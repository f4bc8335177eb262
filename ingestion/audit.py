"""The load audit every loader shares: ``audit.load_log`` (one row per file and attempt),
``audit.quarantine`` (the rows that could not be used) and the transaction that loads one file.

Both tables are declared once (:class:`~ingestion.tables.Table`), the columns added after their first
release too: :data:`AUDIT_DDL` creates them, or adds those columns to a build database made before.
Connections and the writer lock are :mod:`core.warehouse`'s; a connection that writes loads runs
:data:`AUDIT_DDL` first (``write_connection(..., setup=AUDIT_DDL)``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from ingestion.tables import Column, Table, tables_ddl

LOAD_LOG = Table("audit.load_log", (
    Column("load_id", "varchar", "one per file and attempt; withdrawn/restored rows repeat the load's", not_null=True),
    Column("source_file", "varchar", "path relative to LANDING_DIR", not_null=True),
    Column("sha256", "varchar", "of the file's bytes; null when it could not be read"),
    Column("format", "varchar"),
    Column("release_date", "date"),
    Column("rows_loaded", "bigint", not_null=True),
    Column("rows_quarantined", "bigint", not_null=True),
    Column("status", "varchar", "loaded | failed | duplicate | withdrawn | restored", not_null=True),
    Column("error", "varchar"),
    Column("loaded_at", "timestamp", not_null=True),
    Column("kind", "varchar", "the landing folder: releases | enterprise | registers", added_later=True),
    Column("sidecar_sha256", "varchar", "releases: of the .meta.yml bytes", added_later=True),
    Column("note", "varchar", "duplicate/withdrawn/restored: what happened", added_later=True),
))

QUARANTINE = Table("audit.quarantine", (
    Column("load_id", "varchar", not_null=True),
    Column("source_file", "varchar", not_null=True),
    Column("row_number", "bigint", "1-based line or row in the file (JSON: 1-based datanode)"),
    Column("reason", "varchar", not_null=True),
    Column("record", "json", "the raw record as received", not_null=True),
    Column("quarantined_at", "timestamp", not_null=True),
    Column(
        "stage", "varchar", "load (written once, by the loader) | mapping (rebuilt every run)",
        default="'load'", added_later=True,
    ),
))

#: The view of the loads that are current (not withdrawn), of every kind (created by :data:`AUDIT_DDL`).
CURRENT_LOADS = "audit.current_loads"

AUDIT_DDL = tables_ddl(LOAD_LOG, QUARANTINE) + """\
-- load_log rows of build databases made before kind existed: their landing folder
update audit.load_log set kind = split_part(source_file, '/', 1) where kind is null;
-- A load is current while the latest of its loaded/withdrawn/restored rows is not 'withdrawn'.
create or replace view audit.current_loads as
with events as (
    select load_id, status
    from audit.load_log
    where status in ('loaded', 'withdrawn', 'restored')
    qualify row_number() over (
        partition by load_id order by loaded_at desc, case status when 'loaded' then 0 else 1 end desc
    ) = 1
)
select l.load_id, l.kind, l.source_file, l.sha256, l.sidecar_sha256, l.format, l.release_date, l.loaded_at
from audit.load_log l
semi join events e on e.load_id = l.load_id and e.status <> 'withdrawn'
where l.status = 'loaded';
-- The current loads of each kind, in the unpublished raw schema: each is written only by its kind's loader
-- (its raw asset in Dagster), so the dbt models of one kind do not depend on the loads of the others.
create schema if not exists raw;
create or replace view raw.release_current_loads as select * from audit.current_loads where kind = 'releases';
create or replace view raw.enterprise_current_loads as select * from audit.current_loads where kind = 'enterprise';
create or replace view raw.register_current_loads as select * from audit.current_loads where kind = 'registers';
"""


def new_load_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class QuarantinedRow:
    """A row that could not be used: where it was, why, and what it said."""

    row_number: int | None
    reason: str
    record: dict[str, Any]


@dataclass
class LoadAttempt:
    """One attempt at one file: the row that goes into ``audit.load_log``."""

    source_file: str
    format: str | None = None
    sha256: str | None = None
    release_date: date | None = None
    load_id: str = field(default_factory=new_load_id)
    rows_loaded: int = 0
    rows_quarantined: int = 0
    status: str = "loaded"  # loaded | failed | duplicate | withdrawn | restored
    error: str | None = None
    loaded_at: datetime = field(default_factory=datetime.now)
    kind: str | None = None  # the landing folder: releases | enterprise | registers
    sidecar_sha256: str | None = None
    note: str | None = None  # duplicate/withdrawn/restored: what happened, for the user

    def fail(self, error: str) -> LoadAttempt:
        self.status, self.error, self.rows_loaded, self.rows_quarantined = "failed", error, 0, 0
        return self


def record_attempt(con: duckdb.DuckDBPyConnection, attempt: LoadAttempt) -> None:
    """Insert the attempt's row (its fields are the columns of ``audit.load_log``)."""
    columns = LOAD_LOG.column_names
    con.execute(
        f"insert into audit.load_log ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
        [getattr(attempt, name) for name in columns],
    )


@contextmanager
def file_transaction(
    con: duckdb.DuckDBPyConnection, attempt: LoadAttempt, describe_failure: Callable[[Exception], str | None]
) -> Iterator[None]:
    """Load one file in one transaction and record its attempt in ``audit.load_log``.

    On an error inside the block the transaction is rolled back (nothing of the file stays, nothing loaded
    before is touched) and the attempt is recorded as failed with ``describe_failure(error)``; an error for
    which it returns None is not a file failure and propagates. Check ``attempt.status`` after the block.
    """
    con.execute("begin transaction")
    try:
        yield
        record_attempt(con, attempt)
        con.execute("commit")
    except Exception as error:
        con.execute("rollback")
        record_failure(con, attempt, describe_failure, error)


def record_failure(
    con: duckdb.DuckDBPyConnection,
    attempt: LoadAttempt,
    describe_failure: Callable[[Exception], str | None],
    error: Exception,
) -> None:
    """Record ``attempt`` as failed with ``describe_failure(error)`` (outside any transaction); an error for
    which it returns None is not a file failure and is raised again."""
    message = describe_failure(error)
    if message is None:
        raise error
    record_attempt(con, attempt.fail(message))


def record_quarantine(
    con: duckdb.DuckDBPyConnection, attempt: LoadAttempt, rows: Iterable[QuarantinedRow]
) -> int:
    """Insert the quarantined rows of one attempt (stage ``load``) in one batch; returns how many."""
    return insert_quarantine(con, [(attempt.load_id, attempt.source_file, row) for row in rows], "load", attempt.loaded_at)


def insert_quarantine(
    con: duckdb.DuckDBPyConnection,
    rows: Sequence[tuple[str, str, QuarantinedRow]],
    stage: str,
    quarantined_at: datetime,
) -> int:
    """Insert ``(load_id, source_file, row)`` triples into ``audit.quarantine`` in one batch; returns how many."""
    if not rows:
        return 0
    QUARANTINE.insert(con, {
        "load_id": [load_id for load_id, _, _ in rows],
        "source_file": [source_file for _, source_file, _ in rows],
        "row_number": [r.row_number for _, _, r in rows],
        "reason": [r.reason for _, _, r in rows],
        "record": [json.dumps(r.record, ensure_ascii=False, default=str) for _, _, r in rows],
        "quarantined_at": [quarantined_at] * len(rows),
        "stage": [stage] * len(rows),
    })
    return len(rows)


@dataclass
class LoadSummary:
    """What one loader run did, for asset metadata and logs."""

    attempts: list[LoadAttempt] = field(default_factory=list)
    files_skipped: int = 0  # content already loaded (unchanged, duplicate or restored): not loaded again
    events: list[LoadAttempt] = field(default_factory=list)  # the duplicate/withdrawn/restored rows recorded

    @property
    def files_loaded(self) -> int:
        return sum(a.status == "loaded" for a in self.attempts)

    @property
    def files_failed(self) -> int:
        return sum(a.status == "failed" for a in self.attempts)

    @property
    def rows_loaded(self) -> int:
        return sum(a.rows_loaded for a in self.attempts)

    @property
    def rows_quarantined(self) -> int:
        return sum(a.rows_quarantined for a in self.attempts)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "files_loaded": self.files_loaded,
            "files_skipped": self.files_skipped,
            "files_failed": self.files_failed,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "errors": [f"{a.source_file}: {a.error}" for a in self.attempts if a.status == "failed"],
            "events": [f"{e.status} {e.source_file}: {e.note}" for e in self.events],
        }
