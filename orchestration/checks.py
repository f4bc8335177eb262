"""The expectation suites as Dagster asset checks, and the quality report as an asset.

Every suite has two checks on the asset that writes its table: ``<table>__quality_errors`` (severity ERROR)
and ``<table>__quality_warnings`` (WARN), each passed when all its expectations of that severity passed,
with the failed ones (observed value, unexpected count, a few examples) in its description and metadata.
The errors check of a suite on marts is blocking, so a mart that fails it stops everything downstream of
it (publishing included). One check per expectation would show each one's history in the UI, but cost
Dagster three events per expectation and run (about 6 s per run for the 179 expectations); the
per-expectation detail is in the quality report and ``audit.quality_results``.

The suites run as two steps (``QUALITY_CHECKS``, multi-asset checks that run the selected suites only):
``quality_of_loads``, the suites of the raw tables and the load audit, and ``quality_of_build``, the suites
that read what dbt writes (the marts; a mapped table validated against the reference seeds), after the dbt
build. One step validates its suites in one GX context and builds their report pages once (each suite as its
own step spent half its time on that). ``quality_of_loads`` does not depend on the dbt build, so its results
are in the report even when the build fails; it runs after it all the same (the dbt step has the higher
priority): while dbt runs in its own process, the run's process imports Great Expectations
(:func:`expectations.import_great_expectations_meanwhile`, 3-4 s) instead of waiting.

Each step, under the warehouse writer lock (so no other process writes the file meanwhile), validates
read-only, puts its results into the quality report, appends them to ``audit.quality_results``, then puts
the run overview (summary, load log, quarantine, runs) back at the top of the report, read-only again.
Validation must see the file with no read-write connection open in the process, so the write happens only
after the validation has closed its connection.

``quality_report`` rebuilds the whole report with every suite's latest result: those of this run's
checks, the stored result of a suite whose inputs did not materialize since it was validated
(:func:`unchanged_since`), and the other suites validated again; the daily schedule runs it with every
check. When a blocking check fails it is skipped, but each check has already put its result into the
report.
"""

# No `from __future__ import annotations`: Dagster checks the `context` annotation at definition time.
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import dagster as dg

from core import settings
from expectations import SUITES, ExpectationOutcome, Suite, record_results
from expectations.overview import write_run_overview
from expectations.spec import SEVERITIES, Severity
from orchestration.assets.dbt import warehouse_dbt_models
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


def _check_specs(suite: Suite, built_by_dbt: frozenset[str]) -> list[dg.AssetCheckSpec]:
    """The errors and warnings checks of ``suite``; each also depends on the dbt models and seeds whose tables
    the suite reads besides its own (a mapped table is validated against the reference seeds)."""
    read = sorted(t for t in suite.tables_read() - {suite.table} if t in built_by_dbt)
    return [
        dg.AssetCheckSpec(
            suite.check_name(severity),
            asset=dg.AssetKey(list(suite.asset_key)),
            additional_deps=[dg.AssetKey(table.split(".")) for table in read],
            description=f"Suite {suite.name}, its {severity}-level expectations: "
            + "; ".join(e.description or e.name for e in suite.expectations_of(severity)),
            blocking=suite.blocks(severity),
            metadata={"suite": suite.name, "expectations": [e.name for e in suite.expectations_of(severity)]},
        )
        for severity in SEVERITIES
        if suite.expectations_of(severity)
    ]


def suites_check(
    name: str, suites: Sequence[Suite], built_by_dbt: frozenset[str] = frozenset(), description: str = ""
) -> dg.AssetChecksDefinition:
    """One step that validates the selected ones of ``suites`` in one Great Expectations context, puts them
    into the quality report with one build of its pages, and yields two results per suite (see the module).
    ``built_by_dbt``: the tables dbt writes (``schema.table``), which the checks of a suite reading them
    depend on."""
    specs_of = [(suite, _check_specs(suite, built_by_dbt)) for suite in suites]
    suite_of = {spec.key: suite for suite, specs in specs_of for spec in specs}
    specs = [spec for _, suite_specs in specs_of for spec in suite_specs]

    @dg.multi_asset_check(name=name, specs=specs, can_subset=True, description=description)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
        from expectations.report import run_and_report  # imports Great Expectations

        selected = [s for s in suites if any(suite_of[k] is s for k in context.selected_asset_check_keys)]
        db_path = warehouse.path
        with warehouse.doing(f"quality checks of {', '.join(s.name for s in selected)}"):
            results = run_and_report(db_path, [s.name for s in selected], run_name=context.run.run_id)
            with warehouse.get_connection("recording the quality checks' results") as con:
                record_results(con, context.run.run_id, results)
            write_run_overview(db_path, context.run.run_id, run_started_at(context))
        for suite, result in zip(selected, results, strict=True):
            if result.error:
                context.log.warning(f"suite {suite.name} not validated: {result.error}")
            for severity in SEVERITIES:
                outcomes = [o for o in result.outcomes if o.severity == severity]
                if outcomes:
                    yield dg.AssetCheckResult(
                        asset_key=dg.AssetKey(list(suite.asset_key)),
                        check_name=suite.check_name(severity),
                        **_evaluation(suite, severity, outcomes),
                    )

    return _check


def _follows_the_build(suite: Suite, built_by_dbt: frozenset[str]) -> bool:
    return bool(suite.tables_read() & built_by_dbt)


def _quality_checks() -> list[dg.AssetChecksDefinition]:
    built_by_dbt = frozenset(".".join(key.path) for key in warehouse_dbt_models.keys)
    loads = [s for s in SUITES if not _follows_the_build(s, built_by_dbt)]
    build = [s for s in SUITES if _follows_the_build(s, built_by_dbt)]
    return [
        suites_check(
            "quality_of_loads", loads, built_by_dbt,
            "The expectation suites of what ingestion loaded (raw tables and load audit), independent of the dbt build.",
        ),
        suites_check(
            "quality_of_build", build, built_by_dbt,
            "The expectation suites of the marts, and of the tables validated against the dbt seeds, after the dbt build.",
        ),
    ]


#: The suites as two multi-asset checks: those of the loads, then those of what dbt builds (or reads).
QUALITY_CHECKS: list[dg.AssetChecksDefinition] = _quality_checks()


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
