"""The indicator report: ``reports/indicators.html``, one self-contained page on where the targets stand.

Everything it shows comes from the marts and the seeds that define the targets; no figure is computed here:

- each target's row of ``marts.target_tracking`` (latest value and period, gap, required change, status);
- the series the target is tracked on, from the target observations (``marts.target_observations``, or
  ``intermediate.int_target_observations`` when the report is built from the build database), else from
  the mart column ``ref_target_indicators.csv`` names for the target's indicator;
- for a region target, the national figure from the same mart column (``ref_target_indicators.csv``
  names it), so Chongqing and China are compared on one definition;
- the vintage and source file of the latest figure, from ``marts.fct_indicator_values`` (which published
  indicators a mart column is computed from is listed in ``report_provenance.csv``).

Charts are inline SVG, styles are inline and there is no script, so the page reads the same offline, in a
mail attachment or printed.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ingestion import settings
from ingestion.periods import Period, PeriodError, parse_period
from ingestion.warehouse import connect
from serving.charts import Series, TargetMark, draws_path, format_number, line_chart, progress_bar

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
UNIT_LABELS_CSV = HERE / "report_units.csv"
INDICATOR_LABELS_CSV = HERE / "report_indicator_labels.csv"
PROVENANCE_CSV = HERE / "report_provenance.csv"

#: Where the series behind each target is read from, first found wins.
TARGET_OBSERVATIONS = ("marts.target_observations", "intermediate.int_target_observations")
#: Order of the status tiles and the sort order of cards within a plan (most urgent first).
STATUSES = ("off_track", "at_risk", "on_track", "met", "no_data")
#: Target kinds that count things achieved over the plan: drawn as progress towards the count.
COUNT_KINDS = frozenset({"new_count", "cumulative_count"})
NATION = "CN"
#: The long mart of annual series, one row per (region, indicator, year); its measures are indicator codes.
LONG_SERIES_MART = "indicator_series"


class ReportError(RuntimeError):
    """The report cannot be built from this database."""


@dataclass(frozen=True)
class Provenance:
    """The vintage and file of one published figure behind a target's latest value."""

    indicator: str
    release_date: date | None
    status: str | None
    source_file: str | None


@dataclass
class TargetView:
    """One target as the page shows it."""

    target_id: str
    indicator: str
    name_zh: str
    name_en: str
    plan: str
    quote: str
    kind: str
    scope: str
    subject_kind: str  # region | soe_group
    subject: str  # the region code or the SOE group the target is measured on
    comparator: str
    target_value: float | None
    target_year: int | None
    unit_suffix: str
    unit_label: str
    latest_value: float | None
    latest_period: str | None
    gap: float | None
    required_annual_change: float | None
    status: str
    chart: Markup | None = None
    chart_kind: str | None = None  # line | progress
    has_national: bool = False
    has_path: bool = False
    provenance: list[Provenance] = field(default_factory=list)

    @property
    def target_text(self) -> str:
        comparator = {">=": "≥", "<=": "≤", "~": "≈"}.get(self.comparator, self.comparator)
        return f"{comparator} {format_number(self.target_value)}{self.unit_suffix}"

    @property
    def subject_label(self) -> str:
        if self.subject_kind == "region":
            return "Chongqing 重庆" if self.subject == "CN-CQ" else self.subject
        return "Municipal SOEs 市属国企" if self.subject == "ALL" else self.subject


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def period_position(period: Period) -> float:
    """Where a period ends, in years: 2022 -> 2022.0, 2022Q3 -> 2021.75, 2022-06 -> 2021.5.

    A target "by 2025" sits at 2025.0, the end of 2025, on the same axis (as in int_target_observations).
    """
    if period.frequency == "A":
        return float(period.year)
    parts = 4 if period.frequency == "Q" else 12
    return period.year - 1 + (period.number or parts) / parts


def _parse(label: object) -> Period | None:
    try:
        return parse_period(label)
    except PeriodError:
        return None


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Database:
    """Read access to the marts of one open database, tolerant of relations that are not there."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.columns: dict[str, set[str]] = {}
        for schema, table, column in con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() where database_name = current_database()"
        ).fetchall():
            self.columns.setdefault(f"{schema}.{table}", set()).add(column)

    def has(self, relation: str, *columns: str) -> bool:
        return relation in self.columns and set(columns) <= self.columns[relation]

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def target_series(self, relation: str | None, target_id: str) -> list[tuple[str, float]]:
        if relation is None:
            return []
        rows = self.rows(
            f"select period, value::double as value from {relation} where target_id = ? and value is not null "
            "order by period_end_year",
            [target_id],
        )
        return [(row["period"], row["value"]) for row in rows]

    def mart_series(self, source_model: str, measure: str, subject: str) -> list[tuple[str, float]]:
        """The figures of one measure of a mart for one subject ([] when the mart has no such measure).

        The mart's shape comes from its columns: keyed by ``group_name`` and ``period`` (SOE groups) or by
        ``region_code`` and ``year``; long (an ``indicator_code`` and a ``value`` column) or wide (a column
        per measure).
        """
        relation = f"marts.{source_model}"
        columns = self.columns.get(relation, set())
        key, period = ("group_name", "period") if "group_name" in columns else ("region_code", "year")
        long = {"indicator_code", "value"} <= columns
        if not {key, period, "value" if long else measure} <= columns:
            return []
        value = "value" if long else _identifier(measure)
        sql = (
            f"select {_identifier(period)}::varchar as period, {value}::double as value "
            f"from marts.{_identifier(source_model)} where {_identifier(key)} = ? and {value} is not null"
        )
        params = [subject]
        if long:
            sql += " and indicator_code = ?"
            params.append(measure)
        return [(row["period"], row["value"]) for row in self.rows(sql + " order by 1", params)]

    def provenance(self, region_code: str, period: str, indicator_codes: list[str]) -> list[Provenance]:
        if not indicator_codes or not self.has("marts.fct_indicator_values"):
            return []
        name = "coalesce(i.name_en, v.indicator_code)" if self.has("marts.dim_indicator") else "v.indicator_code"
        join = "left join marts.dim_indicator i using (indicator_code)" if self.has("marts.dim_indicator") else ""
        found = self.rows(
            f"""select v.indicator_code, {name} as name, v.release_date, v.status, v.source_file
                from marts.fct_indicator_values v {join}
                where v.region_code = ? and v.period = ? and list_contains(?::varchar[], v.indicator_code)""",
            [region_code, period, indicator_codes],
        )
        found.sort(key=lambda row: indicator_codes.index(row["indicator_code"]))
        return [Provenance(row["name"], row["release_date"], row["status"], row["source_file"]) for row in found]


@dataclass(frozen=True)
class _Reference:
    """The seeds and data files that describe targets, read once per report."""

    policy: dict[str, dict[str, str]]
    measures: dict[str, dict[str, str]]  # seed indicator -> source_model, measure
    scopes: dict[str, dict[str, str]]  # scope -> subject_kind, group_name
    labels: dict[str, dict[str, str]]
    units: dict[str, dict[str, str]]
    inputs: dict[tuple[str, str], list[str]]  # (source_model, measure) -> published indicator codes

    @classmethod
    def load(cls) -> _Reference:
        inputs: dict[tuple[str, str], list[str]] = {}
        for row in _read_csv(PROVENANCE_CSV):
            inputs.setdefault((row["source_model"], row["measure"]), []).append(row["indicator_code"])
        return cls(
            policy={r["target_id"]: r for r in _read_csv(settings.SEEDS_DIR / "policy_targets.csv")},
            measures={r["indicator"]: r for r in _read_csv(settings.SEEDS_DIR / "ref_target_indicators.csv")},
            scopes={r["scope"]: r for r in _read_csv(settings.SEEDS_DIR / "ref_target_scopes.csv")},
            labels={r["indicator"]: r for r in _read_csv(INDICATOR_LABELS_CSV)},
            units={r["unit"]: r for r in _read_csv(UNIT_LABELS_CSV)},
            inputs=inputs,
        )

    def provenance_codes(self, indicator: str) -> list[str]:
        measure = self.measures.get(indicator)
        if measure is None:
            return []
        if measure["source_model"] == LONG_SERIES_MART:
            return [measure["measure"]]
        return self.inputs.get((measure["source_model"], measure["measure"]), [])


def _target_view(row: dict[str, Any], ref: _Reference) -> TargetView:
    seed = ref.policy.get(row["target_id"], {})
    indicator = row["indicator_code"]
    labels = ref.labels.get(indicator, {})
    unit = ref.units.get(seed.get("unit", ""), {})
    scope = ref.scopes.get(row["scope"], {})
    subject_kind = scope.get("subject_kind") or "region"
    return TargetView(
        target_id=row["target_id"],
        indicator=indicator,
        name_zh=labels.get("name_zh", ""),
        name_en=labels.get("name_en") or indicator.replace("_", " ").capitalize(),
        plan=seed.get("plan", ""),
        quote=seed.get("quote", ""),
        kind=seed.get("kind", ""),
        scope=row["scope"],
        subject_kind=subject_kind,
        subject=row["region_code"] if subject_kind == "region" else scope.get("group_name", row["scope"]),
        comparator=row["comparator"],
        target_value=row["target_value"],
        target_year=row["target_year"],
        unit_suffix=unit.get("suffix", ""),
        unit_label=unit.get("label_en", seed.get("unit", "")),
        latest_value=row["latest_value"],
        latest_period=row["latest_period"],
        gap=row["gap"],
        required_annual_change=row["required_annual_change"],
        status=row["status"],
    )


def _points(rows: list[tuple[str, float]], frequency: str) -> tuple[list[tuple[float, float]], list[str]]:
    """Chart points of the rows whose period has the given frequency, with their tooltip labels."""
    points, labels = [], []
    for label, value in rows:
        period = _parse(label)
        if period is not None and period.frequency == frequency:
            points.append((period_position(period), value))
            labels.append(f"{period}: {format_number(value)}")
    return points, labels


def _attach_chart(view: TargetView, db: _Database, ref: _Reference, observations: str | None) -> None:
    """Draw the target's chart and find the vintage and source of its latest figure."""
    title = f"{view.target_id} {view.name_en}"
    latest_period = _parse(view.latest_period)
    if view.kind in COUNT_KINDS or latest_period is None:
        if view.latest_value is not None and view.target_value:
            view.chart = Markup(progress_bar(view.latest_value, view.target_value, view.status, title))
            view.chart_kind = "progress"
        return
    measure = ref.measures.get(view.indicator)
    tracked = db.target_series(observations, view.target_id)
    if not tracked and measure:  # a database without the target observations: the mart column itself
        tracked = db.mart_series(measure["source_model"], measure["measure"], view.subject)
    own, own_labels = _points(tracked, latest_period.frequency)
    series = [Series("actual", view.subject_label, own, own_labels)]
    if view.subject_kind == "region" and measure and view.subject != NATION:
        national = db.mart_series(measure["source_model"], measure["measure"], NATION)
        national_points, national_labels = _points(national, latest_period.frequency)
        series.append(Series("national", "China 全国", national_points, national_labels))
        view.has_national = bool(national_points)
    latest = (period_position(latest_period), view.latest_value) if view.latest_value is not None else None
    target = None
    if view.target_value is not None and view.target_year is not None:
        target = TargetMark(
            float(view.target_year), view.target_value, f"Target {view.target_text} by {view.target_year}", view.status
        )
    if own or latest is not None:
        view.chart = Markup(line_chart(series, target, latest, view.unit_suffix, title))
        view.chart_kind = "line"
        view.has_path = draws_path(latest, target)
    if view.subject_kind == "region":
        view.provenance = db.provenance(view.subject, str(latest_period), ref.provenance_codes(view.indicator))


@dataclass
class ReportData:
    """Everything the template needs."""

    targets: list[TargetView]
    source_name: str
    publication: dict[str, Any] | None
    generated_at: datetime

    @property
    def with_data(self) -> list[TargetView]:
        return [t for t in self.targets if t.status != "no_data"]

    @property
    def without_data(self) -> list[TargetView]:
        return [t for t in self.targets if t.status == "no_data"]

    @property
    def status_counts(self) -> list[tuple[str, int]]:
        counts = Counter(t.status for t in self.targets)
        return [(status, counts.get(status, 0)) for status in STATUSES]

    @property
    def plans(self) -> list[tuple[str, list[TargetView]]]:
        """Targets with data grouped by plan (in seed order), most urgent status first."""
        groups: dict[str, list[TargetView]] = {}
        for target in self.with_data:
            groups.setdefault(target.plan or "Other targets", []).append(target)
        rank = {status: i for i, status in enumerate(STATUSES)}
        return [(plan, sorted(ts, key=lambda t: (rank.get(t.status, 99), t.target_id))) for plan, ts in groups.items()]


def load_report_data(db_path: Path) -> ReportData:
    """Read the marts of ``db_path`` (the serving or the build database) into the report's view model."""
    con = connect(db_path, read_only=True)
    try:
        db = _Database(con)
        if not db.has("marts.target_tracking"):
            raise ReportError(f"{db_path} has no marts.target_tracking: build the marts before the report")
        ref = _Reference.load()
        observations = next((r for r in TARGET_OBSERVATIONS if db.has(r, "target_id", "period", "period_end_year", "value")), None)
        rows = db.rows(
            """select target_id, indicator_code, region_code, scope, comparator, target_value::double as target_value,
                      target_year, latest_value::double as latest_value, latest_period::varchar as latest_period,
                      gap::double as gap, required_annual_change::double as required_annual_change, status
               from marts.target_tracking order by target_id"""
        )
        targets = []
        for row in rows:
            view = _target_view(row, ref)
            if view.status != "no_data":
                _attach_chart(view, db, ref, observations)
            targets.append(view)
        publication = None
        if db.has("meta.publications"):
            found = db.rows("select run_id, published_at from meta.publications order by published_at desc limit 1")
            if found:
                publication = {**found[0], "published_at": found[0]["published_at"].astimezone(UTC)}
    finally:
        con.close()
    return ReportData(targets, Path(db_path).name, publication, datetime.now(UTC))


def render_report(data: ReportData) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["num"] = format_number
    return environment.get_template("indicators.html").render(report=data)


def build_indicator_report(db_path: Path, out_path: Path) -> dict[str, Any]:
    """Write the report for the marts in ``db_path`` to ``out_path`` (atomically); returns a summary."""
    data = load_report_data(Path(db_path))
    html = render_report(data)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f"{out_path.name}.tmp-{os.getpid()}")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out_path)
    return {
        "path": str(out_path),
        "targets": len(data.targets),
        "charts": sum(t.chart is not None for t in data.targets),
        "status_counts": dict(data.status_counts),
    }
