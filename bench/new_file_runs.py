"""Benchmark: one new file landed in a warehouse with millions of enterprise rows, until it is published.

    python -m bench.new_file_runs                                  # 1M, 3M and 10M rows of history
    python -m bench.new_file_runs --rows 200000 --new-rows 2000    # a quick run

For each size of history, in a new warehouse under ``--out`` (default ``bench/out``, git-ignored), each run
being `make run`'s own process (``python -m orchestration.run``, :func:`bench.unchanged_run.make_run`):

1. the shipped landing data plus a synthetic enterprise history of that many rows (one Parquet file,
   ``tools.synthetic_enterprises``, quarters and years 2020-2024), built and published by a first run;
2. (a) one new enterprise file of ``--new-rows`` rows (CSV, the next quarter of the same enterprises)
   landed, and a run until it is published (target: at most 30 s, and within 1.5x from the smallest
   history to the largest);
3. (b) on the largest history only: one new release file (a copy of a shipped NBS release with a later
   release date in its sidecar: a new vintage) landed, and a run until it is published (target: 20 s).

Each case runs ``--repeat`` times (default 3). After the first run, the file is landed again, changed: the
enterprise file loses its last row or gets it back, and the release's sidecar has its release date a day
later or back. Each run has the same work to do. The median run is reported, with the range of the walls:
one run on a noisy machine is not a figure. Each run is broken down into phases from the run's own step
timings (Dagster's step statistics): ingest, mapping, dbt build, checks (Great Expectations), publish (the
serving databases of every tier, their Parquet exports, the indicator report), dbt docs, and the rest
(start-up, fingerprint, summary). The floor, measured in this process and run,
is DuckDB reading the new file into a table (``read_csv``). Prints the tables and the series.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from bench.unchanged_run import make_run
from core.settings import REPO_ROOT
from orchestration.storage import open_instance, prepare_dagster_home
from tools import synthetic_enterprises as synthetic

DEFAULT_OUT = REPO_ROOT / "bench" / "out"
HISTORY_ROWS = (1_000_000, 3_000_000, 10_000_000)
#: The history: annual and quarterly periods of five years (as bench.enterprise_ingest).
HISTORY = synthetic.Spec(enterprises=0, periods=synthetic.period_labels(range(2020, 2025), range(2020, 2025)), seed=2024)
NEW_QUARTER = "2025Q1"
#: The release copied as a new vintage, relative to the shipped landing folder.
RELEASE = Path("releases") / "nbs" / "rd_expenditure_by_province_2022.csv"
#: The release date in the shipped sidecar, and those the copy takes in turn (a day later, then two).
RELEASE_DATE, COPY_DATES = "2023-09-18", ("2023-09-19", "2023-09-20")
#: Phases of a run, by the first match of a step key's prefix; the rest of the wall time is "other".
PHASES = (
    ("ingest", ("raw__",)),
    ("mapping", ("mapped__",)),
    ("dbt build", ("warehouse_dbt_models",)),
    ("checks", ("quality_", "reports__quality")),
    ("publish: databases", ("serving__serving_database",)),
    ("publish: Parquet", ("serving__parquet_exports",)),
    ("publish: report", ("reports__indicator_report",)),
    ("dbt docs", ("reports__dbt_docs",)),
)
TARGET_ENTERPRISE_S, TARGET_RELEASE_S, TARGET_FLAT = 30.0, 20.0, 1.5


@dataclass
class NewFileRun:
    """The median of the runs that published one new file, with its phases (seconds), the range of the runs'
    walls and the floor of reading the file."""

    name: str
    history_rows: int
    file_rows: int
    wall: float
    phases: dict[str, float]
    floor: float
    walls: tuple[float, ...]


# ---------- inputs


def _history_spec(rows: int) -> synthetic.Spec:
    """Twice the enterprises needed (the panel is unbalanced), cut to ``rows`` rows by :func:`write_history`."""
    return replace(HISTORY, enterprises=2 * (rows // len(HISTORY.periods) + 1))


def write_history(rows: int, path: Path) -> None:
    """Exactly ``rows`` rows of the history as one Parquet file, written a part at a time."""
    writer = None
    remaining = rows
    try:
        for part in synthetic.generate_parts(_history_spec(rows)):
            table = part.head(remaining).drop("injected_error").to_arrow()
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            remaining -= table.num_rows
            if remaining == 0:
                break
    finally:
        if writer is not None:
            writer.close()


def write_new_quarter(history_rows: int, rows: int, path: Path) -> int:
    """The next quarter of the history's first enterprises as a CSV of at most ``rows`` rows; returns its rows.

    The first part of the generator (``PART_ENTERPRISES`` enterprises) is generated again with the new
    quarter added: an enterprise's code, name, group, industry and district are drawn before any figure,
    so they are those of the history."""
    first_part = min(_history_spec(history_rows).enterprises, synthetic.PART_ENTERPRISES)
    spec = replace(HISTORY, enterprises=first_part, periods=(*HISTORY.periods, NEW_QUARTER), keep_periods=(NEW_QUARTER,))
    frame = next(synthetic.generate_parts(spec)).head(rows)
    path.write_text(synthetic.csv_text(frame), encoding="utf-8")
    return len(frame)


def change_again(path: Path, full: bytes) -> None:
    """Land ``path`` changed for the next run: without its last line when it holds ``full``, else ``full``."""
    path.write_bytes(full.rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n" if path.read_bytes() == full else full)


def toggle_release_date(copy: Path) -> None:
    """Land the release copy's sidecar changed for the next run: the other of its :data:`COPY_DATES`."""
    sidecar = Path(f"{copy}.meta.yml")
    text = sidecar.read_text(encoding="utf-8")
    now, other = COPY_DATES if f"release_date: '{COPY_DATES[0]}'" in text else reversed(COPY_DATES)
    sidecar.write_text(text.replace(f"release_date: '{now}'", f"release_date: '{other}'"), encoding="utf-8")


def land_release_copy(shipped: Path, landing: Path) -> Path:
    """A new vintage of a shipped release: its file under another name, its sidecar a day later."""
    source = shipped / RELEASE
    copy = landing / RELEASE.with_name(f"{RELEASE.stem}_revised{RELEASE.suffix}")
    shutil.copy2(source, copy)
    sidecar = Path(f"{source}.meta.yml").read_text(encoding="utf-8")
    Path(f"{copy}.meta.yml").write_text(
        sidecar.replace(f"release_date: '{RELEASE_DATE}'", f"release_date: '{COPY_DATES[0]}'"), encoding="utf-8"
    )
    return copy


def read_floor(path: Path, reader: str) -> float:
    """Seconds for DuckDB to read ``path`` into a table with ``reader`` (``read_csv``; ``read_blob`` for a
    release, whose header lines and GB18030 text read_csv does not take): the floor of loading it."""
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        con.execute(f"create table floor as select * from {reader}('{path}')")
        return time.perf_counter() - started
    finally:
        con.close()


# ---------- runs


def phases_of_runs_since(dagster_home: Path, since: float, wall: float) -> dict[str, float]:
    """Seconds per phase of the Dagster runs started since ``since`` (epoch seconds) in ``dagster_home``: a
    `make run` is one ingest run per kind of input with new files, then ``warehouse_job``."""
    with open_instance(dagster_home) as instance:
        seconds = dict.fromkeys([name for name, _ in PHASES], 0.0)
        for run in instance.get_runs(limit=10):
            started = instance.get_run_stats(run.run_id).start_time
            if started is None or started < since:
                continue
            for step in instance.get_run_step_stats(run.run_id):
                if step.start_time is None or step.end_time is None:
                    continue
                phase = next((name for name, prefixes in PHASES if step.step_key.startswith(prefixes)), "other steps")
                seconds[phase] = seconds.get(phase, 0.0) + step.end_time - step.start_time
    seconds["start-up and the rest"] = wall - sum(seconds.values())
    return seconds


def new_file_run(
    name: str, history_rows: int, new_file: Path, file_rows: int, landing: Path, warehouse: Path, reader: str,
    repeat: int, change: Callable[[], None],
) -> NewFileRun:
    """The median of ``repeat`` runs that publish ``new_file``, landed already; ``change`` lands it changed
    before each run after the first."""
    runs = []
    for attempt in range(repeat):
        if attempt:
            change()
        since = time.time()
        measured = make_run(name, landing, warehouse)
        if measured.outcome != "succeeded":
            raise SystemExit(f"{name}: the run {measured.outcome}")
        phases = phases_of_runs_since(warehouse / "dagster_home", since, measured.wall)
        print(f"  {measured.wall:.1f} s: " + ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in phases.items()), flush=True)
        runs.append((measured.wall, phases))
    wall, phases = sorted(runs, key=lambda run: run[0])[(len(runs) - 1) // 2]
    return NewFileRun(name, history_rows, file_rows, wall, phases, read_floor(new_file, reader),
                      tuple(sorted(w for w, _ in runs)))


def runs_for(history_rows: int, new_rows: int, work: Path, with_release: bool, repeat: int) -> Iterator[NewFileRun]:
    shutil.rmtree(work, ignore_errors=True)
    landing, warehouse = work / "landing", work / "warehouse"
    shipped = REPO_ROOT / "data" / "landing"
    shutil.copytree(shipped, landing)
    prepare_dagster_home(warehouse / "dagster_home")
    print(f"generating {history_rows:,} rows of history ...", flush=True)
    write_history(history_rows, landing / "enterprise" / "bench_history_2020_2024.parquet")
    first = make_run(f"first run, {history_rows:,} rows of history", landing, warehouse)
    print(f"  {first.wall:.1f} s", flush=True)

    new_file = landing / "enterprise" / f"bench_{NEW_QUARTER.lower()}.csv"
    file_rows = write_new_quarter(history_rows, new_rows, new_file)
    full = new_file.read_bytes()
    yield new_file_run(f"new enterprise file, {history_rows:,} rows of history", history_rows, new_file, file_rows,
                       landing, warehouse, "read_csv", repeat, partial(change_again, new_file, full))
    if with_release:
        release = land_release_copy(shipped, landing)
        lines = release.read_bytes().count(b"\n")
        yield new_file_run(f"new release file, {history_rows:,} rows of history", history_rows, release, lines,
                           landing, warehouse, "read_blob", repeat, partial(toggle_release_date, release))


# ---------- report


def report(runs: list[NewFileRun]) -> str:
    names = list(runs[0].phases)
    lines = [
        f"| run | file rows (lines of a release) | wall s, median | walls of the runs, min-max | {' | '.join(names)} | floor s (DuckDB reads the file: read_csv, a release read_blob) | ratio to floor |",
        "|---|---:|---:|---:|" + "---:|" * len(names) + "---:|---:|",
    ]
    for r in runs:
        phases = " | ".join(f"{r.phases[n]:.1f}" for n in names)
        walls = f"{min(r.walls):.1f}-{max(r.walls):.1f} ({len(r.walls)})"
        lines.append(f"| {r.name} | {r.file_rows:,} | {r.wall:.1f} | {walls} | {phases} | {r.floor:.3f} | {r.wall / r.floor:,.0f} |")
    enterprise = [r for r in runs if r.name.startswith("new enterprise")]
    releases = [r for r in runs if r.name.startswith("new release")]
    series = ", ".join(f"{r.history_rows:,}: {r.wall:.1f} s (dbt {r.phases['dbt build']:.1f} s)" for r in enterprise)
    spread = max(r.wall for r in enterprise) / min(r.wall for r in enterprise)
    lines += [
        "",
        f"new enterprise file, by rows of history: {series}",
        f"largest / smallest: {spread:.2f}x (target <= {TARGET_FLAT}x); "
        f"slowest {max(r.wall for r in enterprise):.1f} s (target <= {TARGET_ENTERPRISE_S:.0f} s)",
    ]
    for r in releases:
        lines.append(f"new release file into {r.history_rows:,} rows: {r.wall:.1f} s (target <= {TARGET_RELEASE_S:.0f} s)")
    return "\n".join(lines)


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of runs (1 or more)")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.new_file_runs", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", default=",".join(map(str, HISTORY_ROWS)),
        help="rows of enterprise history, comma-separated (default 1000000,3000000,10000000)",
    )
    parser.add_argument("--new-rows", type=int, default=10_000, help="rows of the new enterprise file (default 10,000)")
    parser.add_argument("--repeat", type=_at_least_one, default=3, help="runs per case, the median reported (default 3)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="working directory (default bench/out)")
    parser.add_argument("--keep", action="store_true", help="keep the warehouses")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.rows.split(","))
    runs: list[NewFileRun] = []
    for size in sizes:
        work = args.out / f"new_file_runs_{size}"
        try:
            runs.extend(runs_for(size, args.new_rows, work, with_release=size == sizes[-1], repeat=args.repeat))
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"{os.cpu_count()} cores; each run is `make run`'s own process; the median of {args.repeat} runs per case")
    print(report(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
