"""`make run` as a user runs it: `python -m orchestration.run` in its own process, its output read as it
comes, to be stopped or killed at a chosen step."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core import settings
from orchestration.storage import prepare_dagster_home


def step_started(step_key: str) -> str:
    """The DEBUG log line pattern of a step starting (the run logs at DEBUG in these tests)."""
    return rf'STEP_START - Started execution of step "{re.escape(step_key)}'


class PipelineProcess:
    """One `make run` (without the install) over ``landing`` into ``warehouse``, with the code of ``repo``
    (the repository by default)."""

    def __init__(
        self, landing: Path, warehouse: Path, dagster_home: Path | None = None, repo: Path | None = None, **env: str
    ):
        dagster_home = prepare_dagster_home(dagster_home or warehouse.parent / f"{warehouse.name}_dagster_home")
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestration.run"],
            cwd=repo or settings.REPO_ROOT,
            env={
                **os.environ,
                "LANDING_DIR": str(landing),
                "WAREHOUSE_DIR": str(warehouse),
                "DAGSTER_HOME": str(dagster_home),
                "LOG_LEVEL": "DEBUG",
                **({"PYTHONPATH": str(repo)} if repo else {}),
                **env,
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 300) -> str:
        """The first output line matching ``pattern``; fails if the process ends or time runs out first."""
        regex, deadline, seen = re.compile(pattern), time.monotonic() + timeout, 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if regex.search(line):
                        return line
                seen = len(self.lines)
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"the run ended without printing {pattern!r}:\n{self.output[-4000:]}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {pattern!r} within {timeout} s:\n{self.output[-4000:]}")
                self._changed.wait(1)

    def count(self, pattern: str) -> int:
        regex = re.compile(pattern)
        return sum(1 for line in self.lines if regex.search(line))

    def signal(self, signum: int) -> float:
        """Send ``signum``; returns when it was sent (monotonic)."""
        self.process.send_signal(signum)
        return time.monotonic()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = 600) -> int:
        """Wait for the process to end and its output to be read; returns its exit status."""
        code = self.process.wait(timeout)
        self._reader.join(30)
        self.elapsed = time.monotonic() - self.started
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def run_id(self) -> str:
        """The id of the last Dagster run the process started (an ingest run, then warehouse_job), from the
        log: the run in progress when the process was stopped, the one that publishes when it finished."""
        run_line = r"dagster - \w+ - (?:warehouse_job|ingest_\w+) - ([0-9a-f-]{36})"
        self.wait_for(run_line)
        return re.findall(run_line, self.output)[-1]
