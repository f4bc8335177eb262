"""What a run does when it finds that the previous run was interrupted.

The writer lock (:mod:`core.locking`) tells the next run which run died and what it was doing, and
has already stopped the processes it left behind. Here that is reported to the user, and the dead run,
which Dagster would otherwise show as running for ever, is marked failed in the Dagster instance. Nothing
has to be undone in the warehouse: every load is one transaction, dbt rebuilds its models, and publishing
swaps whole files in, so the new run simply does the work again.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

from core.locking import Holder


def interrupted_run_message(holder: Holder, step: str | None = None) -> str:
    where = f", in step {step}" if step else ""
    return (
        f"the previous run was interrupted: {holder.describe()}{where}. "
        "Its unfinished work is redone by this run; nothing it published is lost."
    )


def unfinished_step(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The last step the run started and did not finish, from its event log."""
    finished, started = set(), []
    for entry in instance.all_logs(
        run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
    ):
        if entry.dagster_event_type == DagsterEventType.STEP_START:
            started.append(entry.step_key)
        else:
            finished.add(entry.step_key)
    unfinished = [step for step in started if step not in finished]
    return unfinished[-1] if unfinished else None


def report_interrupted_run(
    holder: Holder, instance: dg.DagsterInstance | None, say: Callable[[str], None]
) -> None:
    """Tell the user (``say``) which run died, where, and mark it failed in ``instance`` if it still shows
    as running."""
    run = instance.get_run_by_id(holder.run_id) if instance is not None and holder.run_id else None
    say(interrupted_run_message(holder, unfinished_step(instance, holder.run_id) if run is not None else None))
    if run is None:
        return
    if run is not None and run.status in NOT_FINISHED_STATUSES:
        instance.report_run_failed(
            run, f"The run's process (pid {holder.pid}) ended without finishing, at: {holder.activity}."
        )
