"""The dbt project as assets: seeds, staging, intermediate and marts, with dbt tests as asset checks.

Each dbt command of a run writes its artifacts (``run_results.json``, ``manifest.json``, compiled SQL:
about 18 MB a run on the shipped data) to ``WAREHOUSE_DIR/dbt/<run id>/<step>/``, not into the repository;
only the folders of the last :data:`DBT_RUNS_KEPT` runs are kept. What dbt says is in the run's log in
Dagster; its debug log file, ``dbt.log`` there, is written only when ``DBT_LOG_LEVEL_FILE`` asks for it.
"""

import hashlib
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from core import dbt_command, settings
from expectations import ExpectationOutcome, SuiteResult, import_great_expectations_meanwhile, record_results
from orchestration.assets.serving import SERVING_DATABASE_KEY
from orchestration.conditions import ON_CHANGE
from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project
from orchestration.resources import WarehouseResource
from orchestration.translator import WarehouseDbtTranslator

DBT_TRANSLATOR = WarehouseDbtTranslator()
#: How many runs' dbt artifacts stay under WAREHOUSE_DIR/dbt/ (the current run's included).
DBT_RUNS_KEPT = 3


def dbt_artifacts_dir() -> Path:
    return settings.warehouse_dir() / "dbt"


#: dbt's parse state (``partial_parse.msgpack``) of the last dbt command on this warehouse, kept in
#: WAREHOUSE_DIR/dbt/. The one `make manifest` leaves in the project was parsed with another profile (the
#: build database's path is a var), which makes dbt parse the whole project again: seeded into each
#: command's target folder, it lets dbt parse only the files changed since. dbt checks it against the
#: project's files, the profile, the vars and its own version, and parses everything when any differs.
PARSE_STATE = "partial_parse.msgpack"


def kept_parse_state(project_dir: Path | str, dbt_executable: Path | str) -> Path:
    """Where the warehouse keeps the parse state of dbt commands run on the project in ``project_dir`` by
    ``dbt_executable``: WAREHOUSE_DIR/dbt/partial_parse-<key>.msgpack.

    dbt does not check where the project and dbt itself are: its parse state holds the absolute paths of
    the files it parsed (seeds are loaded from them), and a state parsed in another checkout of the
    repository (or with another virtualenv) makes every seed fail with "No files found" until it is
    removed. The key, a hash of both folders, keeps such a state from being used at all."""
    folders = f"{Path(project_dir).resolve()}\n{Path(dbt_executable).parent.resolve()}"
    key = hashlib.sha256(folders.encode()).hexdigest()[:16]
    return dbt_artifacts_dir() / f"partial_parse-{key}.msgpack"


def dbt_target_path(run_id: str, step: str) -> Path:
    """Where one dbt command of run ``run_id`` writes its artifacts and log, with the warehouse's parse
    state in it; older runs' folders beyond the last :data:`DBT_RUNS_KEPT` are removed (call it under the
    warehouse writer lock)."""
    root = dbt_artifacts_dir()
    current = root / run_id
    current.mkdir(parents=True, exist_ok=True)
    others = sorted(
        (folder for folder in root.iterdir() if folder.is_dir() and folder != current),
        key=lambda folder: folder.stat().st_mtime,
        reverse=True,
    )
    for old in others[DBT_RUNS_KEPT - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    target = current / step
    kept = kept_parse_state(dbt_project.project_dir, DBT_EXECUTABLE)
    if kept.is_file() and not (target / PARSE_STATE).exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kept, target / PARSE_STATE)
    return target


def keep_parse_state(target: Path) -> None:
    """Keep the parse state a dbt command left in ``target`` for the next command (replaced atomically);
    the states kept for other checkouts or virtualenvs are removed."""
    state = target / PARSE_STATE
    if not state.is_file():
        return
    kept = kept_parse_state(dbt_project.project_dir, DBT_EXECUTABLE)
    tmp = kept.with_name(f"{kept.name}.tmp-{os.getpid()}")
    shutil.copy2(state, tmp)
    os.replace(tmp, kept)
    for other in dbt_artifacts_dir().glob("partial_parse*"):
        if other != kept:
            other.unlink(missing_ok=True)


#: dbt's own variable for the level of its log file (``debug``, ``info``, ...; its default is ``debug``).
LOG_FILE_LEVEL_VARIABLE = "DBT_LOG_LEVEL_FILE"


def dbt_args(command: Sequence[str], warehouse: WarehouseResource) -> list[str]:
    """``command`` against the resource's build database: profiles.yml reads its path from the var
    ``warehouse_path``, so neither this process's environment nor dbt's working directory decides it.

    Without :data:`LOG_FILE_LEVEL_VARIABLE`, dbt writes no ``dbt.log``: a file logger at any level cost
    10-15% of a `dbt build` of a new release (dbt formats each event for it), and what dbt prints is kept
    in the run's log in Dagster (its captured stdout). ``DBT_LOG_LEVEL_FILE=debug`` brings the file back,
    with every SQL statement."""
    log_file = [] if os.environ.get(LOG_FILE_LEVEL_VARIABLE) else ["--log-level-file", "none"]
    return [*command, *log_file, "--vars", json.dumps({"warehouse_path": str(warehouse.path.resolve())})]


#: dbt test statuses that are an outcome (a test skipped because its model failed has none).
_TEST_OUTCOMES = {"pass": True, "warn": False, "fail": False, "error": False}


def source_test_results(run_results: Mapping[str, Any], manifest: Mapping[str, Any], checked_at: datetime) -> list[SuiteResult]:
    """The outcomes of the dbt tests of sources in ``run_results``, one suite per source table
    (``dbt source raw.release_files``), for ``audit.quality_results``: the quality report and the run
    summary show them with the expectation suites. An error-severity test blocks: `dbt build` skips what
    is downstream of it, the publication included."""
    outcomes: dict[str, list[ExpectationOutcome]] = defaultdict(list)
    for result in run_results["results"]:
        test = manifest["nodes"].get(result["unique_id"], {})
        sources = [node for node in test.get("depends_on", {}).get("nodes", []) if node.startswith("source.")]
        if test.get("resource_type") != "test" or not sources or result["status"] not in _TEST_OUTCOMES:
            continue
        source = manifest["sources"][sources[0]]
        severity = "warn" if str(test["config"].get("severity", "error")).lower() == "warn" else "error"
        outcomes[f"{source['schema']}.{source['name']}"].append(
            ExpectationOutcome(
                name=test["name"],
                passed=_TEST_OUTCOMES[result["status"]],
                severity=severity,
                blocking=severity == "error",
                observed_value=result.get("message") or result["status"],
                unexpected_count=result.get("failures"),
                description=test.get("description") or "",
            )
        )
    return [
        SuiteResult(suite=f"dbt source {table}", table=table, outcomes=tuple(found), checked_at=checked_at)
        for table, found in sorted(outcomes.items())
    ]


def record_source_tests(invocation: DbtCliInvocation, warehouse: WarehouseResource, run_id: str) -> None:
    """Record the source tests of a finished `dbt build` in ``audit.quality_results`` (nothing if it left
    no results)."""
    target = Path(invocation.target_path)
    if not (target / "run_results.json").is_file():
        return
    results = source_test_results(
        invocation.get_artifact("run_results.json"), invocation.get_artifact("manifest.json"), datetime.now()
    )
    with warehouse.get_connection("recording the dbt source tests") as con:
        record_results(con, run_id, results)


@contextmanager
def dbt_process(invocation: DbtCliInvocation, warehouse: WarehouseResource) -> Iterator[DbtCliInvocation]:
    """Record the dbt process as a child of the lock holder, and stop it if the step is interrupted.

    dbt runs in its own process and keeps the build database open: a run killed with SIGKILL leaves it
    running (the next run stops it, from the lock's record), and a run stopped by SIGTERM/SIGINT stops it
    here instead of leaving it behind.
    """
    warehouse.lock.add_child(invocation.process.pid)
    try:
        yield invocation
    except BaseException:
        dbt_command.stop(invocation.process)
        raise
    finally:
        if invocation.process.poll() is not None:
            keep_parse_state(Path(invocation.target_path))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=DBT_TRANSLATOR,
    # before the other steps ready to run (the checks of the loads): they import GX while dbt runs
    op_tags={"dagster/priority": "1"},
)
def warehouse_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """`dbt build`: every seed, model and data test, in dependency order (dbt runs as one writer). The unit
    tests, which test the SQL and not the data, run in `make test` (tests/test_dbt_project.py), as dbt
    advises for production builds."""
    with warehouse.doing("dbt build"):
        target = dbt_target_path(context.run_id, "build")
        command = ["build", "--exclude-resource-type", "unit_test"]
        with dbt_process(dbt.cli(dbt_args(command, warehouse), context=context, target_path=target), warehouse) as build:
            import_great_expectations_meanwhile()  # this process waits for dbt's events meanwhile
            try:
                yield from build.stream()
            except Exception:  # a failed source test fails the build: its outcome is recorded all the same
                record_source_tests(build, warehouse, context.run_id)
                raise
            record_source_tests(build, warehouse, context.run_id)


@dg.asset(
    key=["reports", "dbt_docs"],
    group_name="reports",
    # after publishing: the docs of a run that did not publish (a blocking check failed, the disk is full)
    # are not published either, like the other reports
    deps=[warehouse_dbt_models, SERVING_DATABASE_KEY],
    kinds={"dbt", "html"},
    automation_condition=ON_CHANGE,
)
def dbt_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """`dbt docs generate --static`, published as WAREHOUSE_DIR/reports/dbt-docs/index.html: one page with
    the manifest and catalog inside, so it opens from disk (the default site fetches manifest.json, which
    a browser refuses to a file:// page). manifest.json and catalog.json are published next to it for tools."""
    with warehouse.doing("dbt docs generate"):
        target = dbt_target_path(context.run_id, "docs")
        compiled = _compiled_by_build(context.run_id, target)
        invocation = dbt.cli(
            dbt_args(["docs", "generate", "--static", *(["--no-compile"] if compiled else [])], warehouse),
            manifest=dbt_project.manifest_path,
            target_path=target,
        )
        with dbt_process(invocation, warehouse):
            invocation.wait()
        site = settings.reports_dir() / "dbt-docs"
        site.mkdir(parents=True, exist_ok=True)
        for leftover in site.glob("*.tmp-*"):  # of a run killed while copying
            leftover.unlink(missing_ok=True)
        for source, name in (("manifest.json", "manifest.json"), ("catalog.json", "catalog.json"),
                             ("static_index.html", "index.html")):
            tmp = site / f"{name}.tmp-{os.getpid()}"
            shutil.copy2(target / source, tmp)
            os.replace(tmp, site / name)  # a reader never sees half a page
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(site / "index.html")),
            "compiled_by": "dbt build of this run" if compiled else "dbt docs generate",
            "size_bytes": (site / "index.html").stat().st_size,
        }
    )


def _compiled_by_build(run_id: str, docs_target: Path) -> bool:
    """Whether the `dbt build` of this run compiled every model: then its manifest, with the compiled SQL
    the docs show, is put in ``docs_target`` and the docs need not compile the project again."""
    manifest_path = dbt_artifacts_dir() / run_id / "build" / "manifest.json"
    if not manifest_path.is_file():
        return False
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    if not models or not all(node.get("compiled_code") for node in models):
        return False
    docs_target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(manifest_path, docs_target / "manifest.json")
    return True
