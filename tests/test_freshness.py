"""Data freshness (expectations/freshness.py): the latest period of each input against the publication
calendar on the reporting date, what the run summary and the quality report say about it, and the
Dagster checks that show it (data freshness on the raw assets; Dagster's own materialization freshness on
the raw assets and the marts)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from core.periods import Period
from expectations.freshness import SUITE_PREFIX, Deadline, as_suite_results, assess, publication_calendar
from expectations.overview import write_run_overview
from expectations.results import QUALITY_RESULTS_DDL, record_results
from expectations.run_summary import read_run_summary
from ingestion.audit import AUDIT_DDL
from ingestion.enterprise.tables import ENTERPRISE_DDL
from ingestion.registers.tables import REGISTERS_DDL
from ingestion.releases.tables import RELEASES_DDL
from tests.test_quality_report_overview import GX_INDEX, parse

REPORTING_DATE = date(2026, 12, 1)
QUARTERLY = Deadline("enterprise_submissions", "quarterly", 30, "the SOE submissions of a quarter", "test")

_DEFAULTS = {"VARCHAR": "''", "BIGINT": "0", "INTEGER": "0", "DOUBLE": "0", "BOOLEAN": "false",
             "DATE": "date '2000-01-01'", "TIMESTAMP": "localtimestamp"}


def _insert(con: duckdb.DuckDBPyConnection, table: str, **values: str) -> None:
    """A row of a loader's table: the given SQL values, a neutral value for every other not-null column."""
    schema, name = table.split(".")
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? and not is_nullable",
        [schema, name],
    ).fetchall()
    row = {column: _DEFAULTS[kind] for column, kind in columns} | values
    con.execute(f"insert into {table} ({', '.join(row)}) values ({', '.join(row.values())})")


def _load(con: duckdb.DuckDBPyConnection, load_id: str, kind: str, status: str = "loaded") -> None:
    _insert(con, "audit.load_log", load_id=f"'{load_id}'", kind=f"'{kind}'", source_file=f"'{kind}/{load_id}'",
            status=f"'{status}'", loaded_at="localtimestamp")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for ddl in (AUDIT_DDL, RELEASES_DDL, ENTERPRISE_DDL, REGISTERS_DDL):
        con.execute(ddl)
    return con


def _submissions(con: duckdb.DuckDBPyConnection, load_id: str, *periods: str) -> None:
    _load(con, load_id, "enterprise")
    for period in periods:
        _insert(con, "raw.enterprise_submissions", load_id=f"'{load_id}'", period=f"'{period}'")


def test_the_shipped_calendar_declares_every_input_once():
    assert [(d.source, d.frequency, d.due_days) for d in publication_calendar()] == [
        ("releases", "annual", 90),
        ("enterprise_submissions", "quarterly", 30),
        ("enterprise_submissions", "annual", 120),
        ("registers", "annual", 31),
    ]


def test_a_calendar_row_with_an_unknown_input_names_its_line(tmp_path: Path):
    calendar = tmp_path / "calendar.csv"
    calendar.write_text("source,frequency,due_days_after_period_end,what,basis\n"
                        "releases,annual,90,x,y\nsubmissions,quarterly,30,x,y\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"calendar.csv:3: source 'submissions' is not one of"):
        publication_calendar(calendar)


def test_quarterly_submissions_overdue_name_the_first_missing_quarter_and_since_when(con):
    _submissions(con, "E1", "2024Q3", "2024Q4", "2024")

    [item] = assess(con, REPORTING_DATE, (QUARTERLY,))

    assert not item.on_time
    assert (str(item.latest), str(item.due), str(item.overdue_period)) == ("2024Q4", "2026Q3", "2025Q1")
    assert item.overdue_since == date(2025, 4, 30)
    assert item.periods_overdue == 7
    assert item.message == (
        "2025Q1 overdue since 2025-04-30 (580 days, reporting date 2026-12-01): the SOE submissions of a quarter "
        "due 30 days after its end; loaded up to 2024Q4, 7 quarters missing up to 2026Q3"
    )


@pytest.mark.parametrize(("reporting_date", "on_time"), [
    (date(2025, 4, 29), True),  # 2025Q1 not due yet: 2024Q4 is the latest due
    (date(2025, 4, 30), False),  # due that day
])
def test_a_period_is_due_on_its_due_date(con, reporting_date: date, on_time: bool):
    _submissions(con, "E1", "2024Q4")

    [item] = assess(con, reporting_date, (QUARTERLY,))

    assert item.on_time is on_time
    assert item.overdue_period == (None if on_time else Period(2025, "Q", 1))


def test_submissions_of_a_withdrawn_file_do_not_count(con):
    _submissions(con, "E1", "2024Q4")
    _submissions(con, "E2", "2025Q1")
    _load(con, "E2", "enterprise", status="withdrawn")

    [item] = assess(con, date(2025, 5, 15), (QUARTERLY,))

    assert str(item.latest) == "2024Q4"
    assert item.message.startswith("2025Q1 overdue since 2025-04-30 (15 days, reporting date 2025-05-15)")


def test_release_periods_are_parsed_and_cells_without_a_figure_do_not_count(con):
    _load(con, "R1", "releases")
    for period, value in [("2023年", "'1.0'"), ("2024-A1", "'2.0'"), ("2025年", "null"), ("注：", "'x'")]:
        _insert(con, "raw.release_observations", load_id="'R1'", period_raw=f"'{period}'", value_raw=value)
    releases = next(d for d in publication_calendar() if d.source == "releases")

    [item] = assess(con, REPORTING_DATE, (releases,))

    assert item.observed() | {"message": ""} == {
        "message": "", "latest_period": "2024", "due_period": "2025", "due_on": "2026-03-31",
        "overdue_period": "2025", "overdue_since": "2026-03-31", "periods_overdue": 1,
        "reporting_date": "2026-12-01", "rule": "the statistical releases of a year due 90 days after its end",
    }


def test_a_register_counts_for_the_years_of_its_recognitions_and_revocations(con):
    _load(con, "G1", "registers")
    _insert(con, "raw.register_records", load_id="'G1'", recognized_on="date '2024-05-01'",
            revoked_on="date '2026-01-10'")
    registers = next(d for d in publication_calendar() if d.source == "registers")

    [item] = assess(con, REPORTING_DATE, (registers,))

    assert item.on_time
    assert item.message == "on time: loaded up to 2026; the latest year due by 2026-12-01 is 2025 (due 2026-01-31)"


def test_nothing_loaded_is_overdue_from_the_latest_period_due(con):
    con.execute("drop table raw.register_records")  # never loaded: the loader never created its table
    registers = next(d for d in publication_calendar() if d.source == "registers")

    [item] = assess(con, REPORTING_DATE, (registers,))

    assert (item.on_time, item.periods_overdue, str(item.overdue_period)) == (False, None, "2025")
    assert item.message == ("nothing loaded: the recognitions registers of a year due 31 days after its end; "
                            "2025 was due on 2026-01-31 (reporting date 2026-12-01)")


# ---------------------------------------------------------------- what the user reads


def _warehouse_with_freshness(path: Path) -> Path:
    """A build database with one release load and the freshness results of a run on REPORTING_DATE:
    quarterly submissions overdue, annual submissions on time."""
    con = duckdb.connect(str(path))
    try:
        for ddl in (AUDIT_DDL, QUALITY_RESULTS_DDL, ENTERPRISE_DDL):
            con.execute(ddl)
        _submissions(con, "E1", "2024Q4", "2025")
        enterprise = tuple(d for d in publication_calendar() if d.source == "enterprise_submissions")
        results = as_suite_results(assess(con, REPORTING_DATE, enterprise), datetime(2026, 12, 1, 6, 0))
        record_results(con, "run-9", results)
    finally:
        con.close()
    return path


def test_the_run_summary_lists_overdue_data_with_what_to_do(tmp_path: Path):
    db = _warehouse_with_freshness(tmp_path / "warehouse.duckdb")

    lines = read_run_summary(db, "run-9", None).lines()

    assert lines[-3:] == [
        "1 input with data overdue (a warning: publishing goes on):",
        "  raw/enterprise_submissions (quarterly): 2025Q1 overdue since 2025-04-30 (580 days, reporting date "
        "2026-12-01): the SOE submissions of a quarter due 30 days after its end; loaded up to 2024Q4, 7 quarters "
        "missing up to 2026Q3",
        "    what to do: put the files of 2025Q1 into LANDING_DIR/enterprise/ and run `make run` (or, if the deadline "
        "is wrong, correct it in expectations/publication_calendar.csv); publishing goes on meanwhile",
    ]


def test_the_quality_report_has_a_freshness_table(tmp_path: Path):
    db = _warehouse_with_freshness(tmp_path / "warehouse.duckdb")
    site = tmp_path / "quality"
    site.mkdir()
    (site / "index.html").write_text(GX_INDEX, encoding="utf-8")

    write_run_overview(db, "run-9", None, site)

    page = parse(site / "index.html")
    assert page.headings["freshness-title"] == "Freshness: the latest period of each input on the reporting date 2026-12-01"
    header, *rows = page.tables["freshness"]
    assert header == ["input", "frequency", "status", "latest loaded", "latest due", "due on", "overdue since",
                      "detail", "what to do"]
    assert [row[:7] for row in rows] == [
        ["raw/enterprise_submissions", "annual", "on time", "2025", "2025", "2026-04-30", ""],
        ["raw/enterprise_submissions", "quarterly", "overdue", "2024Q4", "2026Q3", "2026-10-30", "2025-04-30"],
    ]
    assert rows[1][7].startswith("2025Q1 overdue since 2025-04-30 (580 days")
    text = (site / "index.html").read_text(encoding="utf-8")
    assert "1 input with data overdue (raw/enterprise_submissions quarterly)" in text


def test_freshness_results_are_warnings_that_never_block(tmp_path: Path):
    db = _warehouse_with_freshness(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select suite, expectation, severity, blocking, passed, unexpected_count "
                           "from audit.quality_results order by expectation").fetchall()
    finally:
        con.close()
    assert rows == [
        (SUITE_PREFIX + "enterprise_submissions", "data_freshness_annual", "warn", False, True, None),
        (SUITE_PREFIX + "enterprise_submissions", "data_freshness_quarterly", "warn", False, False, 7),
    ]


# ---------------------------------------------------------------- the Dagster checks


def test_data_freshness_check_reports_the_overdue_quarter_as_a_warning(tmp_path: Path, monkeypatch):
    from orchestration import freshness
    from orchestration.resources import WarehouseResource

    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    for ddl in (AUDIT_DDL, ENTERPRISE_DDL):
        con.execute(ddl)
    _submissions(con, "E1", "2024Q4", "2025")
    con.close()
    monkeypatch.setattr(freshness, "reporting_date", lambda _: REPORTING_DATE.isoformat())
    checks = freshness.DATA_FRESHNESS_CHECKS
    defs = dg.Definitions(
        assets=[dg.AssetSpec(["raw", name]) for name in ("releases", "enterprise_submissions", "registers")],
        asset_checks=checks,
        jobs=[dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*checks))],
        resources={"warehouse": WarehouseResource(database=str(db))},
    )

    result = defs.resolve_job_def("freshness").execute_in_process(instance=dg.DagsterInstance.ephemeral())

    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    quarterly = evaluations[("raw/enterprise_submissions", "data_freshness_quarterly")]
    assert (quarterly.passed, quarterly.severity) == (False, dg.AssetCheckSeverity.WARN)
    metadata: dict[str, Any] = {k: v.value for k, v in quarterly.metadata.items()}
    assert (metadata["overdue_period"], metadata["overdue_since"], metadata["periods_overdue"]) == ("2025Q1", "2025-04-30", 7)
    assert quarterly.description.startswith("2025Q1 overdue since 2025-04-30")
    assert evaluations[("raw/enterprise_submissions", "data_freshness_annual")].passed
    assert not evaluations[("raw/registers", "data_freshness_annual")].passed  # nothing loaded
    recorded = duckdb.connect(str(db), read_only=True).execute(
        "select count(*) from audit.quality_results where starts_with(suite, 'freshness.')").fetchone()[0]
    assert recorded == 4


def test_materialization_windows_come_from_dbt_source_freshness_and_mart_meta():
    from orchestration.freshness import materialization_windows

    manifest = {
        "sources": {
            "a": {"freshness": {"warn_after": {"count": 120, "period": "day"}},
                  "meta": {"dagster": {"asset_key": ["raw", "enterprise_submissions"]}}},
            "b": {"freshness": {"warn_after": {"count": None, "period": None}},
                  "meta": {"dagster": {"asset_key": ["raw", "enterprise_submissions"]}}},
            "c": {"freshness": {"warn_after": {"count": 12, "period": "hour"}}, "meta": {}},
        },
        "nodes": {
            "m": {"resource_type": "model", "schema": "marts", "name": "rd_intensity",
                  "meta": {"dagster": {"freshness_check": {"lower_bound_delta_seconds": 604800}}}},
            "s": {"resource_type": "model", "schema": "staging", "name": "stg_x", "meta": {}},
        },
    }

    windows = {k.to_user_string(): v.days for k, v in materialization_windows(manifest).items()}

    assert windows == {"raw/enterprise_submissions": 120, "marts/rd_intensity": 7}


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    from orchestration.definitions import build_definitions

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_DIR", str(tmp_path_factory.mktemp("defs")))
        yield build_definitions()


def test_the_code_location_has_both_kinds_of_freshness_check_and_their_sensor(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()
    specs = {k.to_user_string(): graph.get_check_spec(k) for k in graph.asset_check_keys if "freshness" in k.name}
    data = {k for k in specs if ":data_freshness_" in k}
    built = {k for k in specs if k.endswith(":freshness_check")}

    assert data == {"raw/releases:data_freshness_annual", "raw/enterprise_submissions:data_freshness_quarterly",
                    "raw/enterprise_submissions:data_freshness_annual", "raw/registers:data_freshness_annual"}
    assert {"raw/releases:freshness_check", "raw/enterprise_submissions:freshness_check",
            "raw/registers:freshness_check", "marts/target_tracking:freshness_check",
            "marts/soe_innovation:freshness_check"} <= built
    mart_keys = {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert {k.removesuffix(":freshness_check") for k in built if k.startswith("marts/")} == mart_keys
    assert not any(spec.blocking for spec in specs.values())
    params = {k: json.loads(json.dumps(specs[k].metadata["dagster/freshness_params"].value)) for k in built}
    assert params["raw/enterprise_submissions:freshness_check"]["lower_bound_delta_seconds"] == 120 * 86400
    assert params["marts/target_tracking:freshness_check"]["lower_bound_delta_seconds"] == 7 * 86400

    sensor = defs.resolve_sensor_def("freshness_checks_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    quality_job = defs.resolve_job_def("quality_job")
    assert {k.to_user_string() for k in quality_job.asset_layer.asset_graph.asset_check_keys} >= data


def test_the_sensors_freshness_runs_need_no_warehouse(defs: dg.Definitions):
    """Dagster's freshness checks read the run history only: a run the sensor starts neither waits for
    the writer lock nor forgets the last successful `make run`."""
    for checks_def in defs.asset_checks or []:
        if any(spec.name == "freshness_check" for spec in checks_def.check_specs):
            assert "warehouse" not in checks_def.required_resource_keys
