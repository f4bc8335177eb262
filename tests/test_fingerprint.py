"""The fingerprint of what a publication is built from, and the decision to build nothing.

A small repository and landing folder are made in a temporary folder: every input a publication depends
on (a landing file, a sidecar, a seed, a model, the code, the reporting date) changes the fingerprint and
is named in what changed, and what the loaders ignore does not. The decision is tested on a real
publication (serving database, exports, reports) of the test build database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from ingestion.landing import LandingError
from orchestration import fingerprint
from orchestration.fingerprint import Fingerprint, LastRun, compute, decide
from orchestration.resources import WarehouseResource
from serving.publish import export_parquet, publish_serving_database
from tests.serving_fixtures import build_marts_db

TODAY = date(2026, 12, 1)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for path, text in {
        "dbt_project/dbt_project.yml": "name: x\nvars:\n  reporting_date: \"\"\n",
        "dbt_project/models/marts/m.sql": "select 1 as x",
        "dbt_project/seeds/ref_region_aliases.csv": "alias,region_code\n重庆,CN-CQ\n",
        "dbt_project/target/manifest.json": "{}",
        "dbt_project/logs/dbt.log": "log",
        "ingestion/__init__.py": "",
        "ingestion/loader.py": "LOAD = 1\n",
        "ingestion/columns.csv": "a,b\n",
        "tests/__init__.py": "",
        "tests/test_x.py": "def test(): pass\n",
        "bench/__init__.py": "",
        "data/landing/releases/x.csv": "not code",
        "pyproject.toml": "[project]\nname = 'x'\n",
        "requirements.lock": "duckdb==1.5.6\n",
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    for path, text in {
        "releases/nbs/rd_2022.csv": "地区,2022年\n重庆市,2.36\n",
        "releases/nbs/rd_2022.csv.meta.yml": "format: nbs_export\nrelease_date: 2023-09-18\n",
        "enterprise/submission_2024.csv": "uscc,period\n",
        "releases/.hidden.csv": "ignored",
        "enterprise/~$submission_2024.xlsx": "an Office lock file",
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def take(landing: Path, repo: Path, today: date = TODAY) -> Fingerprint:
    return compute(landing, repo, today)


def test_the_fingerprint_covers_every_input_of_a_publication_and_nothing_else(landing: Path, repo: Path):
    fp = take(landing, repo)

    assert sorted(fp.parts["landing"]) == [
        "enterprise/submission_2024.csv", "releases/nbs/rd_2022.csv", "releases/nbs/rd_2022.csv.meta.yml",
    ]
    assert sorted(fp.parts["seeds"]) == ["ref_region_aliases.csv"]
    assert sorted(fp.parts["dbt"]) == ["dbt_project.yml", "models/marts/m.sql"]
    assert sorted(fp.parts["code"]) == [
        "ingestion/__init__.py", "ingestion/columns.csv", "ingestion/loader.py", "pyproject.toml", "requirements.lock",
    ]
    assert fp.parts["runtime"]["reporting_date"] == "2026-12-01"
    assert {"python", "duckdb", "dbt-core", "dagster"} <= set(fp.parts["runtime"])
    assert take(landing, repo).digest == fp.digest  # the same inputs, the same fingerprint


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda landing, repo: (landing / "releases/nbs/rd_2022.csv").write_text("地区,2022年\n重庆市,2.37\n"),
         ["landing files: changed releases/nbs/rd_2022.csv"]),
        (lambda landing, repo: (landing / "releases/nbs/rd_2022.csv.meta.yml").write_text("release_date: 2023-09-19\n"),
         ["landing files: changed releases/nbs/rd_2022.csv.meta.yml"]),
        (lambda landing, repo: (landing / "enterprise/submission_2024.csv").unlink(),
         ["landing files: removed enterprise/submission_2024.csv"]),
        (lambda landing, repo: (landing / "enterprise/q1/submission_2025q1.csv").parent.mkdir()
         or (landing / "enterprise/q1/submission_2025q1.csv").write_text("uscc,period\n"),
         ["landing files: added enterprise/q1/submission_2025q1.csv"]),
        (lambda landing, repo: (landing / "enterprise/submission_2024.csv").rename(landing / "enterprise/moved.csv"),
         ["landing files: added enterprise/moved.csv; removed enterprise/submission_2024.csv"]),
        (lambda landing, repo: (repo / "dbt_project/seeds/ref_region_aliases.csv").write_text(
            "alias,region_code\n重庆,CN-CQ\n重庆市,CN-CQ\n"), ["dbt seeds: changed ref_region_aliases.csv"]),
        (lambda landing, repo: (repo / "dbt_project/models/marts/m.sql").write_text("select 2 as x"),
         ["dbt project files: changed models/marts/m.sql"]),
        (lambda landing, repo: (repo / "ingestion/loader.py").write_text("LOAD = 2\n"),
         ["code files: changed ingestion/loader.py"]),
        (lambda landing, repo: (repo / "requirements.lock").write_text("duckdb==1.5.7\n"),
         ["code files: changed requirements.lock"]),
        (lambda landing, repo: (repo / "core/__init__.py").parent.mkdir() or (repo / "core/__init__.py").write_text(""),
         ["code files: added core/__init__.py"]),  # a new package is code too
    ],
    ids=["file changed", "sidecar changed", "file removed", "file added", "file moved", "seed changed",
         "model changed", "code changed", "lock changed", "package added"],
)
def test_any_change_of_an_input_changes_the_fingerprint_and_is_named(landing: Path, repo: Path, change, expected):
    before = take(landing, repo)
    change(landing, repo)
    after = take(landing, repo)

    assert after.digest != before.digest
    assert after.changes(before) == expected


def test_what_the_pipeline_does_not_read_leaves_the_fingerprint_as_it_is(landing: Path, repo: Path):
    before = take(landing, repo)
    (landing / "releases" / ".~lock.rd_2022.csv#").write_text("LibreOffice lock")
    (landing / "enterprise" / "~$template.xlsx").write_text("Office lock")
    (repo / "tests" / "test_y.py").write_text("def test(): pass\n")
    (repo / "bench" / "new_bench.py").write_text("")
    (repo / "dbt_project" / "target" / "run_results.json").write_text("{}")
    (repo / "dbt_project" / "logs" / "dbt.log").write_text("more log")
    (repo / "ingestion" / "__pycache__").mkdir()
    (repo / "ingestion" / "__pycache__" / "loader.cpython-311.pyc").write_bytes(b"\0")
    (repo / "README.md").write_text("docs")
    (landing / "stray.csv").write_text("uscc,period\n")  # outside the folders of the kinds
    (landing / "enterprise" / "notes.txt").write_text("an extension no loader reads")
    (landing / "enterprise" / "README.md").write_text("documentation")

    assert take(landing, repo).digest == before.digest


def test_files_no_loader_reads_are_named_with_why_and_documentation_is_not(landing: Path):
    (landing / "stray.csv").write_text("uscc,period\n")
    (landing / "enterprise" / "notes.txt").write_text("an extension no loader reads")
    (landing / "enterprise" / "README.md").write_text("documentation")

    assert fingerprint.unread_landing_files(landing) == {
        "enterprise/notes.txt": "enterprise files are .csv, .parquet, .xlsx",
        "stray.csv": "not in a folder of releases/, enterprise/, registers/",
    }


def test_a_run_says_which_files_it_does_not_load_and_why(landing: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    from orchestration.run import say_unread_files

    monkeypatch.setenv("LANDING_DIR", str(landing))
    say_unread_files()
    assert capsys.readouterr().err == ""
    (landing / "stray.csv").write_text("uscc,period\n")
    say_unread_files()
    assert capsys.readouterr().err == (
        "not loaded: 1 file(s) of the landing folder that no loader reads: "
        "stray.csv (not in a folder of releases/, enterprise/, registers/)\n"
    )


def test_a_file_name_that_is_not_utf8_is_an_input_named_with_its_bytes_escaped(landing: Path, repo: Path):
    before = take(landing, repo)
    name = "报告_2025.csv".encode("gbk")  # unpacked on Linux from an archive made on Windows
    (landing / "enterprise" / os.fsdecode(name)).write_text("uscc,period\n")
    after = take(landing, repo)

    assert after.changes(before) == ["landing files: added enterprise/\\xb1\\xa8\\xb8\\xe6_2025.csv"]


def test_the_reporting_date_is_today_unless_the_dbt_var_pins_it(landing: Path, repo: Path):
    before = take(landing, repo)
    next_day = take(landing, repo, date(2026, 12, 2))
    assert next_day.changes(before) == ["versions and reporting date: reporting_date 2026-12-01 -> 2026-12-02"]

    project = repo / "dbt_project" / "dbt_project.yml"
    project.write_text(project.read_text().replace('reporting_date: ""', "reporting_date: 2026-06-30"))
    assert take(landing, repo).digest == take(landing, repo, date(2026, 12, 2)).digest
    assert take(landing, repo).parts["runtime"]["reporting_date"] == "2026-06-30"


def test_a_missing_landing_folder_has_no_fingerprint(tmp_path: Path, repo: Path):
    with pytest.raises(LandingError):
        compute(tmp_path / "nowhere", repo, TODAY)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LandingError, match="has no releases/ folder"):
        compute(tmp_path / "empty", repo, TODAY)


# ---------------------------------------------------------------- the decision on a real publication


@pytest.fixture
def published(tmp_path: Path, landing: Path, repo: Path) -> tuple[Path, Fingerprint]:
    """A warehouse whose last successful run, run-1, published everything with the current fingerprint."""
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    fp = take(landing, repo)
    build_marts_db(warehouse / "warehouse.duckdb")
    publish_serving_database(warehouse / "warehouse.duckdb", warehouse / "serving.duckdb", "run-1", inputs_sha256=fp.digest)
    export_parquet(warehouse / "serving.duckdb", warehouse / "exports")
    for report in ("indicators.html", "quality/index.html", "dbt-docs/index.html"):
        (warehouse / "reports" / report).parent.mkdir(parents=True, exist_ok=True)
        (warehouse / "reports" / report).write_text("<html></html>")
    fingerprint.record_successful_run(LastRun("run-1", "2026-12-01T09:00:00", "2026-12-01T09:01:00", fp), warehouse)
    return warehouse, fp


def test_nothing_to_do_when_the_last_successful_run_published_the_same_inputs(published):
    warehouse, fp = published

    decision = decide(fp, warehouse_dir=warehouse)

    assert decision.current, decision.reason
    assert decision.reason == "nothing changed since run run-1"
    assert decision.last_run.run_id == "run-1" and decision.publication["run_id"] == "run-1"
    assert decision.publication["inputs_sha256"] == fp.digest


def test_a_failed_run_says_whether_it_published_and_what_is_published(published, monkeypatch: pytest.MonkeyPatch):
    from orchestration.run import publication_line

    warehouse, _ = published
    monkeypatch.setenv("WAREHOUSE_DIR", str(warehouse))
    assert re.fullmatch(
        r"Nothing of this run is published: the serving database is still the publication of run run-1, "
        r"published \S+ \(\d+ tables, \d+ rows\)\.",
        publication_line("run-2"),
    )
    publish_serving_database(warehouse / "warehouse.duckdb", warehouse / "serving.duckdb", "run-2")
    assert publication_line("run-2").startswith("This run published the serving database before it failed: published ")
    (warehouse / "serving.duckdb").write_bytes(b"damaged")
    assert publication_line("run-3") == (
        f"Nothing of this run is published, and {warehouse / 'serving.duckdb'} cannot be read or records no publication."
    )
    (warehouse / "serving.duckdb").unlink()
    assert publication_line("run-3") == "Nothing is published: there is no serving database yet."


def test_a_changed_input_rebuilds_and_says_what_changed(published, landing: Path, repo: Path):
    warehouse, _ = published
    (repo / "dbt_project/seeds/ref_region_aliases.csv").write_text("alias,region_code\n")
    (landing / "releases/nbs/rd_2022.csv").unlink()

    decision = decide(take(landing, repo), warehouse_dir=warehouse)

    assert not decision.current
    assert decision.reason == "inputs changed since run run-1"
    assert decision.changes == [
        "landing files: removed releases/nbs/rd_2022.csv", "dbt seeds: changed ref_region_aliases.csv",
    ]


def test_forced_or_after_an_interrupted_run_everything_is_rebuilt(published):
    warehouse, fp = published
    assert decide(fp, warehouse_dir=warehouse, force=True).reason == "rebuild forced (WAREHOUSE_FORCE_REBUILD=1)"
    assert decide(fp, warehouse_dir=warehouse, interrupted=True).reason == "the last run was stopped before it finished"


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_the_force_variable(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("WAREHOUSE_FORCE_REBUILD", value)
    assert fingerprint.forced()
    monkeypatch.setenv("WAREHOUSE_FORCE_REBUILD", "0")
    assert not fingerprint.forced()


def test_a_run_that_started_after_the_successful_one_leaves_no_record(published):
    warehouse, fp = published
    fingerprint.forget_successful_run(warehouse)

    decision = decide(fp, warehouse_dir=warehouse)

    assert not decision.current
    assert decision.reason == "no successful run is recorded since the last run that changed the warehouse"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda w: publish_serving_database(w / "warehouse.duckdb", w / "serving.duckdb", "run-2"),
         "serving.duckdb is not the publication of run run-1 (found: run run-2)"),
        (lambda w: (w / "serving.duckdb").unlink(), "serving.duckdb is not the publication of run run-1 (found: none)"),
        (lambda w: shutil.rmtree(w / "exports"), "the Parquet exports are not those of run run-1"),
        (lambda w: (w / "reports" / "dbt-docs" / "index.html").unlink(), "missing: dbt-docs/index.html"),
        (lambda w: (w / "warehouse.duckdb").unlink(), "missing: warehouse.duckdb"),
    ],
    ids=["published by another run", "serving removed", "exports removed", "report removed", "build db removed"],
)
def test_outputs_that_are_not_those_of_the_last_successful_run_are_rebuilt(published, damage, reason):
    warehouse, fp = published
    damage(warehouse)

    decision = decide(fp, warehouse_dir=warehouse)

    assert not decision.current
    assert decision.reason == reason


def test_a_record_that_was_edited_or_torn_is_not_trusted(published):
    warehouse, fp = published
    record = warehouse / fingerprint.LAST_RUN_FILE
    data = json.loads(record.read_text())
    data["inputs"]["landing"]["releases/nbs/rd_2022.csv"] = "0" * 64
    record.write_text(json.dumps(data))
    assert fingerprint.read_successful_run(warehouse) is None
    record.write_text(record.read_text()[:100])
    assert fingerprint.read_successful_run(warehouse) is None
    assert not decide(fp, warehouse_dir=warehouse).current


def _run_job(job_name: str, warehouse: Path) -> None:
    @dg.asset
    def touch(warehouse: WarehouseResource) -> None:
        pass

    defs = dg.Definitions(
        assets=[touch],
        jobs=[dg.define_asset_job(job_name, selection=[touch])],
        resources={"warehouse": WarehouseResource(database=str(warehouse / "warehouse.duckdb"))},
    )
    assert defs.resolve_job_def(job_name).execute_in_process(instance=dg.DagsterInstance.ephemeral()).success


def test_every_dagster_run_but_the_quality_job_forgets_the_last_successful_run(published):
    from orchestration.automation import quality_job

    warehouse, fp = published
    record = warehouse / fingerprint.LAST_RUN_FILE
    assert fingerprint.JOBS_KEEPING_THE_PUBLICATION == {quality_job.name}

    _run_job("quality_job", warehouse)  # checks and the quality report only: the publication stays current
    assert record.exists()
    _run_job("warehouse_job", warehouse)  # e.g. launched by the sensor or from the UI in `make dev`
    assert not record.exists()
    assert not decide(fp, warehouse_dir=warehouse).current
