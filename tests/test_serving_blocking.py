"""A blocking check that fails upstream keeps the last good serving.duckdb exactly as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from core import settings
from core.warehouse import write_connection
from ingestion.audit import AUDIT_DDL
from orchestration.assets.serving import SERVING_DATABASE_KEY, build_serving_database_asset, failed_blocking_checks
from orchestration.resources import warehouse_resource

MART = dg.AssetKey(["marts", "rd_intensity_probe"])


@dg.asset(key=MART)
def rd_intensity_probe() -> None:
    """A one-row mart whose R&D intensity comes from LANDING_DIR/intensity.txt."""
    value = float((settings.landing_dir() / "intensity.txt").read_text())
    with write_connection(setup=AUDIT_DDL) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.rd_intensity_probe as select 'CN-CQ' as region_code, ?::double as rd_intensity_pct",
            [value],
        )


@dg.asset_check(asset=MART, blocking=True)
def rd_intensity_within_0_and_10_pct() -> dg.AssetCheckResult:
    con = duckdb.connect(str(settings.warehouse_db_path()), read_only=True)
    try:
        bad = con.execute("select count(*) from marts.rd_intensity_probe where rd_intensity_pct not between 0 and 10").fetchone()[0]
    finally:
        con.close()
    return dg.AssetCheckResult(passed=bad == 0, severity=dg.AssetCheckSeverity.ERROR, metadata={"unexpected_count": bad})


serving_database = build_serving_database_asset([MART])
ASSETS = [rd_intensity_probe, rd_intensity_within_0_and_10_pct, serving_database]


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    (tmp_path / "landing").mkdir()
    return tmp_path / "warehouse"


def run(instance: dg.DagsterInstance, intensity: str | None = None, selection: list[dg.AssetKey] | None = None):
    if intensity is not None:
        (settings.landing_dir() / "intensity.txt").write_text(intensity)
    return dg.materialize(ASSETS, instance=instance, selection=selection, raise_on_error=False, resources={"warehouse": warehouse_resource()})


def served_intensity(serving: Path) -> list[tuple]:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute("select rd_intensity_pct from marts.rd_intensity_probe").fetchall()
    finally:
        con.close()


def fingerprint(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_ino, stat.st_mtime_ns


def test_passing_check_publishes_then_failing_check_leaves_old_serving_file(warehouse: Path):
    instance = dg.DagsterInstance.ephemeral()
    serving = warehouse / "serving.duckdb"

    first = run(instance, "2.11")
    assert first.success
    assert served_intensity(serving) == [(2.11,)]
    before = fingerprint(serving)

    second = run(instance, "45")
    assert not second.success
    (evaluation,) = second.get_asset_check_evaluations()
    assert (evaluation.passed, evaluation.severity) == (False, dg.AssetCheckSeverity.ERROR)
    materialized = {e.asset_key for e in second.get_asset_materialization_events()}
    assert materialized == {MART}  # the bad mart was built, the serving database was not
    assert fingerprint(serving) == before
    assert served_intensity(serving) == [(2.11,)]
    assert sorted(p.name for p in warehouse.iterdir() if p.name.startswith("serving")) == [
        "serving.duckdb",
        "serving.duckdb.lock",
    ]


def test_serving_alone_refuses_to_publish_after_a_failed_blocking_check(warehouse: Path):
    instance = dg.DagsterInstance.ephemeral()
    serving = warehouse / "serving.duckdb"
    assert run(instance, "2.11").success
    failed = run(instance, "45")
    assert not failed.success
    before = fingerprint(serving)

    alone = run(instance, selection=[SERVING_DATABASE_KEY])

    assert not alone.success
    (failure,) = [e for e in alone.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert message == (
        "not publishing: blocking checks failed on their latest evaluation: "
        f"marts/rd_intensity_probe:rd_intensity_within_0_and_10_pct (run {failed.run_id})"
    )
    assert fingerprint(serving) == before


def test_serving_publishes_again_once_the_check_passes(warehouse: Path):
    instance = dg.DagsterInstance.ephemeral()
    serving = warehouse / "serving.duckdb"
    assert run(instance, "2.11").success
    assert not run(instance, "45").success

    fixed = run(instance, "2.16")

    assert fixed.success
    assert served_intensity(serving) == [(2.16,)]
    con = duckdb.connect(str(serving), read_only=True)
    try:
        runs = con.execute("select distinct run_id from meta.publications order by published_at").fetchall()
    finally:
        con.close()
    assert len(runs) == 2  # the failed run published nothing


def test_serving_job_of_a_code_location_refuses_after_a_failed_blocking_check(warehouse: Path):
    """The same refusal through Definitions and a job selecting only the serving database, as `make dev` runs it."""
    defs = dg.Definitions(
        assets=[rd_intensity_probe, serving_database],
        asset_checks=[rd_intensity_within_0_and_10_pct],
        jobs=[
            dg.define_asset_job("everything", selection=dg.AssetSelection.all()),
            dg.define_asset_job("publish_only", selection=dg.AssetSelection.assets(SERVING_DATABASE_KEY)),
        ],
        resources={"warehouse": warehouse_resource()},
        executor=dg.in_process_executor,
    )
    instance = dg.DagsterInstance.ephemeral()
    (settings.landing_dir() / "intensity.txt").write_text("2.11")
    assert defs.resolve_job_def("everything").execute_in_process(instance=instance).success
    (settings.landing_dir() / "intensity.txt").write_text("45")
    assert not defs.resolve_job_def("everything").execute_in_process(instance=instance, raise_on_error=False).success
    before = fingerprint(warehouse / "serving.duckdb")

    result = defs.resolve_job_def("publish_only").execute_in_process(instance=instance, raise_on_error=False)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_failure_data.user_failure_data.description.startswith("not publishing: blocking checks failed")
    assert fingerprint(warehouse / "serving.duckdb") == before


def test_the_publish_gate_answers_outside_a_run_too(warehouse: Path):
    """The question the serving database asks before it publishes, asked by anyone else with the instance and
    the code location's asset graph: the same answer, naming the check and the run it failed in."""
    defs = dg.Definitions(
        assets=[rd_intensity_probe, serving_database],
        asset_checks=[rd_intensity_within_0_and_10_pct],
        resources={"warehouse": warehouse_resource()},
    )
    instance = dg.DagsterInstance.ephemeral()
    assert failed_blocking_checks(instance, defs.resolve_asset_graph()) == []  # nothing evaluated yet

    assert run(instance, "2.11").success
    assert failed_blocking_checks(instance, defs.resolve_asset_graph()) == []
    failed = run(instance, "45")

    assert failed_blocking_checks(instance, defs.resolve_asset_graph()) == [
        f"marts/rd_intensity_probe:rd_intensity_within_0_and_10_pct (run {failed.run_id})"
    ]
    assert failed_blocking_checks(instance, defs.resolve_asset_graph(), MART) == []  # nothing upstream of the mart
