"""The build database: connections and the single-writer lock every step shares.

Only the pipeline opens ``warehouse.duckdb``, and only one writer at a time: a run holds the OS writer
lock of :mod:`core.locking` from start to end and every writer takes it again inside
(:func:`writer_lock`), so a second process (a second run, a test, dbt started by hand) waits, saying for
whom, instead of failing with DuckDB's "Could not set lock on file". The load audit tables the loaders
share are :mod:`ingestion.audit`'s. A writer's large temporary files go in a :func:`scratch_folder` next
to the database file.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from core import settings
from core.locking import WriterLock

logger = logging.getLogger(__name__)

#: Settings for every connection the project opens (and for dbt, in profiles.yml).
CONNECTION_CONFIG: dict[str, Any] = {
    "memory_limit": "4GB",
    "threads": 2,
}
#: Session settings DuckDB 1.5 refuses in ``config=`` ("Could not set option ... as a global option");
#: run on every new connection instead.
SESSION_SETUP = "set enable_progress_bar = false"


def connect(path: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB database (the build database by default) with the project's settings."""
    path = path or settings.warehouse_db_path()
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only, config=CONNECTION_CONFIG)
    con.execute(SESSION_SETUP)
    return con


@contextmanager
def writer_lock(db_path: Path | None = None, activity: str = "writing") -> Iterator[None]:
    """Hold the writer lock of a database file (the build database by default) while doing ``activity``.

    Waits while another process holds it, saying whom it waits for; re-entrant within a process
    (see :mod:`core.locking`).
    """
    with WriterLock(db_path or settings.warehouse_db_path()).hold(activity):
        yield


@contextmanager
def write_connection(
    db_path: Path | None = None, activity: str = "writing", *, setup: str | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection under the writer lock, closed on exit; ``setup`` (SQL, e.g. the DDL of the
    tables the caller needs) is run first."""
    db_path = db_path or settings.warehouse_db_path()
    with writer_lock(db_path, activity):
        con = connect(db_path)
        try:
            if setup:
                con.execute(setup)
            yield con
        finally:
            con.close()


def is_lock_conflict(error: duckdb.Error) -> bool:
    """Whether DuckDB could not open a file because another process holds it open read-write."""
    return "Could not set lock on file" in str(error)


def unopenable(db_path: Path | None = None) -> str | None:
    """Why the build database cannot be opened (not a DuckDB file, damaged, written by a newer DuckDB, held
    read-write by another program), as one line saying what to do; None when it opens or does not exist
    yet. Opens it read-only: call it with no read-write connection to it open in this process."""
    db_path = db_path or settings.warehouse_db_path()
    if not db_path.exists():
        return None
    try:
        connect(db_path, read_only=True).close()
    except duckdb.Error as error:
        problem = str(error).strip().splitlines()[0]
        if is_lock_conflict(error):
            todo = "close the program that holds it open and run again"
        else:
            todo = (
                "restore it from a backup, or move it away and run again to build it anew from the landing folder "
                "(its load log and release vintages then start from that run)"
            )
        return f"the build database {db_path} cannot be opened ({problem}); nothing was changed: {todo}"
    return None


#: What a scratch folder's name carries between its database file's name and the pid of its process.
SCRATCH_MARK = ".scratch-"


@contextmanager
def scratch_folder(con: duckdb.DuckDBPyConnection) -> Iterator[Path]:
    """A folder for the large temporary files of a writer of ``con``'s database (a load's copy of a CSV),
    removed on exit: ``<database file>.scratch-<pid>``, next to the file like DuckDB's own spill folder
    (``<database file>.tmp``), on the disk that has room for the warehouse rather than in a system
    temporary folder that may be small or held in memory.

    The scratch folders of that database that other processes left (a load that was killed) are removed
    first: ``con`` holds the database file read-write, which no other process can do at the same time. A
    database in memory gets its folder in the system's temporary folder."""
    (path,) = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    if path is None:
        with tempfile.TemporaryDirectory(prefix="warehouse-scratch-") as folder:
            yield Path(folder)
        return
    database = Path(path)
    for leftover in sorted(database.parent.glob(f"{glob.escape(database.name)}{SCRATCH_MARK}*")):
        logger.warning("removing %s, left by an interrupted load", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    folder = database.with_name(f"{database.name}{SCRATCH_MARK}{os.getpid()}")
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
