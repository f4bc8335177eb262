"""The expectation suites as Dagster asset checks, and the quality report as an asset.

One ``multi_asset_check`` per suite (``QUALITY_CHECKS``), on the asset that writes the suite's table,
yields one ``AssetCheckResult`` per severity: ``<table>__quality_errors`` (severity ERROR) and
``<table>__quality_warnings`` (WARN), each passed when all its expectations passed, with the failed ones
(observed value, unexpected count, a few examples) in its description and metadata. The errors check of
a suite on marts is blocking, so a mart that fails it stops everything downstream of it (publishing
included). One check per expectation would show each one's history in the UI, but cost Dagster three
events per expectation and run (about 6 s per run for the 179 expectations); the per-expectation detail
is in the quality report and ``audit.quality_results``.

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
from expectations.spec import SEVERITIES, Severity
from orchestration.assets.ingestion import WRITES
from orchestration.conditions import ON_CHANGE
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

QUALITY_REPORT_KEY = dg.AssetKey(["reports", "quality"])
_SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def _evaluation(suite: Suite, severity: Severity, outcomes: list[ExpectationOutcome]) -> dict[str, Any]:
    """The check result of ``suite``'s expectations of one severity: passed when all of them passed; the
    failed ones, with what was observed, in the description and the metadata."""
    failed = [o for o in outcomes if not o.passed]
    if failed:
        listed = "; ".join(f"{o.name} ({o.observed_value})" for o in failed)
        description = f"{len(failed)} of {len(outcomes)} {severity}-level expectations failed: {listed}"
    else:
        description = f"all {len(outcomes)} {severity}-level expectations passed"
    return {
        "passed": not failed,
        "severity": _SEVERITY[severity],
        "description": description,
        "metadata": {
            "suite": suite.name,
            "expectations": len(outcomes),
            "failed": len(failed),
            "failed_expectations": dg.MetadataValue.json([
                {"expectation": o.name, "description": o.description, "observed_value": o.observed_value,
                 "unexpected_count": o.unexpected_count, "examples": o.examples}
                for o in failed
            ]),
            "quality_report": dg.MetadataValue.path(str(settings.reports_dir() / "quality" / "index.html")),
        },
    }


def run_started_at(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> datetime | None:
    """When the run started (local time, like the audit tables): its withdrawals and failures are this run's."""
    stats = context.instance.get_run_stats(context.run.run_id)
    started = stats.start_time or stats.launch_time
    return datetime.fromtimestamp(started) if started else None


def _suite_check(suite: Suite) -> dg.AssetChecksDefinition:
    asset_key = dg.AssetKey(list(suite.asset_key))
    severities = [s for s in SEVERITIES if suite.expectations_of(s)]
    specs = [
        dg.AssetCheckSpec(
            suite.check_name(severity),
            asset=asset_key,
            description=f"Suite {suite.name}, its {severity}-level expectations: "
            + "; ".join(e.description or e.name for e in suite.expectations_of(severity)),
            blocking=suite.blocks(severity),
            metadata={"suite": suite.name, "expectations": [e.name for e in suite.expectations_of(severity)]},
        )
        for severity in severities
    ]

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
        for severity in severities:
            outcomes = [o for o in result.outcomes if o.severity == severity]
            yield dg.AssetCheckResult(
                asset_key=asset_key, check_name=suite.check_name(severity), **_evaluation(suite, severity, outcomes)
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
