"""The indicator report: ``reports/indicators.html``, one self-contained page on where the targets stand.

Everything it shows comes from the published database alone (``serving.duckdb``; no file of the
repository is read), and no figure is computed here:

- each target's row of ``marts.target_tracking`` (latest value, its period and age, the period judged,
  gap, "exceeded by", required change, status) and its labels from ``marts.dim_target`` (names, plan,
  quote, unit labels, what it is tracked on, the input that would feed it);
- the series the target is tracked on, from ``marts.target_observations``, else from the mart column
  ``dim_target`` names (``tracked_in``, ``tracked_measure``);
- for a region target, the national figure from the same mart column, so Chongqing and China are
  compared on one definition, each named as ``marts.dim_region`` names it;
- the releases behind the latest figure (publisher, title, release date, link) from ``marts.target_sources``.

Charts are inline SVG with axis titles; each chart's figures can be downloaded from the page as CSV (a
``data:`` link, so nothing is fetched). Styles are inline and there is no script, so the page reads the
same offline, in a mail attachment or printed.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from core.files import replace_text
from core.periods import Period, PeriodError, parse_period
from core.warehouse import connect
from serving.charts import Series, TargetMark, draws_path, format_number, line_chart, progress_bar

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"

#: The series behind each target (a published mart, like everything the report reads).
TARGET_OBSERVATIONS = "marts.target_observations"
#: Order of the status tiles and the sort order of cards within a plan (most urgent first).
STATUSES = ("off_track", "at_risk", "awaiting_data", "on_track", "met", "no_data", "confidential")
#: What the report needs of the published database.
REQUIRED_RELATIONS = ("marts.target_tracking", "marts.dim_target")
#: Target kinds that count things achieved over the plan: drawn as progress towards the count.
COUNT_KINDS = frozenset({"new_count", "cumulative_count"})
NATION = "CN"
#: The roll-up of all municipal SOEs in marts.soe_innovation, and how the page names it.
ALL_SOES, ALL_SOES_LABEL = "ALL", "Municipal SOEs 市属国企"
#: The long mart of annual series, one row per (region, indicator, year); its measures are indicator codes.
LONG_SERIES_MART = "indicator_series"
#: The x axis of every line chart: periods are placed where they end.
X_AXIS_TITLE = "Year (periods placed at their end) 年份"


class ReportError(RuntimeError):
    """The report cannot be built from this database."""


@dataclass(frozen=True)
class Provenance:
    """One published figure behind a target's latest value, and the release it comes from."""

    indicator: str
    publisher: str | None
    title: str | None
    release_date: date | None
    status: str | None
    url: str | None


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
    unit_label_zh: str
    latest_value: float | None
    latest_period: str | None
    gap: float | None
    required_annual_change: float | None
    status: str
    judged_period: str | None = None
    latest_age_years: float | None = None
    is_stale: bool | None = None
    exceeded_by: float | None = None
    input: str = ""
    tracked_in: str | None = None
    tracked_measure: str | None = None
    chart: Markup | None = None
    chart_kind: str | None = None  # line | progress
    chart_csv: str | None = None  # the chart's figures as a data: URL (text/csv)
    has_national: bool = False
    has_path: bool = False
    provenance: list[Provenance] = field(default_factory=list)
    subject_label: str = ""  # the region's names (marts.dim_region) or the SOE group
    national_label: str = NATION  # the nation's names (marts.dim_region)

    @property
    def unit_title(self) -> str:
        """The unit as an axis title: "% of GDP 占GDP比重%"."""
        return " ".join(label for label in (self.unit_label, self.unit_label_zh) if label)

    @property
    def target_text(self) -> str:
        comparator = {">=": "≥", "<=": "≤", "~": "≈"}.get(self.comparator, self.comparator)
        return f"{comparator} {format_number(self.target_value)}{self.unit_suffix}"


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

    def region_labels(self) -> dict[str, str]:
        """Region code -> its English and Chinese names ("Chongqing 重庆市"), from marts.dim_region."""
        if not self.has("marts.dim_region", "region_code", "name_en", "name_zh"):
            return {}
        return {
            row["region_code"]: " ".join(name for name in (row["name_en"], row["name_zh"]) if name) or row["region_code"]
            for row in self.rows("select region_code, name_en, name_zh from marts.dim_region")
        }

    def provenance(self, target_id: str) -> list[Provenance]:
        if not self.has("marts.target_sources"):
            return []
        found = self.rows(
            """select coalesce(indicator_name_en, indicator_code) as name, publisher, title, release_date, status, url
               from marts.target_sources where target_id = ? order by position, indicator_code""",
            [target_id],
        )
        return [
            Provenance(row["name"], row["publisher"], row["title"], row["release_date"], row["status"], row["url"])
            for row in found
        ]


def _target_view(row: dict[str, Any], region_labels: dict[str, str]) -> TargetView:
    """One row of marts.target_tracking joined with its marts.dim_target labels, and the names of its
    region (``region_labels``, :meth:`_Database.region_labels`)."""
    indicator = row["indicator_code"]
    subject_kind = row["subject_kind"] or "region"
    subject = row["subject"] or row["region_code"]
    if subject_kind == "region":
        subject_label = region_labels.get(subject, subject)
    else:
        subject_label = ALL_SOES_LABEL if subject == ALL_SOES else subject
    return TargetView(
        target_id=row["target_id"],
        indicator=indicator,
        name_zh=row["name_zh"] or "",
        name_en=row["name_en"] or indicator.replace("_", " ").capitalize(),
        plan=row["plan"] or "",
        quote=row["quote"] or "",
        kind=row["kind"] or "",
        scope=row["scope"],
        subject_kind=subject_kind,
        subject=subject,
        comparator=row["comparator"],
        target_value=row["target_value"],
        target_year=row["target_year"],
        unit_suffix=row["unit_suffix"] or "",
        unit_label=row["unit_label_en"] or row["unit"] or "",
        unit_label_zh=row["unit_label_zh"] or "",
        latest_value=row["latest_value"],
        latest_period=row["latest_period"],
        gap=row["gap"],
        required_annual_change=row["required_annual_change"],
        status=row["status"],
        judged_period=row["judged_period"],
        latest_age_years=row["latest_age_years"],
        is_stale=row["is_stale"],
        exceeded_by=row["exceeded_by"],
        input=row["input"] or "",
        tracked_in=row["tracked_in"],
        tracked_measure=row["tracked_measure"],
        subject_label=subject_label,
        national_label=region_labels.get(NATION, NATION),
    )


def chart_csv(rows: list[tuple[str, str, float | None, str]]) -> str:
    """A chart's figures (series, period, value, unit) as a ``data:`` URL of a UTF-8 CSV with a BOM (so
    spreadsheet programs read the Chinese labels); the page embeds it as a download link."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["series", "period", "value", "unit"])
    for series, period, value, unit in rows:
        writer.writerow([series, period, "" if value is None else repr(float(value)), unit])
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + buffer.getvalue(), safe="")


def _points(rows: list[tuple[str, float]], frequency: str) -> tuple[list[tuple[float, float]], list[str]]:
    """Chart points of the rows whose period has the given frequency, with their tooltip labels."""
    points, labels = [], []
    for label, value in rows:
        period = _parse(label)
        if period is not None and period.frequency == frequency:
            points.append((period.end_year, value))
            labels.append(f"{period}: {format_number(value)}")
    return points, labels


def _attach_chart(view: TargetView, db: _Database, observations: str | None) -> None:
    """Draw the target's chart, with its figures as CSV, and find the releases of its latest figure."""
    title = f"{view.target_id} {view.name_en}"
    latest_period = _parse(view.latest_period)
    unit = view.unit_title
    target_row = (f"target ({view.comparator})", str(view.target_year), view.target_value, unit)
    if view.kind in COUNT_KINDS or latest_period is None:
        if view.latest_value is not None and view.target_value:
            counted = f"{view.unit_label or 'count'} since the plan's start" if view.kind in COUNT_KINDS else unit
            view.chart = Markup(progress_bar(view.latest_value, view.target_value, view.status, title, counted))
            view.chart_kind = "progress"
            tracked = db.target_series(observations, view.target_id)
            rows = [(view.subject_label, period, value, unit) for period, value in tracked]
            if not rows:
                rows = [(view.subject_label, view.latest_period or "", view.latest_value, unit)]
            view.chart_csv = chart_csv([*rows, target_row])
        return
    tracked = db.target_series(observations, view.target_id)
    if not tracked and view.tracked_in and view.tracked_measure:  # without the target observations: the mart column
        tracked = db.mart_series(view.tracked_in, view.tracked_measure, view.subject)
    own, own_labels = _points(tracked, latest_period.frequency)
    series = [Series("actual", view.subject_label, own, own_labels)]
    csv_rows = [(view.subject_label, p, v, unit) for p, v in tracked if _same_frequency(p, latest_period)]
    if view.subject_kind == "region" and view.tracked_in and view.tracked_measure and view.subject != NATION:
        national = db.mart_series(view.tracked_in, view.tracked_measure, NATION)
        national_points, national_labels = _points(national, latest_period.frequency)
        series.append(Series("national", view.national_label, national_points, national_labels))
        view.has_national = bool(national_points)
        csv_rows += [(view.national_label, p, v, unit) for p, v in national if _same_frequency(p, latest_period)]
    latest = (latest_period.end_year, view.latest_value) if view.latest_value is not None else None
    target = None
    if view.target_value is not None and view.target_year is not None:
        target = TargetMark(
            float(view.target_year), view.target_value, f"Target {view.target_text} by {view.target_year}", view.status
        )
    if own or latest is not None:
        view.chart = Markup(line_chart(series, target, latest, view.unit_suffix, title, unit, X_AXIS_TITLE))
        view.chart_kind = "line"
        view.has_path = draws_path(latest, target)
        view.chart_csv = chart_csv([*csv_rows, target_row])
    if view.subject_kind == "region":
        view.provenance = db.provenance(view.target_id)


def _same_frequency(label: str, period: Period) -> bool:
    parsed = _parse(label)
    return parsed is not None and parsed.frequency == period.frequency


@dataclass
class ReportData:
    """Everything the template needs."""

    targets: list[TargetView]
    source_name: str
    publication: dict[str, Any] | None
    generated_at: datetime
    reporting_date: date | None = None

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
        for relation in REQUIRED_RELATIONS:
            if not db.has(relation):
                raise ReportError(f"{db_path} has no {relation}: build the marts before the report")
        observations = TARGET_OBSERVATIONS if db.has(TARGET_OBSERVATIONS, "target_id", "period", "period_end_year", "value") else None
        rows = db.rows(
            """select t.target_id, t.indicator_code, t.region_code, t.scope, t.comparator,
                      t.target_value::double as target_value, t.target_year, t.latest_value::double as latest_value,
                      t.latest_period::varchar as latest_period, t.gap::double as gap,
                      t.required_annual_change::double as required_annual_change, t.status, t.judged_period,
                      t.latest_age_years::double as latest_age_years, t.is_stale, t.exceeded_by::double as exceeded_by,
                      coalesce(d.name_zh, t.name_zh) as name_zh, coalesce(d.name_en, t.name_en) as name_en,
                      d.plan, d.quote, d.kind, d.subject_kind, d.subject, t.unit, d.unit_suffix,
                      coalesce(d.unit_label_en, t.unit_label_en) as unit_label_en,
                      coalesce(d.unit_label_zh, t.unit_label_zh) as unit_label_zh,
                      d.input, d.tracked_in, d.tracked_measure
               from marts.target_tracking t left join marts.dim_target d using (target_id)
               order by t.target_id"""
        )
        region_labels = db.region_labels()
        targets = []
        for row in rows:
            view = _target_view(row, region_labels)
            if view.status not in ("no_data", "confidential"):  # nothing to draw, or nothing that may be shown
                _attach_chart(view, db, observations)
            targets.append(view)
        publication = None
        if db.has("meta.publications"):
            found = db.rows("select run_id, published_at from meta.publications order by published_at desc limit 1")
            if found:
                publication = {**found[0], "published_at": found[0]["published_at"].astimezone(UTC)}
        reporting_date = db.rows("select max(reporting_date) as d from marts.target_tracking")[0]["d"] if db.has(
            "marts.target_tracking", "reporting_date") else None
    finally:
        con.close()
    return ReportData(targets, Path(db_path).name, publication, datetime.now(UTC), reporting_date)


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
    replace_text(out_path, html)
    return {
        "path": str(out_path),
        "targets": len(data.targets),
        "charts": sum(t.chart is not None for t in data.targets),
        "status_counts": dict(data.status_counts),
    }
