"""The dbt command the pipeline runs (core.dbt_command): dbt's command line with the manifest written once
and no teardown of dbt's objects at exit, and otherwise what `dbt` does (its events, exit codes, artifacts;
the database closed and checkpointed)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from core import dbt_command, settings
from orchestration.dbt_project import DBT_EXECUTABLE


def test_the_pipeline_runs_the_dbt_command_of_its_environment():
    assert Path(DBT_EXECUTABLE) == Path(sys.executable).parent / "warehouse-dbt"
    assert Path(DBT_EXECUTABLE).is_file(), "make install installs it (pyproject.toml, [project.scripts])"


def test_dbt_still_parses_the_manifest_through_what_the_command_replaces():
    """The pinned dbt-core parses the manifest of a command through ``dbt.cli.requires.parse_manifest``,
    whose third argument says whether to write it: an upgrade that changes either fails here."""
    from dbt.cli import requires
    from dbt.parser import manifest

    assert "parse_manifest" in requires.setup_manifest.__code__.co_names
    assert list(inspect.signature(manifest.parse_manifest).parameters)[:4] == [
        "runtime_config", "write_perf_info", "write", "write_json"
    ]


def test_the_manifest_is_not_written_after_parsing_while_in_the_block(monkeypatch):
    from dbt.cli import requires

    calls = []
    monkeypatch.setattr(requires, "parse_manifest", lambda *args, **kwargs: calls.append(args))
    original = requires.parse_manifest
    with dbt_command.manifest_written_at_end_only():
        requires.parse_manifest("config", False, True, True, [])
    requires.parse_manifest("config", False, True, True, [])
    assert calls == [("config", False, False, True, []), ("config", False, True, True, [])]
    assert requires.parse_manifest is original


def _dbt(executable: str, args: list[str], warehouse: Path, target: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [executable, *args, "--log-format", "json", "--log-level-file", "none",
         "--vars", json.dumps({"warehouse_path": str(warehouse / "warehouse.duckdb")}),
         "--target-path", str(target), "--profiles-dir", str(settings.DBT_PROJECT_DIR)],
        cwd=settings.DBT_PROJECT_DIR, capture_output=True, text=True, timeout=300,
        env={**os.environ, "WAREHOUSE_DIR": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """`warehouse-dbt seed` of one seed into a new warehouse."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    target = warehouse / "target"
    return _dbt(DBT_EXECUTABLE, ["seed", "--select", "ref_units"], warehouse, target), warehouse, target


def test_a_command_says_what_dbt_says_and_leaves_its_artifacts(seeded):
    done, _, target = seeded
    assert done.returncode == 0, done.stdout[-3000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert events and all(line.startswith("{") for line in done.stdout.splitlines() if line.strip())
    assert events[-1]["info"]["name"] == "StatsLine" and "PASS=1 " in events[-1]["info"]["msg"]
    assert done.stderr == ""  # no warning of semaphores left behind: multiprocessing's exit handler ran
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in results["results"]] == ["success"]
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert "seed.innovation_warehouse.ref_units" in manifest["nodes"]


def test_the_database_is_closed_and_checkpointed_before_the_process_ends(seeded):
    """dbt-duckdb closes the database in an exit handler: without it the seed would be left in the WAL."""
    done, warehouse, _ = seeded
    assert done.returncode == 0
    assert not (warehouse / "warehouse.duckdb.wal").exists()
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from reference.ref_units").fetchone()[0] > 0
    finally:
        con.close()


def test_a_failed_command_ends_with_dbts_exit_code_and_message(tmp_path):
    """The exit code dbt gives a command that fails (a macro that does not exist) is the command's."""
    args = ["run-operation", "no_such_macro"]
    ours = _dbt(DBT_EXECUTABLE, args, tmp_path, tmp_path / "ours")
    dbts = _dbt(str(Path(sys.executable).parent / "dbt"), args, tmp_path, tmp_path / "dbts")
    assert ours.returncode == dbts.returncode != 0
    assert "no_such_macro" in ours.stdout
