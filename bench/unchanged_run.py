"""Benchmark: `make run` with nothing changed against a full run.

``python -m bench.unchanged_run [--rounds 2]``

On a copy of the shipped landing data, in a new warehouse under ``bench/out/unchanged_run/``, each run is
`make run`'s own process (``python -m orchestration.run``, with the environment the Makefile sets):

1. a first run into the new warehouse: builds and publishes everything;
2. then, ``--rounds`` times: a run with nothing changed (builds nothing), and a forced full run
   (``WAREHOUSE_FORCE_REBUILD=1``: what every `make run` without new files did before), alternating.

Each run's wall seconds, CPU seconds (the process and its children, dbt included) and the seconds of
pipeline work after start-up (what the run prints: from its ``main()`` to its last line, the imports
before it not counted) are measured in this one process; start-up alone (``import orchestration.run``
in a fresh interpreter) is measured too. Prints every figure and the ratios of the nothing-changed run to
the full run of the same round.

Targets (issue 12): with nothing changed, at most 0.3x a full run, and at most 10 s of pipeline work
after start-up.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core.settings import REPO_ROOT
from orchestration.storage import prepare_dagster_home

DEFAULT_OUT = REPO_ROOT / "bench" / "out"
#: The run's last line: "run <id> succeeded in 54.1 s" or "run <id> built nothing in 0.9 s: ..."
_LAST_LINE = re.compile(r"^run [0-9a-f-]{36} (succeeded|FAILED|built nothing) in ([\d.]+) s", re.MULTILINE)


@dataclass
class Measured:
    name: str
    wall: float
    cpu: float  # user + system of the process and its children
    work: float  # what the run says it took, after start-up
    outcome: str  # succeeded | built nothing


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _environment(landing: Path, warehouse: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "LANDING_DIR": str(landing),
        "WAREHOUSE_DIR": str(warehouse),
        "DAGSTER_HOME": str(warehouse / "dagster_home"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
        **extra,
    }


def make_run(name: str, landing: Path, warehouse: Path, **extra: str) -> Measured:
    """One `make run` (without the install step) in its own process."""
    print(f"{name} ...", flush=True)
    cpu, started = _cpu_of_children(), time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.run"],
        cwd=REPO_ROOT,
        env=_environment(landing, warehouse, **extra),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    wall, cpu = time.monotonic() - started, _cpu_of_children() - cpu
    last = _LAST_LINE.search(done.stdout)
    if done.returncode != 0 or last is None:
        raise SystemExit(f"{name} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return Measured(name, wall, cpu, float(last.group(2)), last.group(1))


def start_up(rounds: int = 3) -> float:
    """Seconds to start `make run`'s interpreter and import its module (best of ``rounds``)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import orchestration.run"], cwd=REPO_ROOT, check=True,
                       env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        best = min(best, time.monotonic() - started)
    return best


def run(work: Path, rounds: int) -> tuple[list[Measured], float]:
    shutil.rmtree(work, ignore_errors=True)
    landing, warehouse = work / "landing", work / "warehouse"
    shutil.copytree(REPO_ROOT / "data" / "landing", landing)
    prepare_dagster_home(warehouse / "dagster_home")
    measured = [make_run("first run, new warehouse", landing, warehouse)]
    for round_ in range(1, rounds + 1):
        measured.append(make_run(f"nothing changed (round {round_})", landing, warehouse))
        measured.append(make_run(f"forced full run (round {round_})", landing, warehouse, WAREHOUSE_FORCE_REBUILD="1"))
    return measured, start_up()


def report(measured: list[Measured], startup: float) -> str:
    lines = [
        "| run | outcome | wall s | CPU s | pipeline work s (after start-up) | wall ratio to the full run of its round |",
        "|---|---|---:|---:|---:|---:|",
    ]
    full = {m.name.split("(")[-1]: m for m in measured if m.name.startswith("forced")}
    for m in measured:
        ratio = ""
        if m.name.startswith("nothing changed"):
            ratio = f"{m.wall / full[m.name.split('(')[-1]].wall:.3f}"
        lines.append(f"| {m.name} | {m.outcome} | {m.wall:.1f} | {m.cpu:.1f} | {m.work:.1f} | {ratio} |")
    unchanged = [m for m in measured if m.name.startswith("nothing changed")]
    forced = [m for m in measured if m.name.startswith("forced")]
    lines += [
        "",
        f"start-up (python + `import orchestration.run`, best of 3): {startup:.2f} s",
        f"nothing changed / forced full run, wall: {sum(m.wall for m in unchanged) / sum(m.wall for m in forced):.3f}x"
        f" (target <= 0.3x); CPU: {sum(m.cpu for m in unchanged) / sum(m.cpu for m in forced):.3f}x",
        f"nothing changed, pipeline work after start-up: at most {max(m.work for m in unchanged):.1f} s (target <= 10 s)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.unchanged_run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of nothing-changed + forced run (default 2)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="working directory (default bench/out)")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse")
    args = parser.parse_args(argv)
    work = args.out / "unchanged_run"
    try:
        measured, startup = run(work, args.rounds)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"shipped landing data, {os.cpu_count()} cores")
    print(report(measured, startup))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
