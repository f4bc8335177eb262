"""Jobs, the daily quality schedule and the landing-folder sensor."""

from __future__ import annotations

import hashlib

import dagster as dg

from core import settings
from ingestion.landing import LandingError
from orchestration import fingerprint
from orchestration.checks import QUALITY_CHECKS, QUALITY_REPORT_KEY
from orchestration.freshness import DATA_FRESHNESS_CHECKS

#: Everything: ingest, dbt, checks, publish, reports. What `make run` and the sensor launch.
warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.all(),
    description="Ingest every new landing file, build the dbt marts, run the quality checks, publish.",
)

#: The checks and the quality report alone, for the daily schedule.
quality_job = dg.define_asset_job(
    "quality_job",
    selection=dg.AssetSelection.checks(*QUALITY_CHECKS, *DATA_FRESHNESS_CHECKS) | dg.AssetSelection.keys(QUALITY_REPORT_KEY),
    description="Re-run every quality and data freshness check on the current warehouse and rebuild the quality report.",
)

daily_quality_schedule = dg.ScheduleDefinition(
    name="daily_quality_report",
    job=quality_job,
    cron_schedule="0 6 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning at 06:00 Beijing time: all quality checks and the quality report.",
)


def landing_fingerprint() -> str:
    """A digest of every file under LANDING_DIR (path, size, modification time)."""
    root = settings.landing_dir()
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@dg.sensor(
    job=warehouse_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts warehouse_job when a file under LANDING_DIR is added, changed or removed, unless the last "
        "publication was built from exactly these inputs (a first tick on an up-to-date warehouse launches nothing)."
    ),
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    digest = landing_fingerprint()
    if digest == context.cursor:
        return dg.SkipReason(f"no change under {settings.landing_dir()}")
    context.update_cursor(digest)
    try:
        decision = fingerprint.decide(fingerprint.compute())
    except LandingError:  # no landing folder: the run fails and says so
        decision = None
    if decision is not None and decision.current:
        return dg.SkipReason(f"{decision.reason}: its publication is current")
    return dg.RunRequest(run_key=digest)
