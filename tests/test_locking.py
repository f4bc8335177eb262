"""The writer lock's record of the processes its holder started (core.locking)."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from core.locking import Child


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
