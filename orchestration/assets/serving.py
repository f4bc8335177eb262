"""Publishing as assets: the serving database, its Parquet exports and the indicator report.

``serving_database`` depends on every mart, so a blocking check that fails on a mart in the same run
stops it (Dagster skips the step) and the last good ``serving.duckdb`` stays as it was. It also refuses
to publish when the latest evaluation of any blocking check upstream failed, which covers a run that
materializes the serving database alone after a failed run: :func:`failed_blocking_checks` is the one
publish gate. The logic lives in ``serving/``.

The code location adds them with ``build_serving_assets(mart_keys(warehouse_dbt_models))``; this module
does not import the dbt assets itself, so it loads (and is tested) without parsing the dbt project.
"""

# No `from __future__ import annotations`: Dagster checks the `context` annotation at definition time.
from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg

from core import settings
from orchestration.conditions import ON_CHANGE
from orchestration.fingerprint import INPUTS_TAG
from orchestration.resources import WarehouseResource
from serving.tiers import DECISIONS_TABLE, export_tiers, publish_tiers
from serving.report import build_indicator_report

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

SERVING_DATABASE_KEY = dg.AssetKey(["serving", "serving_database"])
PUBLIC_TIER_CHECK = "public_tier_discloses_nothing"


def failed_blocking_checks(
    instance: dg.DagsterInstance, asset_graph: "BaseAssetGraph", asset_key: dg.AssetKey = SERVING_DATABASE_KEY
) -> list[str]:
    """May ``asset_key`` be published? The one answer, for the serving database and anyone else who asks:
    the blocking checks on its ancestors (the Great Expectations suites, the dbt tests of models and sources)
    whose latest evaluation, in whichever run, failed with ERROR severity, as ``"<check> (run <id>)"``;
    empty when it may be published. ``asset_graph``: the code location's (``defs.resolve_asset_graph()``)."""
    # A job that runs a selection sees only the selected checks; its source graph has all of them.
    graph = getattr(asset_graph, "source_asset_graph", asset_graph)
    ancestors = graph.get_ancestor_asset_keys(asset_key)
    blocking = [key for key in graph.get_check_keys_for_assets(ancestors) if graph.get(key).blocking]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(blocking)  # one query
    failed = []
    for check_key in sorted(blocking, key=lambda k: k.to_user_string()):
        record = latest.get(check_key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation and not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failed.append(f"{check_key.to_user_string()} (run {record.run_id})")
    return failed


def build_serving_database_asset(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The ``serving_database`` asset, downstream of ``upstream`` (the marts, in the code location)."""

    @dg.asset(
        key=SERVING_DATABASE_KEY,
        deps=list(upstream),
        group_name="serving",
        kinds={"duckdb"},
        automation_condition=ON_CHANGE,
        check_specs=[
            dg.AssetCheckSpec(
                PUBLIC_TIER_CHECK,
                asset=SERVING_DATABASE_KEY,
                blocking=True,
                description=(
                    "The public serving database holds no enterprise identifier or name in any table, and every "
                    "published enterprise aggregate passes disclosure control (checked on the new file before it "
                    "is swapped in: a failure stops the publication)."
                ),
            )
        ],
        description=(
            "WAREHOUSE_DIR/serving.duckdb (public tier: no enterprise-level data, enterprise aggregates after "
            "disclosure control), WAREHOUSE_DIR/restricted/serving.duckdb (everything) and "
            "WAREHOUSE_DIR/groups/<group>/serving.duckdb (one SOE group's own data): new files that replace the "
            "old ones atomically; BI tools open them read-only. Not published when a blocking check upstream "
            "failed or when the public file would disclose confidential data."
        ),
    )
    def serving_database(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        failed = failed_blocking_checks(context.instance, context.job_def.asset_layer.asset_graph, context.asset_key)
        if failed:
            raise dg.Failure(
                description="not publishing: blocking checks failed on their latest evaluation: " + "; ".join(failed),
                metadata={"failed_checks": failed},
            )
        with warehouse.doing("publishing the public and restricted tiers"):
            published = publish_tiers(
                warehouse.path,
                context.run_id,
                inputs_sha256=context.run.tags.get(INPUTS_TAG),  # set by `make run` (orchestration.run)
            )
        public = published["public"]
        withheld = published["restricted"]["tables"].get(DECISIONS_TABLE, 0)
        for tier, result in published.items():
            tables = result["tables"]
            if result["unchanged"]:
                context.log.info(
                    f"{tier}: unchanged since its publication by run {result['run_id']} ({len(tables)} tables, "
                    f"{sum(tables.values())} rows): {result['path']} left as it is"
                )
                continue
            context.log.info(
                f"{tier}: published {len(tables)} tables, {sum(tables.values())} rows, to {result['path']} "
                f"({len(result['taken_over'])} of them unchanged, taken over from the previous publication; "
                f"{_by_period(result)})"
            )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(public["path"]),
                "published_at": public["published_at"],
                "size_bytes": public["size_bytes"],
                "table_count": len(public["tables"]),
                "inputs_sha256": public["inputs_sha256"] or "",
                "row_counts": dg.MetadataValue.md(
                    "| table | rows |\n|---|---:|\n" + "\n".join(f"| {t} | {n} |" for t, n in public["tables"].items())
                ),
                "tiers": dg.MetadataValue.md(
                    "| tier | path | published by run | tables | rows | tables unchanged (taken over) | tables updated by period |\n"
                    "|---|---|---|---:|---:|---:|---|\n"
                    + "\n".join(
                        f"| {tier} | {r['path']} | {r['run_id']}{' (file unchanged, left as it is)' if r['unchanged'] else ''} "
                        f"| {len(r['tables'])} | {sum(r['tables'].values())} | {len(r['taken_over'])} | {_by_period(r)} |"
                        for tier, r in published.items()
                    )
                ),
                "withheld_public_cells": withheld,
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=PUBLIC_TIER_CHECK,
                    passed=True,  # publish_tiers raises before swapping in a public file that fails
                    metadata={"withheld": withheld},
                )
            ],
        )

    return serving_database


@dg.asset(
    key=["serving", "parquet_exports"],
    deps=[SERVING_DATABASE_KEY],
    group_name="serving",
    kinds={"parquet"},
    automation_condition=ON_CHANGE,
    description=(
        "<tier>/exports/<schema>/<table>.parquet from each published serving database (public: WAREHOUSE_DIR/exports; "
        "restricted: WAREHOUSE_DIR/restricted/exports; one per group), plus manifest.json. The restricted tier and the "
        "group extracts export the enterprise facts one file per period: <table>/period_<period>.parquet."
    ),
)
def parquet_exports(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    tables, files, rows = 0, 0, 0
    with warehouse.doing("exporting Parquet"):
        for tier, manifest in export_tiers():
            tables += len(manifest["tables"])
            files += sum(len(t.get("files", [t])) for t in manifest["tables"].values())
            rows += sum(t["row_count"] for t in manifest["tables"].values())
            context.log.info(f"{tier.name}: exported {len(manifest['tables'])} tables to {tier.exports_dir}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.exports_dir())),
            "tables": tables,
            "files": files,
            "rows": rows,
        }
    )


@dg.asset(
    key=["reports", "indicator_report"],
    deps=[SERVING_DATABASE_KEY],
    group_name="reports",
    kinds={"html"},
    automation_condition=ON_CHANGE,
    description="WAREHOUSE_DIR/reports/indicators.html: every policy target with its chart, status and sources (offline).",
)
def indicator_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.doing("writing the indicator report"):
        summary = build_indicator_report(settings.serving_db_path(), settings.reports_dir() / "indicators.html")
    context.log.info(f"indicator report: {summary['targets']} targets, {summary['charts']} charts")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(summary["path"]),
            "targets": summary["targets"],
            "charts": summary["charts"],
            **{f"targets_{status}": count for status, count in summary["status_counts"].items()},
        }
    )


def mart_keys(dbt_assets: dg.AssetsDefinition) -> list[dg.AssetKey]:
    """The keys of the dbt models in schema ``marts`` (the translator keys models ``[schema, name]``)."""
    return sorted((key for key in dbt_assets.keys if key.path[0] == "marts"), key=lambda k: k.to_user_string())


def build_serving_assets(upstream: Sequence[dg.AssetKey]) -> list[dg.AssetsDefinition]:
    """``serving_database`` (downstream of ``upstream``), ``parquet_exports`` and ``indicator_report``."""
    return [build_serving_database_asset(upstream), parquet_exports, indicator_report]


def _by_period(publication: dict) -> str:
    """The tables a publication updated a period at a time, with how many periods it wrote."""
    updated = publication.get("updated_by_period") or {}
    return ", ".join(f"{t} ({n} periods)" for t, n in sorted(updated.items())) or "none updated by period"
