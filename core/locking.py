"""The single-writer lock of a DuckDB file, held by the operating system and telling who holds it.

DuckDB lets one process at a time open a file read-write. The pipeline therefore serializes its writers
with an ``flock`` on ``<database>.lock`` (through ``filelock``): a pipeline run holds it from its start to
its end, and every step, every loader called from a test and every ``dbt`` started by the pipeline takes
it again inside (re-entrant within one process). The kernel releases an ``flock`` when its process ends,
however it ends (SIGKILL, out of memory, power cut), so a dead run can never block the next one: there is
no lock state that outlives its process.

Next to the lock, ``<database>.lock.json`` says who holds it: run id, pid, what it is doing and since
when, and the child processes it started (dbt). A process that has to wait reads it to tell its user
whom it waits for, again every :data:`WAIT_REPORT_SECONDS`. A clean release removes it, so finding it
when the lock was free means its holder ended without releasing: the previous run was interrupted. The
acquirer is told which run and what it was doing, and the child processes the dead run left behind (a
``dbt build`` keeps running, and keeps the database open, after its parent is killed) are stopped first.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

import filelock
import psutil

from core.files import replace_text

logger = logging.getLogger(__name__)

#: How often a waiting process repeats that it is still waiting.
WAIT_REPORT_SECONDS = 10.0
#: How long a child process left by a dead run gets to stop after SIGTERM before it is killed.
CHILD_STOP_SECONDS = 5.0


@dataclass(frozen=True)
class Child:
    """A process started by the holder (dbt), identified beyond its pid by its start time."""

    pid: int
    started: float  # psutil create_time, so a reused pid is never taken for the child
    command: str

    def process(self) -> psutil.Process | None:
        """The running process, or None when it has ended (a zombie has: it holds no file any more) or its
        pid now belongs to another process."""
        try:
            process = psutil.Process(self.pid)
            same = abs(process.create_time() - self.started) < 0.01
            return process if same and process.is_running() and process.status() != psutil.STATUS_ZOMBIE else None
        except psutil.Error:
            return None


@dataclass(frozen=True)
class Holder:
    """Who holds the lock: written to ``<database>.lock.json`` when taken, updated as the work moves on."""

    pid: int
    host: str
    run_id: str | None
    activity: str  # what the holder is doing now: "dbt build", "publishing serving.duckdb", ...
    since: str  # when the lock was taken (local time, ISO 8601)
    children: tuple[Child, ...] = field(default=())

    def describe(self) -> str:
        run = f"run {self.run_id}" if self.run_id else "a process"
        return f"{run} (pid {self.pid} on {self.host}, since {self.since}), at: {self.activity}"

    @classmethod
    def read(cls, path: Path) -> Holder | None:
        """The holder recorded in ``path``; None when there is none (or it is unreadable: a torn write)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{**data, "children": tuple(Child(**c) for c in data.get("children", ()))})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as error:
            logger.warning("ignoring unreadable lock holder file %s: %s", path, error)
            return None

    def write(self, path: Path) -> None:
        """Replace ``path`` atomically, so a reader never sees half a holder."""
        replace_text(path, json.dumps(asdict(self), ensure_ascii=False))


class WriterLock:
    """The writer lock of one database file. Use :meth:`hold`; instances are cheap, state is per path."""

    # Re-entrancy is per process and path: filelock's singleton instances count nested acquisitions, and
    # the stack below remembers the activities to restore when a nested hold ends.
    _activities: dict[Path, list[str]] = {}
    _guard = threading.Lock()

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self.lock_path = self.db_path.with_name(self.db_path.name + ".lock")
        self.holder_path = self.db_path.with_name(self.db_path.name + ".lock.json")
        self._lock = filelock.FileLock(
            self.lock_path, is_singleton=True, thread_local=False, preserve_lock_file=True
        )

    def holder(self) -> Holder | None:
        return Holder.read(self.holder_path)

    @property
    def held_here(self) -> bool:
        """Whether this process holds the lock."""
        return self._lock.is_locked

    @contextmanager
    def hold(
        self,
        activity: str,
        *,
        run_id: str | None = None,
        on_wait: Callable[[str], None] | None = None,
        on_interrupted: Callable[[Holder], None] | None = None,
    ) -> Iterator[None]:
        """Hold the lock while doing ``activity``; waits (saying so through ``on_wait``) while another holds it.

        The outermost hold in a process takes the OS lock and records the holder; a nested hold records
        its activity, and its ``run_id`` when it gives one (`make run` executes several Dagster runs under
        one hold: the holder names the one in progress). ``on_interrupted`` is called with the holder of an interrupted previous run
        (after its left-over child processes were stopped).
        """
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._guard:
            outermost = not self._lock.is_locked
        if outermost:
            self._acquire(on_wait or _log_wait)
        try:
            with self._guard:
                stack = self._activities.setdefault(self.db_path, [])
                stack.append(activity)
            if outermost:
                previous = self.holder()
                if previous is not None:
                    stop_children(previous)
                    (on_interrupted or self._log_interrupted)(previous)
                since = datetime.now().isoformat(timespec="seconds")
                Holder(os.getpid(), socket.gethostname(), run_id, activity, since).write(self.holder_path)
            else:
                self._update(activity=activity, **({"run_id": run_id} if run_id else {}))
            try:
                yield
            finally:
                with self._guard:
                    stack.pop()
                if stack:
                    self._update(activity=stack[-1])
        finally:
            if outermost:
                # No child of this holder (a dbt still stopping after an interrupt) may keep the database
                # open once the next writer is let in.
                if (holder := self.holder()) is not None:
                    stop_children(holder)
                with suppress(FileNotFoundError):
                    self.holder_path.unlink()
                self._lock.release(force=True)

    def add_child(self, pid: int) -> None:
        """Record a process the holder started (it is stopped if the holder dies before it)."""
        with suppress(psutil.Error):
            process = psutil.Process(pid)
            child = Child(pid, process.create_time(), " ".join(process.cmdline()[:3]))
            holder = self.holder()
            if holder is not None:
                self._write(replace(holder, children=(*holder.children, child)))

    def _update(self, **changes) -> None:
        holder = self.holder()
        if holder is not None and holder.pid == os.getpid():
            self._write(replace(holder, **changes))

    def _write(self, holder: Holder) -> None:
        holder.write(self.holder_path)

    def _log_interrupted(self, holder: Holder) -> None:
        logger.warning("the previous writer of %s was interrupted: %s", self.db_path, holder.describe())

    def _acquire(self, on_wait: Callable[[str], None]) -> None:
        started = time.monotonic()
        try:
            self._lock.acquire(timeout=0)
            return
        except filelock.Timeout:
            pass
        while True:
            holder = self.holder()
            whom = holder.describe() if holder else f"another process (see {self.lock_path})"
            waited = time.monotonic() - started
            on_wait(
                f"waiting for the warehouse writer lock on {self.db_path}: held by {whom}"
                + (f"; waited {waited:.0f} s" if waited >= 1 else "")
            )
            try:
                self._lock.acquire(timeout=WAIT_REPORT_SECONDS)
                return
            except filelock.Timeout:
                continue


def stop_children(holder: Holder) -> list[Child]:
    """Stop the child processes a dead holder left running (SIGTERM, then SIGKILL); returns those stopped."""
    stopped = []
    for child in holder.children:
        process = child.process()
        if process is None:
            continue
        logger.warning("stopping %s (pid %d), left running by interrupted %s", child.command, child.pid, holder.describe())
        with suppress(psutil.Error):
            process.terminate()
            try:
                process.wait(CHILD_STOP_SECONDS)
            except psutil.TimeoutExpired:
                process.kill()
                process.wait(CHILD_STOP_SECONDS)
        stopped.append(child)
    return stopped


def _log_wait(message: str) -> None:
    logger.warning(message)
