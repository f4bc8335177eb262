"""The load audit every loader shares: ``audit.load_log`` (one row per file and attempt),
``audit.quarantine`` (the rows that could not be used) and the transaction that loads one file.

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
import pyarrow as pa

AUDIT_DDL = """
create schema if not exists audit;
create table if not exists audit.load_log (
    load_id          varchar   not null,  -- one per file and attempt; withdrawn/restored rows repeat the load's
    source_file      varchar   not null,  -- path relative to LANDING_DIR
    sha256           varchar,             -- of the file's bytes; null when it could not be read
    format           varchar,
    release_date     date,
    rows_loaded      bigint    not null,
    rows_quarantined bigint    not null,
    status           varchar   not null,  -- loaded | failed | duplicate | withdrawn | restored
    error            varchar,
    loaded_at        timestamp not null,
    kind             varchar,             -- the landing folder: releases | enterprise
    sidecar_sha256   varchar,             -- releases: of the .meta.yml bytes
    note             varchar              -- duplicate/withdrawn/restored: what happened
);
create table if not exists audit.quarantine (
    load_id        varchar   not null,
    source_file    varchar   not null,
    row_number     bigint,              -- 1-based line or row in the file (JSON: 1-based datanode)
    reason         varchar   not null,
    record         json      not null,  -- the raw record as received
    quarantined_at timestamp not null,
    stage          varchar   default 'load'  -- load (written once, by the loader) | mapping (rebuilt every run)
);
-- build databases made before these columns existed
alter table audit.load_log add column if not exists kind varchar;
alter table audit.load_log add column if not exists sidecar_sha256 varchar;
alter table audit.load_log add column if not exists note varchar;
alter table audit.quarantine add column if not exists stage varchar default 'load';
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
    kind: str | None = None  # the landing folder: releases | enterprise
    sidecar_sha256: str | None = None
    note: str | None = None  # duplicate/withdrawn/restored: what happened, for the user

    def fail(self, error: str) -> LoadAttempt:
        self.status, self.error, self.rows_loaded, self.rows_quarantined = "failed", error, 0, 0
        return self


LOAD_LOG_COLUMNS = (
    "load_id", "source_file", "sha256", "format", "release_date", "rows_loaded", "rows_quarantined", "status",
    "error", "loaded_at", "kind", "sidecar_sha256", "note",
)


def record_attempt(con: duckdb.DuckDBPyConnection, attempt: LoadAttempt) -> None:
    con.execute(
        f"insert into audit.load_log ({', '.join(LOAD_LOG_COLUMNS)}) values ({', '.join('?' for _ in LOAD_LOG_COLUMNS)})",
        [
            attempt.load_id,
            attempt.source_file,
            attempt.sha256,
            attempt.format,
            attempt.release_date,
            attempt.rows_loaded,
            attempt.rows_quarantined,
            attempt.status,
            attempt.error,
            attempt.loaded_at,
            attempt.kind,
            attempt.sidecar_sha256,
            attempt.note,
        ],
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
    batch = pa.table(
        {
            "load_id": pa.array([load_id for load_id, _, _ in rows], pa.string()),
            "source_file": pa.array([source_file for _, source_file, _ in rows], pa.string()),
            "row_number": pa.array([r.row_number for _, _, r in rows], pa.int64()),
            "reason": pa.array([r.reason for _, _, r in rows], pa.string()),
            "record": pa.array([json.dumps(r.record, ensure_ascii=False, default=str) for _, _, r in rows], pa.string()),
        }
    )
    con.register("_quarantine_batch", batch)
    try:
        con.execute(
            """insert into audit.quarantine (load_id, source_file, row_number, reason, record, quarantined_at, stage)
            select load_id, source_file, row_number, reason, record::json, ?, ? from _quarantine_batch""",
            [quarantined_at, stage],
        )
    finally:
        con.unregister("_quarantine_batch")
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
