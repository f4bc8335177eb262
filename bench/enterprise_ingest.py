"""Benchmark of the enterprise path at scale: ten million synthetic enterprise-period rows.

    python -m bench.enterprise_ingest                 # 10M rows, Parquet and CSV
    python -m bench.enterprise_ingest --rows 200000   # a quick run
    python -m bench.enterprise_ingest --ingest-only --repeat 3   # floors and ingests only, three rounds

Generates the rows once (``tools.synthetic_enterprises``, with ``--error-rate`` of every kind of bad
row) as Parquet and as CSV under ``--out`` (default ``bench/out``, git-ignored), then measures, each
phase in a fresh process on a fresh database file so one phase's memory does not count for another:

- the raw floor: ``create table as select * from read_parquet(...)`` / ``read_csv(...)`` of the same file;
- ingest + validation: ``load_submissions`` of that file (sha256, reading, every rule, quarantine, load);
- the mapping step: submissions whose industry or district code is not in the reference tables;
- the marts build: ``dbt build`` of the enterprise marts (``soe_innovation``, its concentration,
  ``dim_enterprise``, ``fct_enterprise_submissions`` and its history) and everything upstream, without
  tests, on the database the Parquet ingest filled (dbt's own start-up included);
- disclosure control: the primary and secondary suppression decisions for every cell of
  ``soe_innovation`` (``serving.disclosure.decide_in_database``);
- publishing the tiers: ``serving.tiers.publish_tiers`` (decisions again, the restricted tier with every
  submission, one extract per group, the public tier and its check for identifiers and disclosure).

With ``--ingest-only`` only the floors and the ingests run (``--repeat`` rounds of them, floor and ingest
alternating, each ingest compared with the floor of its own round). Prints a table of seconds, rows/s,
the ratio to the floor and the peak RSS of each phase, and the median ratio of each format's ingests.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import psutil

from core import settings
from tools import synthetic_enterprises as synthetic

DEFAULT_OUT = settings.REPO_ROOT / "bench" / "out"
MAP = "mapping onto the reference codes"
BUILD = "dbt build of the enterprise marts (+ upstream)"
DISCLOSE = "disclosure control (primary + secondary suppression)"
PUBLISH = "publishing the tiers (restricted, groups, public)"
ENTERPRISE_MARTS = (
    "+soe_innovation", "+soe_innovation_concentration", "+dim_enterprise",
    "+fct_enterprise_submissions", "+fct_enterprise_submission_history",
)
#: Annual and quarterly periods of five years: 25 periods per enterprise (fewer where the panel has gaps).
PERIODS = synthetic.period_labels(range(2020, 2025), range(2020, 2025))


@dataclass(frozen=True)
class Phase:
    name: str
    rows: int
    seconds: float
    peak_rss_mb: float
    floor: str | None = None  # name of the phase this one is compared with


def generate(rows: int, out: Path, seed: int, error_rate: float) -> tuple[Path, Path, int]:
    """Write ``rows`` synthetic rows as Parquet and CSV (one generation pass); returns both paths and the
    number of rows with an injected error."""
    parquet, csv = out / "enterprise_bench.parquet", out / "enterprise_bench.csv"
    enterprises = rows // len(PERIODS) + 1
    spec = synthetic.Spec(enterprises=enterprises * 2, periods=PERIODS, seed=seed, error_rate=error_rate)
    injected = 0

    def exactly(parts: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        nonlocal injected
        remaining = rows
        for part in parts:
            part = part.head(remaining)
            injected += part["injected_error"].drop_nulls().len()
            remaining -= len(part)
            yield part
            if remaining == 0:
                return

    import pyarrow.parquet as pq

    parquet_writer = None
    try:
        with open(csv, "wb") as csv_handle:
            for index, frame in enumerate(exactly(synthetic.generate_parts(spec))):
                table = frame.drop("injected_error").to_arrow()
                parquet_writer = parquet_writer or pq.ParquetWriter(parquet, table.schema)
                parquet_writer.write_table(table)
                csv_handle.write(synthetic.csv_text(frame, header=index == 0).encode("utf-8"))
    finally:
        if parquet_writer is not None:
            parquet_writer.close()
    return parquet, csv, injected


# ---------- phases (each runs in a child process)


class PeakRss:
    """Samples the resident memory of this process and its children every 20 ms; ``mb`` is the peak.
    (``ru_maxrss`` would not do: a spawned child starts from its parent's high-water mark.)"""

    def __enter__(self) -> PeakRss:
        self.mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
            self.mb = max(self.mb, total / 1e6)
            self._stop.wait(0.02)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _floor(source: str, db: str) -> tuple[float, float]:
    from core import warehouse

    with PeakRss() as peak:
        con = warehouse.connect(Path(db))
        start = time.perf_counter()
        con.execute(f"create table floor as select * from {source}")
        con.close()
        elapsed = time.perf_counter() - start
    return elapsed, peak.mb


def _ingest(landing: str, db: str) -> tuple[float, float]:
    from core import warehouse
    from ingestion.enterprise.loader import load_submissions

    with PeakRss() as peak:
        con = warehouse.connect(Path(db))
        start = time.perf_counter()
        summary = load_submissions(con, Path(landing))
        con.close()
        elapsed = time.perf_counter() - start
    if summary.files_failed or not summary.files_loaded:
        raise RuntimeError(f"ingest failed: {summary.as_metadata()}")
    print(f"    {summary.rows_loaded:,} rows loaded, {summary.rows_quarantined:,} quarantined", flush=True)
    return elapsed, peak.mb


def _map(warehouse_dir: str) -> tuple[float, float]:
    from core import warehouse
    from ingestion.enterprise.mapping import map_enterprise

    with PeakRss() as peak:
        start = time.perf_counter()
        con = warehouse.connect(Path(warehouse_dir) / "warehouse.duckdb")
        map_enterprise(con)  # the mapping step the marts read (industry and district codes)
        con.close()
        elapsed = time.perf_counter() - start
    return elapsed, peak.mb


def _dbt_build(warehouse_dir: str) -> tuple[float, float]:
    env = {**os.environ, "WAREHOUSE_DIR": warehouse_dir, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).with_name("dbt")
    with PeakRss() as peak:
        start = time.perf_counter()
        result = subprocess.run(
            [
                str(dbt), "build", "--select", *ENTERPRISE_MARTS,
                "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
                "--profiles-dir", ".", "--target-path", f"{warehouse_dir}/dbt_target",
            ],
            cwd=settings.DBT_PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"dbt failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return elapsed, peak.mb


def _disclose(warehouse_dir: str) -> tuple[float, float]:
    import duckdb

    from serving.disclosure import DisclosureRules, decide_in_database

    with PeakRss() as peak:
        start = time.perf_counter()
        con = duckdb.connect()
        con.execute(f"attach '{warehouse_dir}/warehouse.duckdb' as warehouse (read_only)")
        decisions = decide_in_database(con, "warehouse", DisclosureRules())
        con.close()
        elapsed = time.perf_counter() - start
    withheld = sum(1 for d in decisions.values() if d.withheld)
    print(f"    {len(decisions):,} cells, {withheld:,} with withheld values", flush=True)
    return elapsed, peak.mb


def _publish(warehouse_dir: str) -> tuple[float, float]:
    os.environ["WAREHOUSE_DIR"] = warehouse_dir
    from serving.tiers import publish_tiers

    with PeakRss() as peak:
        start = time.perf_counter()
        published = publish_tiers(Path(warehouse_dir) / "warehouse.duckdb", "bench")
        elapsed = time.perf_counter() - start
    print(f"    {len(published)} databases published", flush=True)
    return elapsed, peak.mb


def _run(target: Callable[..., tuple[float, float]], *args: str) -> tuple[float, float]:
    """Run one phase in a fresh (spawned) process; returns its seconds and peak RSS in MB."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(target, args)


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def run(
    rows: int, out: Path, seed: int, error_rate: float, *, ingest_only: bool = False, repeat: int = 1
) -> list[Phase]:
    out.mkdir(parents=True, exist_ok=True)
    print(f"generating {rows:,} rows (error rate {error_rate}) into {out} ...", flush=True)
    start = time.perf_counter()
    parquet, csv, injected = generate(rows, out, seed, error_rate)
    print(
        f"    {time.perf_counter() - start:.1f} s; {injected:,} rows with injected errors; "
        f"parquet {parquet.stat().st_size / 1e6:,.0f} MB, csv {csv.stat().st_size / 1e6:,.0f} MB",
        flush=True,
    )
    phases: list[Phase] = []
    for round_ in range(1, repeat + 1):
        suffix = f" round {round_}" if repeat > 1 else ""
        for kind, path, reader in (
            ("parquet", parquet, f"read_parquet('{parquet}')"),
            ("csv", csv, f"read_csv('{csv}')"),
        ):
            work = _fresh(out / f"work_{kind}")
            floor = f"raw floor ({kind}){suffix}"
            print(f"{floor} ...", flush=True)
            seconds, rss = _run(_floor, reader, str(work / "floor.duckdb"))
            phases.append(Phase(floor, rows, seconds, rss))
            landing = _fresh(work / "landing")
            (landing / "enterprise").mkdir()
            (landing / "enterprise" / path.name).symlink_to(path)
            ingest = f"ingest + validation ({kind}){suffix}"
            print(f"{ingest} ...", flush=True)
            seconds, rss = _run(_ingest, str(landing), str(work / "warehouse.duckdb"))
            phases.append(Phase(ingest, rows, seconds, rss, floor=floor))
            if kind == "parquet" and not ingest_only and round_ == 1:
                for label, phase, step in (
                    ("mapping", MAP, _map),
                    ("marts build (dbt)", BUILD, _dbt_build),
                    ("disclosure control", DISCLOSE, _disclose),
                    ("publishing the tiers", PUBLISH, _publish),
                ):
                    print(f"{label} ...", flush=True)
                    seconds, rss = _run(step, str(work))
                    phases.append(Phase(phase, rows, seconds, rss))
    return phases


def report(phases: list[Phase]) -> str:
    by_name = {p.name: p for p in phases}
    lines = [
        "| phase | seconds | rows/s | ratio to floor | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for p in phases:
        ratio = f"{p.seconds / by_name[p.floor].seconds:.2f}" if p.floor else ""
        lines.append(f"| {p.name} | {p.seconds:.1f} | {p.rows / p.seconds:,.0f} | {ratio} | {p.peak_rss_mb:,.0f} |")
    for kind in ("parquet", "csv"):
        ingests = [p for p in phases if p.name.startswith(f"ingest + validation ({kind})")]
        if len(ingests) > 1:
            median = statistics.median(p.seconds / by_name[p.floor].seconds for p in ingests)
            lines.append(f"| ingest + validation ({kind}): median ratio of {len(ingests)} rounds |  |  | {median:.2f} |  |")
    if BUILD not in by_name:
        return "\n".join(lines)
    # the marts ran after the first round's Parquet ingest
    ingest, csv_ingest = (
        next(p for p in phases if p.name.startswith(f"ingest + validation ({kind})")) for kind in ("parquet", "csv")
    )
    build, mapping, disclose, publish = by_name[BUILD], by_name[MAP], by_name[DISCLOSE], by_name[PUBLISH]
    for label, first in (("parquet", ingest), ("csv", csv_ingest)):
        after = (mapping, build, publish)
        total = first.seconds + sum(p.seconds for p in after)
        peak = max(first.peak_rss_mb, *(p.peak_rss_mb for p in after))
        lines.append(
            f"| whole enterprise path ({label}: ingest + mapping + build + publishing) | {total:.1f} "
            f"| {first.rows / total:,.0f} |  | {peak:,.0f} |"
        )
    whole = ingest.seconds + mapping.seconds + build.seconds + publish.seconds
    lines.append("")
    lines.append(
        f"disclosure control: {disclose.seconds:.1f} s, {100 * disclose.seconds / whole:.1f} % of the whole Parquet "
        f"path; publishing the tiers (which includes it): {publish.seconds:.1f} s, {100 * publish.seconds / whole:.1f} %"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.enterprise_ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="enterprise-period rows (default 10,000,000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="working directory (default bench/out)")
    parser.add_argument("--seed", type=int, default=2024, help="generator seed")
    parser.add_argument("--error-rate", type=float, default=0.001, help="share of rows with an injected error")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and databases")
    parser.add_argument("--ingest-only", action="store_true", help="only the floors and the ingests (no marts)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of floor + ingest (the marts run in the first)")
    args = parser.parse_args(argv)
    try:
        phases = run(args.rows, args.out, args.seed, args.error_rate, ingest_only=args.ingest_only, repeat=args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(args.out, ignore_errors=True)
    print()
    print(f"{args.rows:,} rows, {os.cpu_count()} cores, duckdb threads/memory as in core.warehouse.CONNECTION_CONFIG")
    print(report(phases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
