"""What a run does when it finds that the previous run was interrupted.

The writer lock (:mod:`ingestion.locking`) tells the next run which run died and what it was doing, and
has already stopped the processes it left behind. Here that is reported to the user, and the dead run,
which Dagster would otherwise show as running for ever, is marked failed in the Dagster instance. Nothing
has to be undone in the warehouse: every load is one transaction, dbt rebuilds its models, and publishing
swaps whole files in, so the new run simply does the work again.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

from ingestion.locking import Holder


def interrupted_run_message(holder: Holder) -> str:
    return (
        f"the previous run was interrupted: {holder.describe()}. "
        "Its unfinished work is redone by this run; nothing it published is lost."
    )


def report_interrupted_run(
    holder: Holder, instance: dg.DagsterInstance | None, say: Callable[[str], None]
) -> None:
    """Tell the user (``say``) and mark the dead run failed in ``instance`` if it still shows as running."""
    say(interrupted_run_message(holder))
    if instance is None or holder.run_id is None:
        return
    run = instance.get_run_by_id(holder.run_id)
    if run is not None and run.status in NOT_FINISHED_STATUSES:
        instance.report_run_failed(
            run, f"The run's process (pid {holder.pid}) ended without finishing, at: {holder.activity}."
        )
