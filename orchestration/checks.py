"""The expectation suites as Dagster asset checks, and the quality report as an asset.

One ``multi_asset_check`` per suite (``QUALITY_CHECKS``), on the asset that writes the suite's table,
yields one ``AssetCheckResult`` per expectation: severity ERROR or WARN, with the observed value, the
unexpected count and a few examples as metadata. Error-level checks on marts are blocking, so a mart
that fails them stops everything downstream of it (publishing included).

Each check step, under the warehouse writer lock (so no other process writes the file meanwhile),
validates read-only, puts its result into the quality report, appends it to ``audit.quality_results``,
then puts the run overview (summary, load log, quarantine, runs) back at the top of the report,
read-only again. Validation must see the file with no read-write connection open in the process, so
the write happens only after the validation has closed its connection.

``quality_report`` rebuilds the whole report with every suite's latest result: those of this run's
checks, the stored result of a suite whose inputs did not materialize since it was validated
(:func:`unchanged_since`), and the other suites validated again; the daily schedule runs it with every
check. When a blocking check fails it is skipped, but each check has already put its result into the
report.
"""

# No `from __future__ import annotations`: Dagster checks the `context` annotation at definition time.
import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import dagster as dg

from core import settings
from expectations import SUITES, ExpectationOutcome, Suite, record_results
from orchestration.assets.ingestion import WRITES
from orchestration.conditions import ON_CHANGE
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

QUALITY_REPORT_KEY = dg.AssetKey(["reports", "quality"])
_SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def _metadata(suite: Suite, outcome: ExpectationOutcome) -> dict[str, Any]:
    observed = outcome.observed_value
    return {
        "suite": suite.name,
        "severity": outcome.severity,
        "observed_value": dg.MetadataValue.json(observed) if isinstance(observed, list | dict) else observed,
        "unexpected_count": outcome.unexpected_count,
        "examples": dg.MetadataValue.json(outcome.examples) if outcome.examples else None,
        "quality_report": dg.MetadataValue.path(str(settings.reports_dir() / "quality" / "index.html")),
    }


def run_started_at(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> datetime | None:
    """When the run started (local time, like the audit tables): its withdrawals and failures are this run's."""
    stats = context.instance.get_run_stats(context.run.run_id)
    started = stats.start_time or stats.launch_time
    return datetime.fromtimestamp(started) if started else None


def _suite_check(suite: Suite) -> dg.AssetChecksDefinition:
    asset_key = dg.AssetKey(list(suite.asset_key))
    specs = [
        dg.AssetCheckSpec(
            suite.check_name(expect),
            asset=asset_key,
            description=f"[{expect.severity}] {expect.description}",
            blocking=suite.is_blocking(expect),
        )
        for expect in suite.expectations
    ]
    by_name = {expect.name: expect for expect in suite.expectations}

    @dg.multi_asset_check(
        name="quality_" + re.sub(r"\W", "_", suite.name),
        specs=specs,
        description=f"Expectation suite {suite.name}: {suite.description}",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
        from expectations.report import run_and_report, write_run_overview  # imports Great Expectations

        db_path = warehouse.path
        with warehouse.doing(f"quality checks of {suite.name}"):
            result = run_and_report(db_path, suite.name, run_name=context.run.run_id)
            with warehouse.get_connection(f"recording the results of {suite.name}") as con:
                record_results(con, context.run.run_id, [result])
            write_run_overview(db_path, context.run.run_id, run_started_at(context))
        if result.error:
            context.log.warning(f"suite {suite.name} not validated: {result.error}")
        for outcome in result.outcomes:
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=suite.check_name(by_name[outcome.name]),
                passed=outcome.passed,
                severity=_SEVERITY[outcome.severity],
                description=outcome.description,
                metadata=_metadata(suite, outcome),
            )

    return _check


#: One multi-asset check per suite; the code location registers them all.
QUALITY_CHECKS: list[dg.AssetChecksDefinition] = [_suite_check(suite) for suite in SUITES]


def suite_inputs(suite: Suite, graph: "BaseAssetGraph") -> set[dg.AssetKey] | None:
    """The assets whose materializations can change what validating ``suite`` finds: its asset, the assets
    that write the other tables it reads, and everything upstream of them; None when a table it reads has no
    known writer. A dbt model or seed writes the table of its key; a Python asset the tables its
    :data:`~orchestration.assets.ingestion.WRITES` metadata names."""
    writers: dict[str, set[dg.AssetKey]] = {}
    for key in graph.get_all_asset_keys():
        for table in graph.get(key).metadata.get(WRITES) or [".".join(key.path)]:
            writers.setdefault(table, set()).add(key)
    keys = {dg.AssetKey(list(suite.asset_key))}
    for table in suite.tables_read() - {suite.table}:
        if table not in writers:
            return None
        keys |= writers[table]
    return set().union(*(graph.get_ancestor_asset_keys(key, include_self=True) for key in keys))


def unchanged_since(instance: dg.DagsterInstance, graph: "BaseAssetGraph") -> dict[str, datetime]:
    """Per suite, when the latest materialization of its inputs (:func:`suite_inputs`) happened, in local
    time: a result validated since then is still the suite's result. A suite with an input never
    materialized, or one of unknown inputs, is left out (it is validated again)."""
    inputs = {suite.name: suite_inputs(suite, graph) for suite in SUITES}
    latest = instance.get_latest_materialization_events(sorted(set().union(*(k for k in inputs.values() if k))))
    since = {}
    for name, keys in inputs.items():
        if keys and all(latest.get(key) is not None for key in keys):
            since[name] = datetime.fromtimestamp(max(latest[key].timestamp for key in keys))
    return since


@dg.asset(
    key=QUALITY_REPORT_KEY,
    deps=sorted({dg.AssetKey(list(s.asset_key)) for s in SUITES}, key=lambda k: k.to_user_string()),
    group_name="reports",
    kinds={"html"},
    automation_condition=ON_CHANGE,
    description=(
        "WAREHOUSE_DIR/reports/quality/index.html: Great Expectations Data Docs with the latest result of "
        "every expectation suite, readable offline."
    ),
)
def quality_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from expectations.report import build_quality_report

    unchanged = unchanged_since(context.instance, context.job_def.asset_layer.asset_graph)
    with warehouse.doing("writing the quality report"):
        results = build_quality_report(
            warehouse.path, run_name=context.run_id, run_started_at=run_started_at(context), unchanged_since=unchanged
        )
    failed = {r.suite: r.failed() for r in results if not r.passed}
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.reports_dir() / "quality" / "index.html")),
            "suites": len(results),
            "suites_failed": len(failed),
            "expectations_failed": dg.MetadataValue.json(failed),
        }
    )
