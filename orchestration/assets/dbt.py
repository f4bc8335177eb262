"""The dbt project as assets: seeds, staging, intermediate and marts, with dbt tests as asset checks."""

import shutil
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from ingestion import settings
from ingestion.warehouse import WRITER_POOL, writer_lock
from orchestration.dbt_project import dbt_project
from orchestration.translator import WarehouseDbtTranslator

DBT_TRANSLATOR = WarehouseDbtTranslator()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=DBT_TRANSLATOR,
    pool=WRITER_POOL,
)
def warehouse_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build`: every seed, model and test, in dependency order (dbt runs as one writer)."""
    with writer_lock(settings.warehouse_db_path()):
        yield from dbt.cli(["build"], context=context).stream()


@dg.asset(
    key=["reports", "dbt_docs"],
    group_name="reports",
    deps=[warehouse_dbt_models],
    kinds={"dbt", "html"},
    pool=WRITER_POOL,
)
def dbt_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> dg.MaterializeResult:
    """`dbt docs generate`, published as a static site under WAREHOUSE_DIR/reports/dbt-docs/."""
    with writer_lock(settings.warehouse_db_path()):
        invocation = dbt.cli(["docs", "generate"], manifest=dbt_project.manifest_path).wait()
    site = settings.reports_dir() / "dbt-docs"
    site.mkdir(parents=True, exist_ok=True)
    target = Path(invocation.target_path)
    for name in ("index.html", "manifest.json", "catalog.json"):
        shutil.copy2(target / name, site / name)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(site / "index.html"))})
