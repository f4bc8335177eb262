"""The code location loads, and its asset graph, checks, jobs, schedule and sensor are what users rely on."""

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata

from pathlib import Path

import dagster as dg
import pytest

from core import settings
from orchestration.definitions import build_definitions


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_DIR", str(tmp_path_factory.mktemp("defs")))
        yield build_definitions()


#: Imports the code location in a fresh interpreter; prints the environment variables the import changed and
#: the processes it started. Dagster and dagster-dbt are imported first: Dagster's vendored croniter runs
#: `file` on the interpreter when it is imported, which is not the code location's doing.
IMPORT_PROBE = textwrap.dedent(
    """
    import json, os, subprocess
    import dagster, dagster_dbt
    before, started = dict(os.environ), []
    popen_init = subprocess.Popen.__init__
    def record(self, args, *rest, **kwargs):
        started.append(args if isinstance(args, str) else " ".join(map(str, args)))
        popen_init(self, args, *rest, **kwargs)
    subprocess.Popen.__init__ = record
    import orchestration.definitions
    changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
    print(json.dumps({"changed": changed, "started": started}))
    """
)


def test_loading_the_code_location_changes_no_environment_variable_and_runs_nothing(tmp_path):
    """The dbt manifest is prepared at install (`make manifest`), and dbt gets the warehouse path from the
    dbt asset: importing the definitions neither runs dbt nor writes os.environ (a relative WAREHOUSE_DIR
    stays relative, as the user gave it)."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DAGSTER_IS_DEV_CLI", "GX_ANALYTICS_ENABLED")},
        "WAREHOUSE_DIR": os.path.relpath(tmp_path / "warehouse", settings.REPO_ROOT),
        "LANDING_DIR": os.path.relpath(tmp_path / "landing", settings.REPO_ROOT),
        "PYTHONPATH": str(settings.REPO_ROOT),
    }
    probe = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], cwd=settings.REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert json.loads(probe.stdout.splitlines()[-1]) == {"changed": [], "started": []}


#: Loads the code location in a fresh interpreter, dagster-dbt imported first or not (argv[1]: "dbt-core
#: first"); prints whether dbt-core was imported and the asset graph: assets, their parents, checks, jobs.
GRAPH_PROBE = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1:] == ["dbt-core first"]:
        import dagster_dbt  # dagster-dbt as it loads by default: with dbt-core, which it finds installed
    from orchestration.definitions import build_definitions
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    print(json.dumps({
        "dbt_core_imported": "dbt.adapters" in sys.modules,
        "scipy_imported": "scipy" in sys.modules,
        "openpyxl_imported": "openpyxl" in sys.modules,
        "assets": {k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
                   for k in graph.get_all_asset_keys()},
        "checks": sorted(str(k) for k in graph.asset_check_keys),
        "jobs": sorted(job.name for job in defs.resolve_all_job_defs()),
    }, sort_keys=True))
    """
)


def test_the_code_location_loads_without_importing_dbt_core_and_with_the_same_asset_graph(tmp_path):
    """dbt runs in a process of its own; the orchestrator imports dagster-dbt without dbt-core
    (orchestration/__init__.py), which saved 2-2.5 s of every run's start-up. The asset graph is the one
    dagster-dbt builds with dbt-core: every dbt model and source, the dbt tests as checks, the same
    lineage."""
    env = {**os.environ, "WAREHOUSE_DIR": str(tmp_path / "warehouse"), "PYTHONPATH": str(settings.REPO_ROOT)}

    def probe(*args: str) -> dict:
        loaded = subprocess.run([sys.executable, "-c", GRAPH_PROBE, *args], cwd=settings.REPO_ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        return json.loads(loaded.stdout.splitlines()[-1])

    without, with_dbt_core = probe(), probe("dbt-core first")
    assert not without.pop("dbt_core_imported") and with_dbt_core.pop("dbt_core_imported")
    # nor SciPy (0.3 s of start-up): the disclosure rules import it when they need it (Great Expectations, which
    # the run imports while dbt builds, imports it too)
    assert not without.pop("scipy_imported") and not with_dbt_core.pop("scipy_imported")
    # nor openpyxl (0.14 s): the readers of XLSX files import it when they read one
    assert not without.pop("openpyxl_imported") and not with_dbt_core.pop("openpyxl_imported")
    assert without == with_dbt_core
    assert "marts/rd_intensity" in without["assets"] and len(without["checks"]) > 100


def test_dbt_opens_the_build_database_of_the_warehouse_resource(defs: dg.Definitions, tmp_path):
    """dbt's profile takes the build database from the var the dbt asset passes (``dbt_args``), not from the
    environment: with WAREHOUSE_DIR pointing elsewhere, `dbt debug` connects to the resource's database."""
    warehouse = defs.resources["warehouse"]
    debug = _dbt_debug(warehouse, tmp_path / "logs", WAREHOUSE_DIR=str(tmp_path / "elsewhere"))
    assert f"path: {warehouse.path}" in debug.stdout
    assert warehouse.path.is_file() and not (tmp_path / "elsewhere").exists()


def keys(defs: dg.Definitions) -> set[str]:
    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def test_every_step_from_landing_files_to_reports_is_an_asset(defs: dg.Definitions):
    assert {
        "raw/releases",
        "raw/enterprise_submissions",
        "raw/registers",
        "mapped/release_observations",
        "mapped/enterprise_rejected_rows",
        "mapped/register_kinds",
        "reference/ref_regions",
        "staging/stg_releases__observations",
        "marts/dim_region",
        "marts/fct_indicator_vintages",
        "marts/fct_indicator_values",
        "marts/rd_intensity",
        "marts/patents_per_10k",
        "marts/industrial_va_growth",
        "marts/soe_innovation",
        "marts/target_tracking",
        "marts/recognitions_in_force",
        "serving/serving_database",
        "serving/parquet_exports",
        "reports/indicator_report",
        "reports/quality",
        "reports/dbt_docs",
    } <= keys(defs)


def test_lineage_runs_unbroken_from_the_release_loader_to_rd_intensity(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()
    upstream = graph.get(dg.AssetKey(["marts", "rd_intensity"])).parent_keys
    seen, frontier = set(upstream), list(upstream)
    while frontier:
        for parent in graph.get(frontier.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    assert {dg.AssetKey(["raw", "releases"]), dg.AssetKey(["mapped", "release_observations"])} <= seen


def test_each_mapping_runs_after_its_loader_and_feeds_its_staging_model(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()
    for mapped, raw, model in (
        ("release_observations", "releases", "stg_releases__observations"),
        ("enterprise_rejected_rows", "enterprise_submissions", "stg_mapped__enterprise_rejected_rows"),
        ("register_kinds", "registers", "stg_mapped__register_kinds"),
    ):
        assert graph.get(dg.AssetKey(["mapped", mapped])).parent_keys == {dg.AssetKey(["raw", raw])}
        assert graph.get(dg.AssetKey(["staging", model])).parent_keys == {dg.AssetKey(["mapped", mapped])}
    assert graph.get(dg.AssetKey(["staging", "stg_registers__records"])).parent_keys == {dg.AssetKey(["raw", "registers"])}
    assert dg.AssetKey(["staging", "stg_mapped__enterprise_rejected_rows"]) in graph.get(
        dg.AssetKey(["intermediate", "int_enterprise_submissions_accepted"])
    ).parent_keys


def test_raw_assets_have_one_partition_per_landed_file_of_their_kind(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()
    for key, partitions in (("releases", "releases_files"), ("enterprise_submissions", "enterprise_files"),
                            ("registers", "registers_files")):
        node = graph.get(dg.AssetKey(["raw", key]))
        assert node.partitions_def == dg.DynamicPartitionsDefinition(name=partitions)
        assert node.backfill_policy == dg.BackfillPolicy.single_run()  # a range of files in one run
    # everything downstream materializes by declarative automation
    for key in (["mapped", "release_observations"], ["marts", "rd_intensity"], ["serving", "serving_database"],
                ["reports", "quality"]):
        assert graph.get(dg.AssetKey(key)).automation_condition.get_label() == "on_change", key


def test_marts_have_blocking_quality_checks_and_dbt_tests(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()
    rd_checks = {c for c in graph.asset_check_keys if c.asset_key == dg.AssetKey(["marts", "rd_intensity"])}
    assert any(c.name.startswith("not_null") or c.name.startswith("unique") for c in rd_checks)  # dbt tests
    assert any(graph.get_check_spec(c).blocking for c in rd_checks)  # GX error-level expectations


def test_publishing_waits_for_the_marts(defs: dg.Definitions):
    parents = defs.resolve_asset_graph().get(dg.AssetKey(["serving", "serving_database"])).parent_keys
    assert dg.AssetKey(["marts", "target_tracking"]) in parents


def test_every_published_report_waits_for_the_publication(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()
    for report in (["reports", "dbt_docs"], ["reports", "indicator_report"], ["serving", "parquet_exports"]):
        assert dg.AssetKey(["serving", "serving_database"]) in graph.get(dg.AssetKey(report)).parent_keys, report


def test_jobs_schedule_and_sensors_exist(defs: dg.Definitions):
    assert defs.resolve_job_def("warehouse_job") is not None
    assert defs.resolve_job_def("quality_job") is not None
    for kind in ("releases", "enterprise", "registers"):
        assert defs.resolve_job_def(f"ingest_{kind}").partitions_def is not None
    schedule = defs.resolve_schedule_def("daily_quality_report")
    assert schedule.cron_schedule == "0 6 * * *"
    assert {job.name for job in defs.resolve_sensor_def("landing_files_sensor").jobs} == {
        "ingest_releases", "ingest_enterprise", "ingest_registers"
    }
    assert defs.resolve_sensor_def("warehouse_automation").default_status == dg.DefaultSensorStatus.RUNNING


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None = None):
    """One evaluation of the landing sensor, its partition requests applied to the instance as the daemon does."""
    result = defs.resolve_sensor_def("landing_files_sensor").evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=cursor)
    )
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def _ranges(result) -> list[tuple[str | None, str, str]]:
    return [
        (request.job_name, request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"])
        for request in result.run_requests
    ]


def test_sensor_launches_the_partitions_of_new_changed_and_removed_files_only(tmp_path, monkeypatch, defs: dg.Definitions):
    monkeypatch.setenv("LANDING_DIR", str(tmp_path))
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))  # no successful run recorded
    (tmp_path / "releases").mkdir()
    (tmp_path / "enterprise").mkdir()
    (tmp_path / "releases" / "a.csv").write_text("a")
    (tmp_path / "releases" / "a.csv.meta.yml").write_text("a")
    (tmp_path / "enterprise" / "q1.csv").write_text("q1")
    (tmp_path / "releases" / "notes.txt").write_text("not a release")  # no loader reads it
    instance = dg.DagsterInstance.ephemeral()

    first = _tick(defs, instance)  # nothing recorded: every file
    again = _tick(defs, instance, first.cursor)
    (tmp_path / "releases" / "b.csv").write_text("b")
    new_file = _tick(defs, instance, again.cursor)
    (tmp_path / "releases" / "a.csv.meta.yml").write_text("a, corrected")
    sidecar_changed = _tick(defs, instance, new_file.cursor)
    (tmp_path / "enterprise" / "q1.csv").unlink()
    removed = _tick(defs, instance, sidecar_changed.cursor)

    assert sorted(_ranges(first)) == [
        ("ingest_enterprise", "enterprise/q1.csv", "enterprise/q1.csv"),
        ("ingest_releases", "releases/a.csv", "releases/a.csv"),
    ]
    assert instance.get_dynamic_partitions("releases_files") == ["releases/a.csv", "releases/b.csv"]
    assert again.run_requests == [] and again.skip_message.startswith("no change under")
    assert _ranges(new_file) == [("ingest_releases", "releases/b.csv", "releases/b.csv")]
    assert _ranges(sidecar_changed) == [("ingest_releases", "releases/a.csv", "releases/a.csv")]
    # a removed file keeps its partition; its run withdraws the file's figures
    assert _ranges(removed) == [("ingest_enterprise", "enterprise/q1.csv", "enterprise/q1.csv")]
    assert instance.get_dynamic_partitions("enterprise_files") == ["enterprise/q1.csv"]

    (tmp_path / "enterprise" / os.fsdecode("报告.csv".encode("gbk"))).write_text("q2")  # a name that is not UTF-8
    gbk_name = _tick(defs, instance, removed.cursor)
    escaped = "enterprise/\\xb1\\xa8\\xb8\\xe6.csv"  # as the loader names the file, which then fails asking to rename it
    assert _ranges(gbk_name) == [("ingest_enterprise", escaped, escaped)]


def test_sensor_launches_nothing_when_the_last_publication_was_built_from_these_inputs(
    tmp_path, monkeypatch, defs: dg.Definitions
):
    """A first tick (no cursor, e.g. `make dev` started after `make run`) on an up-to-date warehouse: the
    fingerprint of the inputs equals the last successful run's, whose publication is current."""
    from orchestration import fingerprint

    monkeypatch.setenv("LANDING_DIR", str(tmp_path))
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    (tmp_path / "releases").mkdir()
    monkeypatch.setattr(fingerprint, "decide", lambda *args, **kwargs: fingerprint.Decision(True, "nothing changed since run R1"))
    instance = dg.DagsterInstance.ephemeral()

    current = _tick(defs, instance)
    (tmp_path / "releases" / "new.csv").write_text("x")
    changed = _tick(defs, instance, current.cursor)

    assert current.run_requests == [] and current.skip_message == "nothing changed since run R1: its publication is current"
    assert current.cursor  # the next tick compares with these files
    assert _ranges(changed) == [("ingest_releases", "releases/new.csv", "releases/new.csv")]


def test_a_new_release_partition_materializes_only_what_is_downstream_of_it(defs: dg.Definitions):
    """Declarative automation: after one release file's partition, the mappings, models and reports that read
    releases are requested; those of the enterprise submissions and the registers are not."""
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("releases_files", ["releases/a.csv"])
    initial = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=dg.AssetKey(["raw", "releases"]), partition="releases/a.csv")
    )

    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=initial.cursor)
    unchanged = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after.cursor)

    assert initial.total_requested == 0  # starting `make dev` launches nothing by itself
    requested = {r.key.to_user_string() for r in after.results if r.true_subset.size}
    assert {"mapped/release_observations", "staging/stg_releases__observations", "marts/fct_indicator_values",
            "marts/rd_intensity", "marts/target_tracking", "serving/serving_database", "reports/dbt_docs",
            "reports/quality"} <= requested
    assert not {"mapped/enterprise_rejected_rows", "mapped/register_kinds", "staging/stg_enterprise__submissions",
                "marts/fct_enterprise_submission_history", "marts/recognitions_in_force", "reference/ref_regions"} & requested
    assert unchanged.total_requested == 0


def test_dbt_source_tests_are_checks_on_the_assets_that_load_the_sources(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()

    def checks_on(*key: str) -> set[str]:
        return {c.name for c in graph.asset_check_keys if c.asset_key == dg.AssetKey(list(key))}

    assert {"source_unique_releases_release_files_load_id", "source_not_null_releases_release_files_release_date"} <= checks_on("raw", "releases")
    assert "source_not_null_registers_register_records_uscc" in checks_on("raw", "registers")
    assert "source_not_null_mapped_register_kinds_kind_code" in checks_on("mapped", "register_kinds")


def test_every_dbt_source_test_is_a_dagster_check(defs: dg.Definitions):
    """A source test Dagster cannot attach to an asset (on a table no model reads, or between two sources) is
    only logged as an observation, with a warning, every run: the raw tables are the Great Expectations
    suites' to check, so dbt keeps none of those."""
    import json

    from orchestration.dbt_project import dbt_project

    manifest = json.loads(Path(dbt_project.manifest_path).read_text(encoding="utf-8"))
    source_tests = {
        node["name"] for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and any(p.startswith("source.") for p in node["depends_on"]["nodes"])
    }
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert source_tests and source_tests <= checks, sorted(source_tests - checks)


def test_dbt_build_stays_one_step_after_the_mapping(defs: dg.Definitions):
    """Checks on the raw assets that blocked would split `dbt build` around the mapping step."""
    from dagster._core.execution.api import create_execution_plan

    plan = create_execution_plan(defs.resolve_job_def("warehouse_job"))
    steps = [step.key for step in plan.get_steps_to_execute_in_topo_order()]
    assert [step for step in steps if step.startswith("warehouse_dbt_models")] == ["warehouse_dbt_models"]
    for mapped in ("mapped__release_observations", "mapped__enterprise_rejected_rows", "mapped__register_kinds"):
        assert steps.index(mapped) < steps.index("warehouse_dbt_models")


def test_dbt_source_test_outcomes_become_quality_results_per_source_table():
    """What the quality report and the run summary list for the dbt tests of sources (audit.quality_results)."""
    from datetime import datetime

    from orchestration.assets.dbt import source_test_results

    def test(name: str, source: str, severity: str = "ERROR") -> dict:
        return {"resource_type": "test", "name": name, "config": {"severity": severity}, "description": "",
                "depends_on": {"nodes": [f"source.p.{source}"]}}

    manifest = {
        "nodes": {
            "test.p.a": test("source_unique_releases_release_files_load_id", "releases.release_files"),
            "test.p.b": test("source_not_null_registers_register_records_uscc", "registers.register_records", "warn"),
            "test.p.c": {"resource_type": "test", "name": "unique_dim_region", "config": {}, "depends_on": {"nodes": ["model.p.dim_region"]}},
            "test.p.d": test("source_not_null_releases_release_files_sha256", "releases.release_files"),
        },
        "sources": {
            "source.p.releases.release_files": {"schema": "raw", "name": "release_files"},
            "source.p.registers.register_records": {"schema": "raw", "name": "register_records"},
        },
    }
    run_results = {"results": [
        {"unique_id": "test.p.a", "status": "fail", "failures": 2, "message": "Got 2 results, configured to fail if != 0"},
        {"unique_id": "test.p.b", "status": "pass", "failures": 0, "message": None},
        {"unique_id": "test.p.c", "status": "pass", "failures": 0, "message": None},  # a model's test: a Dagster check only
        {"unique_id": "test.p.d", "status": "skipped", "failures": None, "message": None},
    ]}

    results = source_test_results(run_results, manifest, datetime(2026, 1, 1))

    assert [(r.suite, r.table) for r in results] == [("dbt source raw.register_records", "raw.register_records"),
                                                     ("dbt source raw.release_files", "raw.release_files")]
    (uscc,), (unique,) = results[0].outcomes, results[1].outcomes
    assert (uscc.passed, uscc.severity, uscc.blocking) == (True, "warn", False)
    assert (unique.name, unique.passed, unique.blocking, unique.unexpected_count) == (
        "source_unique_releases_release_files_load_id", False, True, 2)
    assert unique.observed_value == "Got 2 results, configured to fail if != 0"


def test_the_dbt_resource_skips_the_version_probe_and_the_in_process_adapter(defs: dg.Definitions):
    """WarehouseDbtResource overrides two private methods of the pinned dagster-dbt: they must still exist
    there, and the version it states is the installed dbt-core's, which the dbt it runs is (the
    executable of this interpreter's environment; asking it, `dbt --version`, would also ask PyPI)."""
    from dagster_dbt import DbtCliResource

    from orchestration.dbt_project import DBT_EXECUTABLE
    from orchestration.resources import WarehouseDbtResource

    assert "_cli_version" in vars(DbtCliResource)
    assert callable(vars(DbtCliResource).get("_initialize_dbt_core_adapter"))
    dbt = defs.resources["dbt"]
    assert isinstance(dbt, WarehouseDbtResource)
    assert dbt._initialize_dbt_core_adapter(["build"]) is None
    assert Path(DBT_EXECUTABLE).parent == Path(sys.executable).parent
    assert str(dbt._cli_version) == metadata.version("dbt-core")


@pytest.mark.parametrize(("level", "log_written"), [(None, False), ("", False), ("info", True)])
def test_dbt_writes_its_log_file_only_when_asked(defs: dg.Definitions, tmp_path, monkeypatch, level, log_written):
    """No dbt.log by default (it cost 10-15% of a build); DBT_LOG_LEVEL_FILE, dbt's own variable, brings it back."""
    if level is None:
        monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    else:
        monkeypatch.setenv("DBT_LOG_LEVEL_FILE", level)
    _dbt_debug(defs.resources["warehouse"], tmp_path / "logs")
    assert (tmp_path / "logs" / "dbt.log").is_file() == log_written


def _dbt_debug(warehouse, log_path: Path, **env: str) -> subprocess.CompletedProcess:
    """`dbt debug` with the arguments the dbt asset gives dbt (``dbt_args``), asserted to succeed."""
    from orchestration.assets.dbt import dbt_args
    from orchestration.dbt_project import DBT_EXECUTABLE

    warehouse.path.parent.mkdir(parents=True, exist_ok=True)
    debug = subprocess.run(
        [DBT_EXECUTABLE, *dbt_args(["debug"], warehouse), "--log-path", str(log_path)],
        cwd=settings.DBT_PROJECT_DIR, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env},
        capture_output=True, text=True, timeout=300,
    )
    assert debug.returncode == 0, debug.stdout[-3000:]
    return debug


def test_a_parse_state_kept_by_another_checkout_of_the_project_is_not_used(tmp_path, monkeypatch):
    """dbt's parse state holds the absolute paths of the files it parsed and dbt does not check them: a
    warehouse whose last dbt command ran from another checkout (a moved or re-cloned repository) made every
    seed fail with "No files found" on each run after. Each checkout keeps its own state; a state kept by
    another is not used, and the next state kept replaces it."""
    import shutil

    from dagster_dbt import DbtProject

    import orchestration.assets.dbt as dbt_asset
    from orchestration.dbt_project import DBT_EXECUTABLE
    from orchestration.resources import warehouse_resource

    warehouse = tmp_path / "warehouse"
    monkeypatch.setenv("WAREHOUSE_DIR", str(warehouse))
    first, second = tmp_path / "first" / "dbt_project", tmp_path / "second" / "dbt_project"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages")

    def seed_ref_units(project_dir: Path, run_id: str) -> subprocess.CompletedProcess:
        monkeypatch.setattr(dbt_asset, "dbt_project", DbtProject(project_dir=project_dir))
        warehouse.mkdir(exist_ok=True)
        target = dbt_asset.dbt_target_path(run_id, "build")
        seeded = subprocess.run(
            [DBT_EXECUTABLE, *dbt_asset.dbt_args(["seed", "--select", "ref_units"], warehouse_resource()),
             "--target-path", str(target), "--profiles-dir", str(project_dir)],
            cwd=project_dir, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            capture_output=True, text=True, timeout=300,
        )
        dbt_asset.keep_parse_state(target)
        return seeded

    shutil.copytree(settings.DBT_PROJECT_DIR, first, ignore=ignore)
    assert seed_ref_units(first, "run-1").returncode == 0
    shutil.copytree(first, second, ignore=ignore)
    shutil.rmtree(first.parent)  # the repository moved

    moved = seed_ref_units(second, "run-2")
    assert moved.returncode == 0, moved.stdout[-3000:]
    assert "No files found" not in moved.stdout
    kept = [p.name for p in (warehouse / "dbt").iterdir() if p.is_file()]
    assert kept == [dbt_asset.kept_parse_state(second, DBT_EXECUTABLE).name]
    assert dbt_asset.kept_parse_state(first, DBT_EXECUTABLE) != dbt_asset.kept_parse_state(second, DBT_EXECUTABLE)
