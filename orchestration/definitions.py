"""The code location: one small Definitions object (`make dev`, `make run` and the tests load it)."""

from __future__ import annotations

import dagster as dg

from orchestration import automation
from orchestration.assets.dbt import dbt_docs, warehouse_dbt_models
from orchestration.assets.ingestion import raw_enterprise_submissions, raw_registers, raw_releases
from orchestration.assets.mapping import MAPPING_ASSETS
from orchestration.assets.serving import build_serving_assets, mart_keys
from orchestration.checks import QUALITY_CHECKS, quality_report
from orchestration.freshness import DATA_FRESHNESS_CHECKS, freshness_checks_sensor, materialization_freshness_checks
from orchestration.resources import build_resources


def build_definitions() -> dg.Definitions:
    """Build the definitions from the current LANDING_DIR / WAREHOUSE_DIR (tests set them first)."""
    materialization_checks = materialization_freshness_checks()
    return dg.Definitions(
        assets=[
            raw_releases,
            raw_enterprise_submissions,
            raw_registers,
            *MAPPING_ASSETS,
            warehouse_dbt_models,
            dbt_docs,
            quality_report,
            *build_serving_assets(mart_keys(warehouse_dbt_models)),
        ],
        asset_checks=[*QUALITY_CHECKS, *DATA_FRESHNESS_CHECKS, *materialization_checks],
        jobs=[*automation.INGEST_JOBS.values(), automation.warehouse_job, automation.quality_job],
        schedules=[automation.daily_quality_schedule],
        sensors=[
            automation.landing_files_sensor,
            automation.automation_sensor,
            freshness_checks_sensor(materialization_checks),
        ],
        resources=build_resources(),
        # One process, steps in order: no step re-imports the code and no two steps hold the database.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
