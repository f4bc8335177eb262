"""A killed, stopped or starved run never blocks the next one, and the next one repairs everything.

Each test runs `make run`'s entry point (`python -m orchestration.run`) in its own process, as a user
would, over a copy of the shipped landing data, and kills or stops it at a chosen step. The marts after
recovery are compared with those of the session's uninterrupted run (the `pipeline` fixture).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import psutil
import pytest

from core import settings
from orchestration.storage import open_instance
from tests.conftest import PipelineRun
from tests.pipeline_process import PipelineProcess, step_started

pytestmark = pytest.mark.slow

#: Columns that differ between two loads of the same files (new load ids, new load times).
VOLATILE_COLUMNS = {"load_id", "loaded_at"}
INTERRUPTED = "the previous run was interrupted: run {run_id} "


def mart_rows(serving_db: Path) -> dict[str, list[tuple]]:
    """Every mart's rows, sorted, without the columns a new load changes."""
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()]
        rows = {}
        for table in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ? "
                "order by column_index", [table]
            ).fetchall() if c not in VOLATILE_COLUMNS]
            select = ", ".join(f'"{c}"' for c in columns)
            # sums of doubles depend on the order rows were loaded in (runs killed mid-load load in another
            # order): compare them at 12 significant digits
            fetched = con.execute(f"select {select} from marts.{table}").fetchall()
            rows[table] = sorted(
                (tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row) for row in fetched), key=repr
            )
        return rows
    finally:
        con.close()


def outputs_fingerprint(warehouse: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every published file: serving database, exports, the indicator report and the dbt
    docs. (The quality report is not published: the checks of every run write their results into it.)"""
    reports = [p for p in sorted((warehouse / "reports").rglob("*")) if "quality" not in p.relative_to(warehouse).parts]
    paths = [warehouse / "serving.duckdb", *sorted((warehouse / "exports").rglob("*")), *reports]
    return {str(p.relative_to(warehouse)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths if p.is_file()}


def dbt_processes_of(warehouse: Path) -> list[psutil.Process]:
    """dbt processes still running for this warehouse (left behind by a killed run)."""
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
            if "dbt" in cmdline and (process.info["environ"] or {}).get("WAREHOUSE_DIR") == str(warehouse):
                found.append(process)
        except psutil.Error:
            continue
    return found


@dataclass
class Recovery:
    warehouse: Path
    runs: list[PipelineProcess]  # the killed runs, then the one that completed
    killed_at: list[str]  # the step each killed run was in


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("recovery") / "landing"
    shutil.copytree(settings.REPO_ROOT / "data" / "landing", landing)
    return landing


@pytest.fixture(scope="module")
def recovered(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recovery]:
    """A fresh warehouse whose runs are SIGKILLed, one after the other, at every step, then run to the end.

    Every killed run starts over a warehouse its predecessor left half-done: killed while loading the
    first files, during dbt build, during the quality checks, while publishing serving.duckdb, while
    exporting Parquet. The last run is not interrupted.
    """
    warehouse = tmp_path_factory.mktemp("recovery") / "warehouse"
    runs, killed_at = [], []
    for step, delay in [
        ("raw__releases", 0.5),
        ("warehouse_dbt_models", 4.0),
        ("quality_of_build", 0.5),
        ("serving__serving_database", 0.0),
        ("serving__parquet_exports", 0.0),
    ]:
        run = PipelineProcess(landing, warehouse)
        run.wait_for(step_started(step))
        time.sleep(delay)  # into the step's work
        run.kill()
        runs.append(run)
        killed_at.append(step)
    (warehouse / "serving.duckdb.tmp-999999").write_bytes(b"half a database")  # as if killed mid-copy
    final = PipelineProcess(landing, warehouse)
    final.finish()
    runs.append(final)
    yield Recovery(warehouse, runs, killed_at)


def test_the_run_after_killed_runs_completes_with_the_marts_of_an_uninterrupted_run(
    recovered: Recovery, pipeline: PipelineRun
):
    warehouse, final = recovered.warehouse, recovered.runs[-1]
    assert final.process.returncode == 0, final.output[-3000:]
    recovered_marts, uninterrupted_marts = mart_rows(warehouse / "serving.duckdb"), mart_rows(pipeline.serving_db)
    differences = {
        table: (sorted(set(rows) - set(uninterrupted_marts.get(table, [])))[:3],
                sorted(set(uninterrupted_marts.get(table, [])) - set(rows))[:3])
        for table, rows in recovered_marts.items() if rows != uninterrupted_marts.get(table)
    }
    assert differences == {}
    # it did not wait for a lock a killed run left (how long it took belongs in a benchmark, not here)
    assert "waiting for the warehouse writer lock" not in final.output
    assert not dbt_processes_of(warehouse)


def test_each_run_says_which_run_was_interrupted_and_in_which_step(recovered: Recovery):
    runs = recovered.runs
    for killed, after in zip(runs, runs[1:]):
        (last_step,) = re.findall(r'STEP_START - Started execution of step "([^"]+)"', killed.output)[-1:]
        line = after.wait_for(INTERRUPTED.format(run_id=killed.run_id))
        assert line.endswith(
            f", in step {last_step}. Its unfinished work is redone by this run; nothing it published is lost."
        ), line
    assert [run.output.count("the previous run was interrupted") for run in runs] == [0, 1, 1, 1, 1, 1]


def test_no_temporary_file_of_an_interrupted_publication_is_left(recovered: Recovery):
    warehouse = recovered.warehouse
    assert sorted(str(p.relative_to(warehouse)) for p in warehouse.rglob("*.tmp-*")) == []


def test_killed_runs_show_as_failed_in_dagster(recovered: Recovery):
    warehouse, runs = recovered.warehouse, recovered.runs
    with open_instance(warehouse.parent / f"{warehouse.name}_dagster_home") as instance:
        statuses = {run.run_id: instance.get_run_by_id(run.run_id).status for run in runs}
    assert statuses == {
        **{run.run_id: dg.DagsterRunStatus.FAILURE for run in runs[:-1]},
        runs[-1].run_id: dg.DagsterRunStatus.SUCCESS,
    }


def test_a_second_run_waits_saying_for_whom_and_sigterm_stops_the_first_within_seconds(
    recovered: Recovery, landing: Path
):
    warehouse = recovered.warehouse
    # nothing changed since the recovered run: only a forced run builds (and holds the lock long enough)
    first = PipelineProcess(landing, warehouse, WAREHOUSE_FORCE_REBUILD="1")
    first.wait_for(step_started("warehouse_dbt_models"))
    # the first run is paused while the second waits, so that it still holds the lock when the test stops it
    # (a forced run on the shipped data may otherwise end before the second has waited ten seconds)
    os.kill(first.process.pid, signal.SIGSTOP)
    second = PipelineProcess(landing, warehouse)
    waiting = second.wait_for("waiting for the warehouse writer lock")
    assert f"held by run {first.run_id} (pid {first.process.pid} " in waiting
    second.wait_for(r"waiting for the warehouse writer lock .*; waited 1\d s")  # and keeps saying so

    os.kill(first.process.pid, signal.SIGCONT)
    sent = first.signal(signal.SIGTERM)
    code = first.finish(timeout=30)

    assert time.monotonic() - sent < 10
    assert code == 130
    # the step it was in: the dbt build, or a later step when the build took less than the wait above
    (last_step,) = re.findall(r'STEP_START - Started execution of step "([^"]+)"', first.output)[-1:]
    assert f"stopped by a signal during step {last_step} after " in first.output
    assert second.finish() == 0, second.output[-3000:]
    assert "the previous run was interrupted" not in second.output  # a stopped run cleans up after itself
    assert not dbt_processes_of(warehouse)


def _mount_small_filesystem(path: Path, size_mb: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], capture_output=True)
    return result.returncode == 0


def test_a_full_disk_is_one_clear_line_and_leaves_the_published_outputs(
    recovered: Recovery, landing: Path, tmp_path: Path
):
    built = recovered.warehouse
    disk = tmp_path / "disk"
    if not _mount_small_filesystem(disk, 200):
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        warehouse = disk / "warehouse"
        # without the dbt artifacts of earlier runs: the run would remove some of them first, freeing space
        shutil.copytree(built, warehouse, ignore=shutil.ignore_patterns("*.lock*", "dbt"))
        before = outputs_fingerprint(warehouse)
        filler = disk / "filler"
        free = shutil.disk_usage(disk).free
        with open(filler, "wb") as handle:
            handle.truncate(0)
            handle.write(b"\0" * max(free - 256 * 1024, 0))

        dagster_home = tmp_path / "dagster_home"  # on the roomy disk: Dagster's own storage is not the test
        # nothing changed since the copied warehouse's last run: forced, so that it builds and publishes again
        run = PipelineProcess(landing, warehouse, dagster_home=dagster_home, WAREHOUSE_FORCE_REBUILD="1")
        code = run.finish()

        full = [line for line in run.lines if line.startswith("DISK FULL")]
        assert code == 1
        assert len(full) >= 1, run.output[-3000:]
        assert full[0].startswith(f"DISK FULL: no space left on the device while writing {warehouse}")
        assert outputs_fingerprint(warehouse) == before
        assert "Summary of run" in (warehouse / "reports" / "quality" / "index.html").read_text(encoding="utf-8")

        filler.unlink()
        again = PipelineProcess(landing, warehouse, dagster_home=dagster_home)
        assert again.finish() == 0, again.output[-3000:]
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
