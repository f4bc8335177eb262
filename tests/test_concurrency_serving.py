"""Readers of serving.duckdb in other processes, while it is republished: never an error, never a mix."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from ingestion.audit import AUDIT_DDL
from serving.publish import publish_serving_database

READER = Path(__file__).with_name("serving_reader.py")
PUBLICATIONS = 20
#: Every table of a publication carries its version; the probe sees one version or the snapshot is torn.
PROBE_SQL = """select (select min(version) from marts.snapshot_a), (select max(version) from marts.snapshot_a),
                      (select min(version) from marts.snapshot_b), (select max(version) from marts.snapshot_b),
                      (select sum(x) from marts.snapshot_b)"""


def rows_of(version: int) -> int:
    return 1000 + 37 * version


def checksum_of(version: int) -> int:
    n = rows_of(version)
    return version * n + n * (n - 1) // 2


def write_version(build_db: Path, version: int) -> None:
    """The build database as the pipeline would leave it after run ``version``."""
    con = duckdb.connect(str(build_db))
    try:
        con.execute(AUDIT_DDL)
        con.execute("create schema if not exists marts")
        n = rows_of(version)
        con.execute(f"create or replace table marts.snapshot_a as select {version} as version, range as x from range({n})")
        con.execute(f"create or replace table marts.snapshot_b as select {version} as version, range + {version} as x from range({n})")
        con.execute("delete from audit.load_log")
        con.execute(
            "insert into audit.load_log (load_id, source_file, format, rows_loaded, rows_quarantined, status, loaded_at)"
            f" select 'l' || range, 'f' || range, 'test', 1, 0, 'loaded', now() from range({version})"
        )
    finally:
        con.close()


def start_reader(serving: Path, out: Path, stop: Path, max_queries: int, max_seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(READER), str(serving), "--out", str(out), "--stop-file", str(stop),
         "--max-queries", str(max_queries), "--max-seconds", str(max_seconds), "--probe-sql", PROBE_SQL],
        stderr=subprocess.PIPE,
        text=True,
    )


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_reader_in_another_process_sees_only_whole_publications_during_20_republishes(tmp_path: Path):
    build, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    out, stop = tmp_path / "reads.jsonl", tmp_path / "stop"
    write_version(build, 1)
    publish_serving_database(build, serving, "run-1")

    reader = start_reader(serving, out, stop, max_queries=5000, max_seconds=90)
    try:
        deadline = time.monotonic() + 30
        while not (out.exists() and read_lines(out)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert read_lines(out), f"the reader never answered: {reader.stderr.read() if reader.poll() is not None else ''}"
        for version in range(2, PUBLICATIONS + 2):
            write_version(build, version)
            publish_serving_database(build, serving, f"run-{version}")
        time.sleep(0.3)  # let the reader see the last publication too
    finally:
        stop.touch()
        _, stderr = reader.communicate(timeout=60)
    assert reader.returncode == 0, stderr

    reads = read_lines(out)
    assert [r for r in reads if "error" in r] == []
    assert len(reads) >= PUBLICATIONS
    for r in reads:
        version = int(r["run_id"].removeprefix("run-"))
        assert r["consistent"], r
        assert r["probe"] == [version, version, version, version, checksum_of(version)], r
    seen = [int(r["run_id"].removeprefix("run-")) for r in reads]
    assert seen == sorted(seen)  # a new connection never goes back to an older publication
    assert len(set(seen)) >= 2
    assert seen[-1] == PUBLICATIONS + 1


HOLD_AND_READ = """
import sys, time, duckdb
from pathlib import Path
con = duckdb.connect(sys.argv[1], read_only=True)
query = "select max(version), count(*) from marts.snapshot_a"
print(con.execute(query).fetchone(), flush=True)
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.02)
print(con.execute(query).fetchone(), flush=True)
"""


def test_open_connection_keeps_reading_its_snapshot_across_a_republish(tmp_path: Path):
    build, serving, go = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb", tmp_path / "go"
    write_version(build, 1)
    publish_serving_database(build, serving, "run-1")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_READ, str(serving), str(go)], stdout=subprocess.PIPE, text=True
    )
    first = holder.stdout.readline().strip()

    write_version(build, 2)
    publish_serving_database(build, serving, "run-2")  # does not wait for, or disturb, the open reader
    go.touch()
    second = holder.stdout.readline().strip()
    holder.wait(timeout=30)

    assert (first, second) == (f"(1, {rows_of(1)})", f"(1, {rows_of(1)})")
    con = duckdb.connect(str(serving), read_only=True)
    try:
        assert con.execute("select max(version), count(*) from marts.snapshot_a").fetchone() == (2, rows_of(2))
    finally:
        con.close()
