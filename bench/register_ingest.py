"""Benchmark of the register ingest at scale: one million synthetic recognitions in one CSV.

    python -m bench.register_ingest                  # 1,000,000 rows
    python -m bench.register_ingest --rows 100000    # a quick run

Generates the register once (``tools.synthetic_registers``, UTF-8, English headers, ``--error-rate`` bad
rows of every rule) under ``--out`` (default ``bench/out``, git-ignored), then measures, each phase in a
fresh process on a fresh database file (so one phase's memory does not count for another), in this order
and ``--repeat`` times:

- the floor: DuckDB's own read of the same file, ``create table as select * from read_csv(...)``;
- ingest + validation: ``load_registers`` of the file (sha256, reading, every row rule, quarantine, load,
  one transaction) followed by ``map_registers`` (the kind of every row against ``ref_recognition_kinds``).

Prints a table of seconds, rows/s, the ratio to the floor of the same round and the peak RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from bench.enterprise_ingest import DEFAULT_OUT, Phase, PeakRss, _fresh, _run
from tools import synthetic_registers as synthetic

FLOOR = "floor: read_csv into a table"
INGEST = "ingest + validation (load_registers + map_registers)"


def _floor(csv: str, db: str) -> tuple[float, float]:
    from core import warehouse

    with PeakRss() as peak:
        con = warehouse.connect(Path(db))
        start = time.perf_counter()
        con.execute(f"create table floor as select * from read_csv('{csv}')")
        con.close()
        elapsed = time.perf_counter() - start
    return elapsed, peak.mb


def _ingest(landing: str, db: str) -> tuple[float, float]:
    import pandas  # noqa: F401  (DuckDB imports it on first fetch; the pipeline's process has it already)

    from core import warehouse
    from ingestion.registers.loader import load_registers
    from ingestion.registers.mapping import map_registers

    with PeakRss() as peak:
        con = warehouse.connect(Path(db))
        start = time.perf_counter()
        summary = load_registers(con, Path(landing))
        mapping = map_registers(con)
        con.close()
        elapsed = time.perf_counter() - start
    if summary.files_failed or not summary.files_loaded:
        raise RuntimeError(f"ingest failed: {summary.as_metadata()}")
    print(
        f"    {summary.rows_loaded:,} rows loaded, {summary.rows_quarantined:,} quarantined at load, "
        f"{mapping.rows_quarantined:,} with an unknown kind",
        flush=True,
    )
    return elapsed, peak.mb


def run(rows: int, out: Path, seed: int, error_rate: float, repeat: int) -> list[Phase]:
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "register_bench.csv"
    print(f"generating {rows:,} register rows (error rate {error_rate}) into {csv} ...", flush=True)
    start = time.perf_counter()
    synthetic.write_csv(synthetic.generate(synthetic.Spec(rows=rows, seed=seed, error_rate=error_rate)), csv)
    print(f"    {time.perf_counter() - start:.1f} s; {csv.stat().st_size / 1e6:,.0f} MB", flush=True)
    phases: list[Phase] = []
    for round_ in range(1, repeat + 1):
        work = _fresh(out / "work_registers")
        print(f"round {round_}: floor ...", flush=True)
        seconds, rss = _run(_floor, str(csv), str(work / "floor.duckdb"))
        floor = f"{FLOOR} (round {round_})"
        phases.append(Phase(floor, rows, seconds, rss))
        landing = _fresh(work / "landing")
        (landing / "registers").mkdir()
        (landing / "registers" / csv.name).symlink_to(csv)
        print(f"round {round_}: ingest + validation ...", flush=True)
        seconds, rss = _run(_ingest, str(landing), str(work / "warehouse.duckdb"))
        phases.append(Phase(f"{INGEST} (round {round_})", rows, seconds, rss, floor=floor))
    return phases


def report(phases: list[Phase]) -> str:
    by_name = {p.name: p for p in phases}
    lines = ["| phase | seconds | rows/s | ratio to floor | peak RSS (MB) |", "|---|---:|---:|---:|---:|"]
    for p in phases:
        ratio = f"{p.seconds / by_name[p.floor].seconds:.2f}" if p.floor else ""
        lines.append(f"| {p.name} | {p.seconds:.2f} | {p.rows / p.seconds:,.0f} | {ratio} | {p.peak_rss_mb:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.register_ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="register rows (default 1,000,000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="working directory (default bench/out)")
    parser.add_argument("--seed", type=int, default=2025, help="generator seed")
    parser.add_argument("--error-rate", type=float, default=0.001, help="share of rows with an injected error")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of floor + ingest")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and databases")
    args = parser.parse_args(argv)
    try:
        phases = run(args.rows, args.out / "registers", args.seed, args.error_rate, args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(args.out / "registers", ignore_errors=True)
    print()
    print(f"{args.rows:,} rows, {os.cpu_count()} cores, duckdb threads/memory as in core.warehouse.CONNECTION_CONFIG")
    print(report(phases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
