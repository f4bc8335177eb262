"""A run never succeeds on nothing, nor publishes much less than before without being told to: what
`make run` prints and does when the landing folder is missing or the marts would shrink."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PipelineRun
from tests.pipeline_process import PipelineProcess

pytestmark = pytest.mark.slow


def served_counts(serving_db: Path) -> dict[str, int]:
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        return dict(con.execute(
            "select table_schema || '.' || table_name, row_count from meta.publications"
            " qualify published_at = max(published_at) over ()"
        ).fetchall())
    finally:
        con.close()


def test_a_missing_landing_folder_fails_the_run_naming_it_and_publishes_nothing(tmp_path: Path):
    run = PipelineProcess(tmp_path / "nowhere", tmp_path / "warehouse")

    assert run.finish() == 1
    assert (
        f"FAILED: the landing folder {tmp_path / 'nowhere'} does not exist: "
        "set LANDING_DIR to the folder that holds releases/"
    ) in run.lines
    assert not (tmp_path / "warehouse" / "serving.duckdb").exists()
    # the dbt process it started in advance, unused, is stopped by the run, not reported as left behind
    assert not [line for line in run.lines if "left running" in line]


def test_a_damaged_build_database_fails_the_run_naming_it_and_what_to_do_and_is_left_as_it_is(tmp_path: Path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    (landing / "releases").mkdir(parents=True)
    warehouse.mkdir()
    damaged = warehouse / "warehouse.duckdb"
    damaged.write_bytes(b"\x00" * 4096 + b"not a DuckDB file")
    run = PipelineProcess(landing, warehouse)

    assert run.finish() == 1
    (line,) = [line for line in run.lines if line.startswith("FAILED")]
    assert line.startswith(f"FAILED: the build database {damaged} cannot be opened (IO Error: ")
    assert line.endswith(
        "; nothing was changed: restore it from a backup, or move it away and run again to build it anew from the "
        "landing folder (its load log and release vintages then start from that run)"
    )
    assert "Nothing is published: there is no serving database yet." in run.lines
    assert "Traceback" not in run.output
    assert damaged.read_bytes() == b"\x00" * 4096 + b"not a DuckDB file"


def test_a_build_database_held_open_by_another_program_is_named_with_what_to_do(tmp_path: Path):
    from core.warehouse import unopenable

    db = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db)).close()
    assert unopenable(db) is None
    assert unopenable(tmp_path / "absent.duckdb") is None
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(db)!r}); print('open', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        problem = unopenable(db)
    finally:
        holder.kill()
        holder.wait()
    assert problem is not None and problem.startswith(f"the build database {db} cannot be opened (IO Error: Could not set lock")
    assert problem.endswith("; nothing was changed: close the program that holds it open and run again")


def test_a_failed_step_is_said_with_the_error_our_code_raised_not_the_one_it_was_raised_from():
    import dagster as dg

    from orchestration.pipeline import PipelineResult
    from orchestration.run import failure_lines
    from serving.publish import PublishError

    @dg.op
    def publish():
        try:
            duckdb.connect().execute("select * from read_parquet('/nowhere/x.parquet')")
        except duckdb.Error as error:
            raise PublishError("cannot read x: move it away and run again") from error

    result = dg.GraphDefinition("g", node_defs=[publish]).to_job().execute_in_process(raise_on_error=False)

    assert failure_lines(PipelineResult(runs=[result])) == ["FAILED step publish: cannot read x: move it away and run again"]


def test_marts_halved_by_withdrawn_files_are_published_only_once_confirmed(pipeline: PipelineRun, tmp_path: Path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(pipeline.landing_dir, landing)
    shutil.copytree(pipeline.warehouse_dir, warehouse, ignore=shutil.ignore_patterns("*.lock*"))
    before = served_counts(warehouse / "serving.duckdb")
    shutil.rmtree(landing / "releases" / "nbs")  # the provincial R&D tables: most rows of the R&D marts

    blocked = PipelineProcess(landing, warehouse)
    assert blocked.finish() == 1
    (line,) = [line for line in blocked.lines if line.startswith("FAILED step serving__serving_database:")]
    assert line.startswith("FAILED step serving__serving_database: not publishing: against the last publication, ")
    assert f"marts.rd_intensity: {before['marts.rd_intensity']} -> " in line
    assert line.endswith("(or =all); the current serving database is unchanged.")
    assert served_counts(warehouse / "serving.duckdb") == before

    confirmed = PipelineProcess(landing, warehouse, WAREHOUSE_ALLOW_SHRINK="all")
    assert confirmed.finish() == 0, confirmed.output[-3000:]
    after = served_counts(warehouse / "serving.duckdb")
    assert after["marts.rd_intensity"] < before["marts.rd_intensity"] / 2


def test_a_full_disk_line_names_the_file_that_could_not_be_written():
    from orchestration.run import disk_full_line

    copy = "[Errno 28] No space left on device: '/repo/dbt_project/target/partial_parse.msgpack' -> '/w/dbt/r/build/partial_parse.msgpack'"
    assert disk_full_line(copy).startswith("DISK FULL: no space left on the device while writing /w/dbt/r/build/partial_parse.msgpack.")
    duckdb_error = "IO Error: Could not write all bytes to file \"/w/warehouse.duckdb.wal\": wrote 0/4096 bytes"
    assert disk_full_line(duckdb_error).startswith("DISK FULL: no space left on the device while writing /w/warehouse.duckdb.wal.")
    assert disk_full_line("Permission denied: '/w/x'") is None
