"""Jobs, the daily quality schedule, the landing-folder sensor and the automation sensor.

Work follows change. The landing sensor launches, for each kind of input, one run of its raw asset over
the partitions of the files that were added, changed or removed (:mod:`orchestration.partitions`); the
automation sensor then materializes what is downstream of them, and nothing else
(:data:`orchestration.conditions.ON_CHANGE`). ``make run`` does the same in one process
(:mod:`orchestration.run`).
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from core import settings
from ingestion.landing import LandingError, landing_name
from orchestration import fingerprint
from orchestration.assets.ingestion import RAW_ASSETS
from orchestration.checks import QUALITY_CHECKS, QUALITY_REPORT_KEY
from orchestration.freshness import DATA_FRESHNESS_CHECKS
from orchestration.partitions import PARTITIONS, changed_paths, partitions_of, range_tags

#: The raw assets without their checks: the checks on raw tables (Great Expectations suites, dbt source tests,
#: data freshness) judge everything loaded, so they run after the loads, with what is downstream.
RAW_ONLY = dg.AssetSelection.assets(*RAW_ASSETS.values()).without_checks()

#: One per kind of input: its raw asset over a range of its partitions.
INGEST_JOBS = {
    kind: dg.define_asset_job(
        f"ingest_{kind}",
        selection=dg.AssetSelection.assets(asset).without_checks(),
        description=f"Load, withdraw or restore the files of LANDING_DIR/{kind}/ of the run's partitions.",
    )
    for kind, asset in RAW_ASSETS.items()
}

#: Everything downstream of the raw assets and every check (those on the raw tables included): mappings, dbt,
#: checks, publishing, reports. With the ingest jobs, what `make run` runs; the automation sensor runs the
#: part of it downstream of what changed.
warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.all() - RAW_ONLY,
    description="Map the loaded data onto the seeds, build the dbt marts, run the quality checks, publish.",
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

#: Evaluates :data:`~orchestration.conditions.ON_CHANGE` of every asset downstream of the landing files.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "warehouse_automation",
    target=dg.AssetSelection.all() - RAW_ONLY,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes what is downstream of new raw partitions, an edited seed or a changed dbt model.",
)


def landing_stamps() -> dict[str, str]:
    """``path -> size:mtime`` of every file under LANDING_DIR (a cheap stand-in for its content)."""
    root = settings.landing_dir()
    stamps = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        stamps[landing_name(path, root)] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return stamps


def _first_tick_changes(stamps: dict[str, str]) -> tuple[set[str], str | None]:
    """On a tick with no cursor: nothing when the last successful run's publication is current for the
    folder as it is (the reason is returned), else every file (loading what is loaded already costs a hash)."""
    try:
        decision = fingerprint.decide(fingerprint.compute())
    except LandingError:  # no landing folder: the run fails and says so
        decision = None
    if decision is not None and decision.current:
        return set(), f"{decision.reason}: its publication is current"
    return set(stamps), None


@dg.sensor(
    jobs=list(INGEST_JOBS.values()),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Adds a partition for each new file under LANDING_DIR and launches, per kind of input, one run over the "
        "partitions of the files added, changed or removed since its last tick (a first tick on an up-to-date "
        "warehouse launches nothing). What is downstream follows by the automation sensor."
    ),
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    try:
        stamps = landing_stamps()
    except FileNotFoundError:
        stamps = {}
    if context.cursor:
        changed, reason = changed_paths(json.loads(context.cursor), stamps), None
    else:
        changed, reason = _first_tick_changes(stamps)
    context.update_cursor(json.dumps(stamps, sort_keys=True))
    changed_keys = partitions_of(changed)
    if not changed_keys:
        return dg.SkipReason(reason or f"no change under {settings.landing_dir()}")
    add_requests, run_requests = [], []
    for kind, keys in sorted(changed_keys.items()):
        partitions = PARTITIONS[kind]
        known = list(context.instance.get_dynamic_partitions(partitions.name))
        new = sorted(keys - set(known))
        if new:
            add_requests.append(partitions.build_add_request(new))
        change = {path: stamps.get(path) for path in sorted(changed) if path.startswith(f"{kind}/")}
        run_requests.append(
            dg.RunRequest(
                run_key=f"{kind}:" + hashlib.sha256(json.dumps(change).encode()).hexdigest(),
                job_name=INGEST_JOBS[kind].name,
                tags=range_tags([*known, *new], keys),
            )
        )
    return dg.SensorResult(run_requests=run_requests, dynamic_partitions_requests=add_requests)
