"""The whole pipeline in this process: the partitions of the files that changed, then what is downstream.

What `make run` (and the tests) execute, the way the sensors do it under ``make dev``
(:mod:`orchestration.automation`), in one process and one writer-lock hold:

1. for each kind of input whose files differ from the warehouse's current loads
   (:func:`orchestration.partitions.pending_partitions`), one run of ``ingest_<kind>`` over those files'
   partitions (registered first);
2. one run of ``warehouse_job``: everything downstream of the raw assets, or only what is downstream of the
   kinds that changed when nothing but landing files changed since the last successful run (``narrow``;
   the dbt docs, which describe the unchanged dbt project, are then left as they are).

A failed ingest run stops the pipeline before ``warehouse_job``: nothing is built or published from a
half-loaded folder. :class:`PipelineResult` reads like one ``ExecuteInProcessResult`` over all the runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from core import settings
from ingestion.landing import LandingError
from orchestration.automation import INGEST_JOBS, warehouse_job
from orchestration.partitions import PARTITIONS, add_partitions, pending_partitions, range_tags


@dataclass
class PipelineResult:
    """The runs of one pipeline execution, in order; ``errors`` are failures before any run started."""

    runs: list[dg.ExecuteInProcessResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: The files of each kind that the ingest runs covered (their partitions).
    ingested: dict[str, set[str]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return not self.errors and bool(self.runs) and all(run.success for run in self.runs)

    @property
    def run_id(self) -> str | None:
        """The run of ``warehouse_job`` (the one that publishes), when there was one."""
        last = self.runs[-1] if self.runs else None
        return last.run_id if last is not None and last.job_def.name == warehouse_job.name else None

    @property
    def all_events(self) -> list[dg.DagsterEvent]:
        return [event for run in self.runs for event in run.all_events]

    def get_step_failure_events(self) -> list[dg.DagsterEvent]:
        return [event for run in self.runs for event in run.get_step_failure_events()]

    def get_asset_materialization_events(self) -> list[dg.DagsterEvent]:
        return [event for run in self.runs for event in run.get_asset_materialization_events()]

    def get_asset_check_evaluations(self) -> list[dg.AssetCheckEvaluation]:
        return [evaluation for run in self.runs for evaluation in run.get_asset_check_evaluations()]


def execute_pipeline(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    *,
    run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
    narrow: bool = False,
) -> PipelineResult:
    """Ingest the files that changed, then build downstream (see the module). ``run_id`` and ``tags`` are
    those of the ``warehouse_job`` run; ``narrow``: build only what is downstream of the kinds that changed."""
    result = PipelineResult()
    try:
        pending = pending_partitions(settings.warehouse_db_path(), settings.landing_dir())
    except LandingError as error:
        result.errors.append(str(error))
        return result
    for kind, keys in pending.items():
        if not keys:
            continue
        add_partitions(instance, kind, keys)
        known = instance.get_dynamic_partitions(PARTITIONS[kind].name)
        run = defs.resolve_job_def(INGEST_JOBS[kind].name).execute_in_process(
            instance=instance, raise_on_error=False, run_config=run_config, tags=range_tags(known, keys)
        )
        result.runs.append(run)
        result.ingested[kind] = set(keys)
        if not run.success:
            return result
    job = defs.resolve_job_def(warehouse_job.name)
    changed = [kind for kind, keys in pending.items() if keys]
    if narrow and changed:
        job = job.get_subset(**_downstream_of(defs, changed))
    result.runs.append(
        job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False, run_config=run_config, tags=tags)
    )
    return result


def _downstream_of(defs: dg.Definitions, kinds: list[str]) -> dict[str, set]:
    """The assets downstream of the raw assets of ``kinds`` (not those raw assets) and their checks, with the
    checks on those raw assets: the selection of a ``warehouse_job`` subset. The dbt docs are left out: they
    describe the dbt project, which did not change, not the data."""
    from orchestration.assets.dbt import dbt_docs
    from orchestration.assets.ingestion import RAW_ASSETS

    graph = defs.resolve_asset_graph()
    raw = dg.AssetSelection.assets(*[RAW_ASSETS[kind] for kind in kinds])
    selection = raw.downstream() - raw.without_checks() - dg.AssetSelection.assets(dbt_docs)
    return {"asset_selection": selection.resolve(graph), "asset_check_selection": selection.resolve_checks(graph)}
