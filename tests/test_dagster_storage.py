"""The instance of orchestration/dagster.yaml keeps its event log's SQLite files open (orchestration/storage.py)
and writes Dagster's own files: what it stored reads back with Dagster's stock storage, a killed process
loses nothing it stored, a process that ends leaves no write-ahead log behind, and the files it keeps open
stay few."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

from core import settings
from orchestration.storage import OPEN_FILES, KeptOpenSqliteEventLogStorage, open_instance, prepare_dagster_home

#: A job of one asset with one check, run in a process of its own that then ends, or is killed (SIGKILL).
RUN_JOB = textwrap.dedent("""
    import os, signal, sys
    import dagster as dg

    @dg.asset
    def figures():
        return 1

    @dg.asset_check(asset=figures)
    def figures_are_positive():
        return dg.AssetCheckResult(passed=True)

    os.environ["DAGSTER_HOME"] = sys.argv[1]
    instance = dg.DagsterInstance.get()  # as `make run` gets it, never disposed of
    result = dg.materialize([figures, figures_are_positive], instance=instance)
    print(result.run_id, flush=True)
    if sys.argv[2] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)  # the connections die with the process
""")


def run_job(dagster_home: Path, end: str) -> str:
    """The run id of :data:`RUN_JOB` run into ``dagster_home``; ``end``: ``kill`` or ``exit``."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_JOB, str(dagster_home), end], cwd=settings.REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == (-9 if end == "kill" else 0), done.stderr[-3000:]
    return done.stdout.split()[-1]


def test_the_project_instance_keeps_its_event_log_open(tmp_path: Path):
    with open_instance(prepare_dagster_home(tmp_path / "dagster_home")) as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)


def test_what_a_killed_process_stored_reads_back_with_dagsters_stock_storage(tmp_path: Path):
    dagster_home = prepare_dagster_home(tmp_path / "dagster_home")
    run_id = run_job(dagster_home, "kill")

    stock = DagsterSqliteStorage.from_local(str(dagster_home))  # the default storage of the same folder
    try:
        (run,) = stock.run_storage.get_runs(dg.RunsFilter(run_ids=[run_id]))
        assert run.status == dg.DagsterRunStatus.SUCCESS
        events = stock.event_log_storage.get_logs_for_run(run_id)
        types = {e.dagster_event.event_type for e in events if e.dagster_event}
        assert {
            dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
            dg.DagsterEventType.ASSET_CHECK_EVALUATION, dg.DagsterEventType.RUN_SUCCESS,
        } <= types
        # the index (asset and check history across runs) has them too
        check = dg.AssetCheckKey(dg.AssetKey("figures"), "figures_are_positive")
        (record,) = stock.event_log_storage.get_asset_check_execution_history(check, limit=10)
        assert record.run_id == run_id
        assert stock.event_log_storage.get_latest_materialization_events([dg.AssetKey("figures")])[dg.AssetKey("figures")]
    finally:
        stock.dispose()


def test_a_process_that_ends_leaves_no_write_ahead_log(tmp_path: Path):
    dagster_home = prepare_dagster_home(tmp_path / "dagster_home")
    run_id = run_job(dagster_home, "exit")
    files = sorted(p.name for p in (dagster_home / "history" / "runs").iterdir())
    assert f"{run_id}.db" in files and "index.db" in files
    assert [name for name in files if name.endswith(("-wal", "-shm"))] == []


def test_the_files_kept_open_stay_few_and_a_wipe_closes_them(tmp_path: Path):
    storage = KeptOpenSqliteEventLogStorage(str(tmp_path / "runs"))
    try:
        for n in range(OPEN_FILES + 5):
            with storage.run_connection(f"run-{n}") as conn:
                conn.exec_driver_sql("select 1")
        assert len(storage._engines) == OPEN_FILES
        storage.wipe()  # closes the run files before deleting them, then empties the index
        assert list(storage._engines) == ["index"]
        assert sorted(p.name for p in (tmp_path / "runs").glob("run-*")) == []
    finally:
        storage.dispose()
