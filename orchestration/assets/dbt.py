"""The dbt project as assets: seeds, staging, intermediate and marts, with dbt tests as asset checks."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from core import settings
from orchestration.dbt_project import dbt_project
from orchestration.resources import WarehouseResource
from orchestration.translator import WarehouseDbtTranslator

DBT_TRANSLATOR = WarehouseDbtTranslator()
#: How long dbt gets to stop after SIGINT when the run is interrupted, before it is killed.
DBT_STOP_SECONDS = 5


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
        if invocation.process.poll() is None:
            invocation.process.terminate()
            try:
                invocation.process.wait(DBT_STOP_SECONDS)
            except Exception:  # noqa: BLE001 - still running: no more patience
                invocation.process.kill()
        raise


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=DBT_TRANSLATOR,
)
def warehouse_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """`dbt build`: every seed, model and test, in dependency order (dbt runs as one writer)."""
    with warehouse.doing("dbt build"), dbt_process(dbt.cli(["build"], context=context), warehouse) as build:
        yield from build.stream()


@dg.asset(
    key=["reports", "dbt_docs"],
    group_name="reports",
    deps=[warehouse_dbt_models],
    kinds={"dbt", "html"},
)
def dbt_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """`dbt docs generate`, published as a static site under WAREHOUSE_DIR/reports/dbt-docs/."""
    with warehouse.doing("dbt docs generate"):
        invocation = dbt.cli(["docs", "generate"], manifest=dbt_project.manifest_path)
        with dbt_process(invocation, warehouse):
            invocation.wait()
    site = settings.reports_dir() / "dbt-docs"
    site.mkdir(parents=True, exist_ok=True)
    target = Path(invocation.target_path)
    for name in ("index.html", "manifest.json", "catalog.json"):
        shutil.copy2(target / name, site / name)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(site / "index.html"))})
