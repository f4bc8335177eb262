"""`make run`: materialize every asset once, in this process, and tell the user what happened.

Uses the Dagster instance in DAGSTER_HOME when it is set (so `make dev` shows the run), else an
ephemeral one. Logs at INFO (LOG_LEVEL=DEBUG for every Dagster event).

The run holds the warehouse writer lock from start to end (:mod:`core.locking`): a second `make run`
(or a run of `make dev`) waits and says for whom; a run that finds the previous one interrupted says
which run and step, and does its work again. SIGTERM and SIGINT stop the run within seconds (dbt
included) with exit status 143 / 130. Exits 1 when any step failed, with one line per failure (a full
disk is named as such, with the path), then the run summary of the build database and what is published
now; a build database that cannot be opened fails the run before anything else.

A run whose landing files, seeds, dbt project, code and reporting date are those of the last successful
run, whose publication is still in place, builds and publishes nothing and says so, naming that
publication (:mod:`orchestration.fingerprint`); ``WAREHOUSE_FORCE_REBUILD=1`` (`make rebuild`) rebuilds
anyway. Otherwise it says why it rebuilds, and records its fingerprint when it ends successfully.
"""

from __future__ import annotations

import gc
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import dagster as dg

from core import dbt_command, settings, warehouse
from core.locking import Holder, WriterLock
from expectations.run_summary import render_run_summary
from ingestion.landing import LandingError
from orchestration import fingerprint
from orchestration.recovery import report_interrupted_run

if TYPE_CHECKING:
    from orchestration.pipeline import PipelineResult

#: A DuckDB or OS error message of a full disk, with the path where DuckDB or Python names one.
_DISK_FULL = re.compile(r"No space left on device|ENOSPC|disk is full|Could not write all bytes", re.IGNORECASE)
_QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")
#: A copy's error names the source, then the file it could not write: ``'/a' -> '/b'``.
_COPY_TARGET = re.compile(r"""-> ["'](/[^"']+)["']""")
#: The errors Dagster wraps a step's own error in.
_DAGSTER_WRAPPERS = frozenset({"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"})
#: ``serving.publish.ShrinkError: `` before an exception's message.
_EXCEPTION_PREFIX = re.compile(r"^[\w.]+(?:Error|Exception|Failure): ")


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived: unwinds the run like Ctrl-C, whichever signal it was."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def disk_full_line(message: str) -> str | None:
    """One line naming the path when ``message`` is a full disk's error; None otherwise."""
    if not _DISK_FULL.search(message):
        return None
    path = _COPY_TARGET.search(message) or _QUOTED_PATH.search(message)
    where = path.group(1) if path else str(settings.warehouse_dir())
    return (
        f"DISK FULL: no space left on the device while writing {where}. Free some space and run again; "
        "the previous serving database, exports and reports are unchanged."
    )


def interrupted_step(result: PipelineResult) -> str | None:
    """The step a signal interrupted (Dagster turns SIGTERM/SIGINT into this error during execution)."""
    for event in result.all_events:
        if event.is_step_failure and event.event_specific_data.error.cls_name == "DagsterExecutionInterruptedError":
            return event.step_key
    return None


def _error_chain_text(error) -> str:
    """The messages of an error and of its causes and contexts (a full disk is often the root cause)."""
    texts = []
    while error is not None:
        texts.append(error.message)
        error = error.cause or error.context
    return "\n".join(texts)


def _step_failure_message(event: dg.DagsterEvent) -> str:
    """What went wrong, as the code that failed said it: a ``dagster.Failure``'s description, else the
    error's message under Dagster's wrapping (ours, which says what to do, not the error it was raised from),
    without the exception's module path."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    while error.cls_name in _DAGSTER_WRAPPERS and error.cause is not None:
        error = error.cause
    return _EXCEPTION_PREFIX.sub("", error.message.strip(), count=1)


def failure_lines(result: PipelineResult) -> list[str]:
    """One line per failure before any run, failed step and failed check, a full disk said plainly."""
    lines = [f"FAILED: {error}" for error in result.errors]
    for event in result.all_events:
        if event.is_step_failure:
            line = disk_full_line(_error_chain_text(event.step_failure_data.error))
            lines.append(line or f"FAILED step {event.step_key}: {_step_failure_message(event)}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.asset_check_evaluation_data.passed:
            check = event.asset_check_evaluation_data
            said = f": {check.description}" if check.description else ""
            lines.append(f"check failed: {check.asset_key.to_user_string()} / {check.check_name}{said}")
    return lines


def main() -> int:
    started, started_at = time.monotonic(), datetime.now()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    # dbt imports itself on the other core while this process starts up, loads the definitions and ingests:
    # the run's dbt build starts sooner (core.dbt_command)
    with dbt_command.started_in_advance() as dbt_started:
        return _run(started, started_at, dbt_started)


@contextmanager
def _recorded_in(lock: WriterLock, dbt_started: subprocess.Popen) -> Iterator[None]:
    """The dbt process started in advance, recorded as a child of the lock's holder (the next run stops it if
    this one is killed while dbt runs in it), and stopped before the lock is let go, where it would be taken
    for a process left behind."""
    lock.add_child(dbt_started.pid)
    try:
        yield
    finally:
        dbt_command.stop(dbt_started)


def _run(started: float, started_at: datetime, dbt_started: subprocess.Popen) -> int:
    run_id = str(uuid.uuid4())
    lock = WriterLock(settings.warehouse_db_path())
    interrupted: list[Holder] = []
    try:
        instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
        with lock.hold(
            "run in progress",
            run_id=run_id,
            on_wait=_say,
            on_interrupted=partial(_previous_run_interrupted, interrupted, instance=instance),
        ), _recorded_in(lock, dbt_started):
            if (problem := warehouse.unopenable()) is not None:
                _say(f"FAILED: {problem}")
                print(publication_line(run_id))
                return 1
            with lock.hold("comparing the inputs with those of the last publication"):
                inputs, decision = check_inputs(interrupted=bool(interrupted))
            say_unread_files()
            if decision.current:
                _print_nothing_changed(run_id, decision, inputs, time.monotonic() - started)
                return 0
            if decision.reason:
                what = "what is downstream of the landing files that changed" if decision.landing_only else "everything"
                _say("\n    ".join([f"building {what}: {decision.reason}", *decision.changes]))
            fingerprint.forget_successful_run()
            from orchestration.definitions import defs  # imported here: loading takes seconds, timed above
            from orchestration.pipeline import execute_pipeline

            result = execute_pipeline(
                defs,
                instance,
                run_id=run_id,
                run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("LOG_LEVEL", "INFO")}}}},
                tags={fingerprint.INPUTS_TAG: inputs.digest} if inputs is not None else None,
                narrow=decision.landing_only,
            )
            if result.success and inputs is not None:
                _record_success(run_id, started_at, inputs)
    except Stopped as stop:
        _say_stopped(run_id, str(stop), started)
        return 128 + stop.signum
    except OSError as error:
        written = error.filename2 or error.filename  # a copy's error names its target second
        line = disk_full_line(f"{error} '{written}'" if written else str(error))
        if line is None:
            raise
        _say(line)
        return 1
    elapsed = time.monotonic() - started
    if (step := interrupted_step(result)) is not None:
        _say_stopped(run_id, f"a signal during step {step}", started)
        return 128 + signal.SIGINT

    for line in failure_lines(result):
        _say(line)
    _print_summary(run_id, started_at)

    root = settings.warehouse_dir()
    print(f"\nrun {run_id} {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f} s")
    if not result.success:
        print(publication_line(run_id))
    _print_outputs(root)
    return 0 if result.success else 1


def _previous_run_interrupted(found: list[Holder], holder: Holder, instance: dg.DagsterInstance) -> None:
    found.append(holder)
    report_interrupted_run(holder, instance=instance, say=_say)


def check_inputs(interrupted: bool) -> tuple[fingerprint.Fingerprint | None, fingerprint.Decision]:
    """The fingerprint of the inputs now, and whether the last publication is current for it. Without a
    fingerprint (no landing folder, an unreadable file) the run builds everything and fails as it would."""
    try:
        inputs = fingerprint.compute()
    except (LandingError, OSError):
        return None, fingerprint.Decision(False, "")
    return inputs, fingerprint.decide(inputs, force=fingerprint.forced(), interrupted=interrupted)


#: How many of the files no loader reads a run names.
UNREAD_SHOWN = 10


def say_unread_files() -> None:
    """Name the files of the landing folder that no loader reads (a file put in the wrong folder, or saved
    with another extension), with why: they are not loaded, and adding or removing them changes nothing."""
    try:
        unread = fingerprint.unread_landing_files(settings.landing_dir())
    except OSError:
        return
    if unread:
        listed = [f"{name} ({why})" for name, why in unread.items()]
        more = f"; and {len(listed) - UNREAD_SHOWN} more" if len(listed) > UNREAD_SHOWN else ""
        _say(f"not loaded: {len(unread)} file(s) of the landing folder that no loader reads: "
             + "; ".join(listed[:UNREAD_SHOWN]) + more)


def _record_success(run_id: str, started_at: datetime, inputs: fingerprint.Fingerprint) -> None:
    """Record the run as the last successful one, if what is published is its publication."""
    from serving.publish import latest_publication

    publication = latest_publication(settings.serving_db_path())
    if publication is None or publication["run_id"] != run_id:
        return
    fingerprint.record_successful_run(
        fingerprint.LastRun(
            run_id=run_id,
            started_at=started_at.isoformat(timespec="seconds"),
            finished_at=datetime.now().isoformat(timespec="seconds"),
            fingerprint=inputs,
        )
    )


def _print_nothing_changed(
    run_id: str, decision: fingerprint.Decision, inputs: fingerprint.Fingerprint, elapsed: float
) -> None:
    """The summary of a run that found nothing to do: what it compared, and the publication that is current."""
    last, publication = decision.last_run, decision.publication
    root = settings.warehouse_dir()
    runtime = inputs.parts["runtime"]
    print(
        f"\nNothing changed since run {last.run_id} (ended {last.finished_at}): the same "
        f"{inputs.count('landing')} landing files, {inputs.count('seeds')} seed files, "
        f"{inputs.count('dbt')} dbt project files and {inputs.count('code')} code files, the same versions and "
        f"reporting date ({runtime['reporting_date']}). Nothing was built, checked or published."
    )
    print(
        f"\nWhat is published is current: the publication of run {last.run_id}, "
        f"published {publication['published_at']} ({publication['tables']} tables, {publication['rows']} rows, "
        f"inputs {inputs.digest[:12]})."
    )
    print("\n" + render_run_summary(settings.warehouse_db_path(), last.run_id, datetime.fromisoformat(last.started_at)))
    print(
        f"\nTo build and publish again anyway: make rebuild (or {fingerprint.FORCE_REBUILD_VARIABLE}=1 make run)."
    )
    print(f"\nrun {run_id} built nothing in {elapsed:.1f} s: the publication of run {last.run_id} is current")
    _print_outputs(root)


def publication_line(run_id: str) -> str:
    """What BI tools read after run ``run_id`` failed: its publication, if it got that far, or the one it
    left in place."""
    from serving.publish import latest_publication

    serving_db = settings.serving_db_path()
    publication = latest_publication(serving_db)
    if publication is None and serving_db.exists():
        return f"Nothing of this run is published, and {serving_db} cannot be read or records no publication."
    if publication is None:
        return "Nothing is published: there is no serving database yet."
    said = f"published {publication['published_at']} ({publication['tables']} tables, {publication['rows']} rows)"
    if publication["run_id"] == run_id:
        return f"This run published the serving database before it failed: {said}."
    return f"Nothing of this run is published: the serving database is still the publication of run {publication['run_id']}, {said}."


def _print_outputs(root: Path) -> None:
    print(f"  build database   {settings.warehouse_db_path()}")
    print(f"  serving database {settings.serving_db_path()}  (open read-only)")
    print(f"  parquet exports  {settings.exports_dir()}/")
    print(f"  quality report   {root / 'reports' / 'quality' / 'index.html'}")
    print(f"  indicator report {root / 'reports' / 'indicators.html'}")
    print(f"  dbt docs         {root / 'reports' / 'dbt-docs' / 'index.html'}")


def _say_stopped(run_id: str, how: str, started: float) -> None:
    _say(
        f"\nrun {run_id} stopped by {how} after {time.monotonic() - started:.1f} s. "
        "Nothing it had not finished is published; run again to complete it."
    )


def _print_summary(run_id: str, started_at: datetime) -> None:
    """What the user has to know of this run's inputs and checks: failed files, quarantined rows,
    withdrawn and duplicate files, the checks that stopped publishing, each with what to do."""
    print("\n" + render_run_summary(settings.warehouse_db_path(), run_id, started_at))


if __name__ == "__main__":
    status = main()
    # The interpreter's last garbage collection, over the objects of Dagster, dbt and Great Expectations, took
    # 1.3 s of every run's exit. Exit handlers still run (they close Dagster's event log files).
    gc.freeze()
    sys.exit(status)
