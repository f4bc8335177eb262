"""Freshness as Dagster asset checks, two kinds, both severity WARN (late data never stops publishing):

- **data freshness** (``DATA_FRESHNESS_CHECKS``): one check per row of the publication calendar
  (``expectations/publication_calendar.csv``) on the raw asset of its input, e.g.
  ``raw/enterprise_submissions: data_freshness_quarterly``: is the latest period loaded as recent as the
  calendar says on the reporting date (the dbt var ``reporting_date`` that ``marts.target_tracking`` is
  judged as of, else today)? Its metadata names the period overdue and since when. The results go into
  ``audit.quality_results`` (suites ``freshness.<input>``), so the run summary and the quality report show
  them. It runs in every ``warehouse_job`` and in the daily ``quality_job``.
- **materialization freshness** (:func:`materialization_freshness_checks`): Dagster's own
  ``freshness_check`` on the raw assets and the marts: when were they last materialized? A raw asset
  warns after the ``warn_after`` of its dbt source freshness (declared once, in
  ``dbt_project/models/staging/*/_*__sources.yml``), a mart after the ``lower_bound_delta_seconds`` of its
  ``meta.dagster.freshness_check`` (``dbt_project.yml``). Between runs, :func:`freshness_checks_sensor`
  evaluates them again once they may have become overdue.
"""

# No `from __future__ import annotations`: Dagster checks the `context` annotation at definition time.
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from core import settings
from expectations import record_results
from expectations.overview import write_run_overview
from expectations.freshness import DataFreshness, Deadline, as_suite_results, assess, publication_calendar
from orchestration.checks import run_started_at
from orchestration.fingerprint import reporting_date
from orchestration.resources import WarehouseResource


def _check_key(deadline: Deadline) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(list(deadline.asset_key)), deadline.check_name)


def _metadata(item: DataFreshness) -> dict[str, Any]:
    observed = item.observed()
    return {
        "overdue_period": observed["overdue_period"],
        "overdue_since": observed["overdue_since"],
        "periods_overdue": observed["periods_overdue"],
        "latest_period": observed["latest_period"],
        "due_period": observed["due_period"],
        "due_on": observed["due_on"],
        "reporting_date": observed["reporting_date"],
        "deadline": f"{item.deadline.rule}. {item.deadline.basis}",
        "quality_report": dg.MetadataValue.path(str(settings.reports_dir() / "quality" / "index.html")),
    }


def _data_freshness_check(calendar: Sequence[Deadline]) -> dg.AssetChecksDefinition:
    specs = [
        dg.AssetCheckSpec(
            d.check_name,
            asset=dg.AssetKey(list(d.asset_key)),
            description=f"[warn] The latest {d.period_noun} due is loaded: {d.rule}. {d.basis}",
            blocking=False,
        )
        for d in calendar
    ]

    @dg.multi_asset_check(
        name="data_freshness",
        specs=specs,
        can_subset=True,
        description="The latest period of each input against its publication calendar (expectations/publication_calendar.csv).",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
        selected = tuple(d for d in calendar if _check_key(d) in context.selected_asset_check_keys)
        as_of = date.fromisoformat(reporting_date(settings.DBT_PROJECT_DIR))
        with warehouse.doing("checking the freshness of the inputs"):
            with warehouse.get_connection("recording the freshness of the inputs") as con:
                assessments = assess(con, as_of, selected)
                record_results(con, context.run.run_id, as_suite_results(assessments, datetime.now()))
            write_run_overview(warehouse.path, context.run.run_id, run_started_at(context))
        for item in assessments:
            if not item.on_time:
                context.log.warning(f"raw/{item.deadline.source}: {item.message}")
            yield dg.AssetCheckResult(
                asset_key=dg.AssetKey(list(item.deadline.asset_key)),
                check_name=item.deadline.check_name,
                passed=item.on_time,
                severity=dg.AssetCheckSeverity.WARN,
                description=item.message,
                metadata=_metadata(item),
            )

    return _check


#: The data freshness checks of every input of the publication calendar.
DATA_FRESHNESS_CHECKS: list[dg.AssetChecksDefinition] = [_data_freshness_check(publication_calendar())]

_PERIODS = {"minute": "minutes", "hour": "hours", "day": "days"}


def materialization_windows(manifest: Mapping[str, Any]) -> dict[dg.AssetKey, timedelta]:
    """How long each raw asset and mart may go without a materialization, from the dbt manifest: a raw
    asset, the smallest ``freshness.warn_after`` of the dbt sources it loads (``meta.dagster.asset_key``);
    a model, its ``meta.dagster.freshness_check.lower_bound_delta_seconds``."""
    windows: dict[dg.AssetKey, timedelta] = {}
    for source in manifest["sources"].values():
        warn_after = (source.get("freshness") or {}).get("warn_after") or {}
        asset_key = (source.get("meta") or {}).get("dagster", {}).get("asset_key")
        if warn_after.get("count") and asset_key:
            window = timedelta(**{_PERIODS[warn_after["period"]]: warn_after["count"]})
            key = dg.AssetKey(asset_key)
            windows[key] = min(window, windows.get(key, window))
    for node in manifest["nodes"].values():
        check = (node.get("meta") or {}).get("dagster", {}).get("freshness_check") or {}
        if node["resource_type"] == "model" and check.get("lower_bound_delta_seconds"):
            windows[dg.AssetKey([node["schema"], node["name"]])] = timedelta(seconds=int(check["lower_bound_delta_seconds"]))
    return windows


def materialization_freshness_checks(manifest: Mapping[str, Any] | None = None) -> list[dg.AssetChecksDefinition]:
    """Dagster's ``freshness_check`` (severity WARN) on every asset of :func:`materialization_windows`
    (of the project's manifest by default): one multi-asset check per window, so a run adds a few steps,
    not one per mart."""
    if manifest is None:
        from orchestration.dbt_project import dbt_project  # parses the dbt project when stale

        manifest = json.loads(Path(dbt_project.manifest_path).read_text(encoding="utf-8"))
    by_window: dict[timedelta, list[dg.AssetKey]] = {}
    for key, window in sorted(materialization_windows(manifest).items(), key=lambda item: item[0].to_user_string()):
        by_window.setdefault(window, []).append(key)
    with _superseded_api():
        return [
            check
            for window, keys in sorted(by_window.items())
            for check in dg.build_last_update_freshness_checks(
                assets=keys, lower_bound_delta=window, severity=dg.AssetCheckSeverity.WARN
            )
        ]


def freshness_checks_sensor(checks: Sequence[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """Evaluates the materialization freshness checks between runs, once one may have become overdue (a
    run that materializes an asset evaluates its check anyway)."""
    with _superseded_api():
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, minimum_interval_seconds=3600, default_status=dg.DefaultSensorStatus.RUNNING
        )


@contextmanager
def _superseded_api() -> Iterator[None]:
    """Dagster 1.13 calls the freshness check builders superseded by ``FreshnessPolicy``; they are used on
    purpose: a policy yields no check result (nothing in the asset's checks, nothing to record) and is
    evaluated only by a daemon that must be enabled in dagster.yaml."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        yield
