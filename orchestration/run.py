"""`make run`: materialize every asset once, in this process, and print where the outputs are.

Uses the Dagster instance in DAGSTER_HOME when it is set (so `make dev` shows the run), else an
ephemeral one. Logs at INFO (LOG_LEVEL=DEBUG for every Dagster event). Exits non-zero when any step failed.
"""

from __future__ import annotations

import os
import sys
import time

import dagster as dg

from ingestion import settings


def main() -> int:
    started = time.monotonic()
    from orchestration.definitions import defs  # imported here: loading takes seconds, timed above

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("warehouse_job").execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("LOG_LEVEL", "INFO")}}}},
    )
    elapsed = time.monotonic() - started

    for event in result.all_events:
        if event.is_step_failure:
            print(f"FAILED step {event.step_key}: {event.event_specific_data.error.message.strip()}", file=sys.stderr)
    failed_checks = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]
    for check in failed_checks:
        print(f"check failed: {check.asset_key.to_user_string()} / {check.check_name}", file=sys.stderr)

    root = settings.warehouse_dir()
    print(f"\nrun {result.run_id} {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f} s")
    print(f"  build database   {settings.warehouse_db_path()}")
    print(f"  serving database {settings.serving_db_path()}  (open read-only)")
    print(f"  parquet exports  {settings.exports_dir()}/")
    print(f"  quality report   {root / 'reports' / 'quality' / 'index.html'}")
    print(f"  indicator report {root / 'reports' / 'indicators.html'}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
