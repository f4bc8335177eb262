"""Dagster's SQLite storage, with the event log's connections kept open (configured in dagster.yaml).

The stock ``SqliteEventLogStorage`` creates a SQLAlchemy engine, opens a connection, commits with an fsync
and disposes of the engine for every event it stores, and creates one more engine to ask whether a table
exists for every asset check event. A run of ``warehouse_job`` stores over a thousand events (a planned
event and an evaluation per dbt test and check): in a full run on the shipped data that bookkeeping held
the thread that runs the steps for about 14 s, mostly waiting for the disk.

``KeptOpenSqliteEventLogStorage`` keeps one connection per database file (the index and the last few
runs' files) and commits in SQLite's WAL mode, which Dagster already uses, with ``synchronous=NORMAL``:
a commit is written to the write-ahead log without waiting for the disk. A process that is killed loses
nothing it committed (the log is in the operating system's cache); a power cut may lose the last events
of a run, never the file. The files and their layout under DAGSTER_HOME are Dagster's own, so the
webserver, the daemon and ``dagster`` commands read them as usual.
"""

from __future__ import annotations

import atexit
import os
import shutil
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa
import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy.pool import StaticPool

#: The instance configuration `make run` and `make dev` copy into DAGSTER_HOME (make dagster-home).
DAGSTER_YAML = Path(__file__).with_name("dagster.yaml")
#: Database files kept open at once: the index and the runs most recently written or read.
OPEN_FILES = 8
#: How long closing the files at the process's exit waits for a thread that is writing an event.
CLOSE_WAIT_SECONDS = 5.0
#: The storages of this process, whose files are closed when it exits: SQLite then moves the write-ahead
#: log into the database file and removes it, as when the stock storage closes its connections.
_STORAGES: weakref.WeakSet[KeptOpenSqliteEventLogStorage] = weakref.WeakSet()


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with a connection kept open per database file (see the module)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._tables_seen: set[str] = set()
        super().__init__(base_dir, inst_data)
        _STORAGES.add(self)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> KeptOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine(self, shard: str) -> sa.Engine:
        if self._engines_pid != os.getpid():  # a forked child opens connections of its own
            self._engines, self._engines_pid = OrderedDict(), os.getpid()
        if shard in self._engines:
            self._engines.move_to_end(shard)
            return self._engines[shard]
        engine = sa.create_engine(
            self.conn_string_for_shard(shard),
            poolclass=StaticPool,  # one connection, used under self._db_lock by one thread at a time
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        sa.event.listen(engine, "connect", _commit_without_waiting_for_the_disk)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_FILES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def has_table(self, table_name: str) -> bool:
        # asked for every asset check event; a table, once there, stays
        if table_name not in self._tables_seen and super().has_table(table_name):
            self._tables_seen.add(table_name)
        return table_name in self._tables_seen

    def _close_files(self, wait: float = -1) -> None:
        if not self._db_lock.acquire(timeout=wait):
            return  # a thread still writes (at exit): its files stay open, SQLite recovers their log
        try:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        finally:
            self._db_lock.release()

    def wipe(self) -> None:
        self._close_files()  # before the run files are deleted
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._close_files()


@atexit.register
def _close_files_at_exit() -> None:
    for storage in list(_STORAGES):
        storage._close_files(wait=CLOSE_WAIT_SECONDS)


def _commit_without_waiting_for_the_disk(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class KeptOpenSqliteStorage(DagsterSqliteStorage):
    """Dagster's default storage (runs, schedules and event logs in SQLite files under ``base_dir``), with
    ``KeptOpenSqliteEventLogStorage`` for the event logs."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data)
        # the stock event log storage the parent made has opened nothing: replaced before first use
        self._event_log_storage = KeptOpenSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> KeptOpenSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    @property
    def event_storage_data(self) -> ConfigurableClassData:
        return ConfigurableClassData(
            __name__,
            KeptOpenSqliteEventLogStorage.__name__,
            yaml.dump({"base_dir": _event_logs_directory(self.base_dir)}, default_flow_style=False),
        )


def prepare_dagster_home(dagster_home: Path) -> Path:
    """``dagster_home`` with this project's dagster.yaml in it, as `make run` prepares DAGSTER_HOME."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy2(DAGSTER_YAML, dagster_home / "dagster.yaml")
    return dagster_home


@contextmanager
def open_instance(dagster_home: Path) -> Iterator[dg.DagsterInstance]:
    """The Dagster instance of ``dagster_home`` opened from a process whose DAGSTER_HOME is another (the
    configuration finds its files through DAGSTER_HOME, which is set while it loads)."""
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        instance = dg.DagsterInstance.get()
    finally:
        if before is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = before
    with instance:
        yield instance
