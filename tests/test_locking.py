"""The writer lock's record of its holder and of the processes it started (core.locking)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import psutil

from core.locking import Child, Holder, WriterLock


def test_a_child_that_has_ended_is_not_taken_for_a_running_one():
    """A child that ended and was not reaped yet (a zombie: it holds no file any more) is not running, nor
    is a pid that now belongs to another process; a running child is."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    child = Child(process.pid, psutil.Process(process.pid).create_time(), "python")
    assert child.process() is not None
    assert Child(process.pid, child.started - 10, "python").process() is None
    assert process.stdin is not None
    process.stdin.close()
    deadline = time.monotonic() + 10
    while psutil.Process(process.pid).status() != psutil.STATUS_ZOMBIE:  # ended, not reaped: its pid remains
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert child.process() is None
    process.wait()


def test_a_writer_that_died_holding_the_lock_is_named_with_the_file_it_was_writing(tmp_path, caplog):
    """Several files are published at once, each under its own lock: the warning says which one's writer died
    (the holder record a SIGKILL leaves behind), and the next holder's record replaces it."""
    db_path = tmp_path / "restricted" / "serving.duckdb"
    lock = WriterLock(db_path)
    db_path.parent.mkdir()
    Holder(999_999_999, "vm", "run-1", "publishing", "2026-12-04T00:07:44").write(lock.holder_path)
    with caplog.at_level(logging.WARNING, logger="core.locking"), lock.hold("publishing"):
        assert lock.holder().pid == os.getpid()
    assert caplog.messages == [
        f"the previous writer of {db_path} was interrupted: run run-1 (pid 999999999 on vm, since "
        "2026-12-04T00:07:44), at: publishing"
    ]
    assert not lock.holder_path.exists()
