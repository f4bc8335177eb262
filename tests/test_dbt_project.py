"""The dbt project on the shipped release figures: `dbt build` (models, contracts, data and unit tests),
exact mart values, one tracking row per policy target, and the MetricFlow metrics from the command line.

The tables dbt reads are filled from `tests/fixtures/dbt_warehouse/`: the shipped sample releases exactly
as the release loader and the mapping step store them (`raw.release_files`, `mapped.release_observations`,
with fixed load ids and load times), made by tools/dbt_fixtures.py (`make fixtures`), so this runs without
the loaders; the enterprise tables stay empty.
The project is copied to a temporary folder so its `target/` never touches the repository's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from core import settings
from ingestion.audit import AUDIT_DDL
from ingestion.enterprise.tables import ENTERPRISE_DDL, MAPPED_ENTERPRISE_DDL
from ingestion.registers.tables import MAPPED_REGISTERS_DDL, REGISTERS_DDL
from ingestion.releases.tables import MAPPED_RELEASES_DDL, RELEASES_DDL
from orchestration.dbt_project import dbt_project
from tests.serving_fixtures import policy_targets

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "dbt_warehouse"
#: Targets are judged as of this day (dbt var reporting_date): the fixture's releases end with 2021 figures.
REPORTING_DATE = "2022-06-30"
BIN = Path(sys.executable).parent


def run_in_project(project_dir: Path, warehouse_dir: Path, *args: str, target: str = "local") -> subprocess.CompletedProcess[str]:
    """A command of the venv (dbt, mf) in the project copy, against the given warehouse and profile target."""
    env = {**os.environ, "WAREHOUSE_DIR": str(warehouse_dir), "DBT_TARGET": target, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=project_dir, env=env, capture_output=True, text=True, timeout=300)


@dataclass
class BuiltProject:
    project_dir: Path
    warehouse_dir: Path
    build: subprocess.CompletedProcess[str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_in_project(self.project_dir, self.warehouse_dir, *args)

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse_dir / "warehouse.duckdb"), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def _fill_raw_tables(db_path: Path) -> None:
    con = duckdb.connect(str(db_path))
    try:
        for ddl in (RELEASES_DDL, MAPPED_RELEASES_DDL, AUDIT_DDL, ENTERPRISE_DDL, MAPPED_ENTERPRISE_DDL, REGISTERS_DDL, MAPPED_REGISTERS_DDL):
            con.execute(ddl)
        for table in ("raw.release_files", "mapped.release_observations"):
            csv_path = FIXTURES / f"{table.split('.')[1]}.csv"
            con.execute(f"insert into {table} by name select * from read_csv('{csv_path}', header = true, all_varchar = true)")
        # every file is a current load (audit.current_loads), as the release loader would have recorded it
        con.execute(
            """insert into audit.load_log by name
               select load_id, source_file, sha256, sidecar_sha256, format, release_date, loaded_at, 'releases' as kind,
                      0 as rows_loaded, 0 as rows_quarantined, 'loaded' as status
               from raw.release_files"""
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    root = tmp_path_factory.mktemp("dbt_project")
    project_dir, warehouse_dir = root / "dbt_project", root / "warehouse"
    shutil.copytree(settings.DBT_PROJECT_DIR, project_dir, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    warehouse_dir.mkdir()
    _fill_raw_tables(warehouse_dir / "warehouse.duckdb")
    build = run_in_project(project_dir, warehouse_dir, "dbt", "build", "--profiles-dir", ".", "--vars", f"{{reporting_date: {REPORTING_DATE}}}")
    return BuiltProject(project_dir, warehouse_dir, build)


def _run_results(built: BuiltProject) -> list[dict]:
    return json.loads((built.project_dir / "target" / "run_results.json").read_text())["results"]


def test_dbt_build_passes_every_model_contract_and_test(built: BuiltProject):
    failed = [(r["unique_id"], r["status"], r["message"]) for r in _run_results(built) if r["status"] not in ("success", "pass")]
    assert failed == [], built.build.stdout[-3000:]
    assert built.build.returncode == 0


def test_unit_tests_ran_for_ratio_per_10k_growth_latest_vintage_and_target_status(built: BuiltProject):
    passed = {r["unique_id"].split(".")[-1] for r in _run_results(built) if r["unique_id"].startswith("unit_test.") and r["status"] == "pass"}
    assert passed >= {
        "rd_intensity_asof_picks_the_vintage_known_on_the_publication_day",
        "rd_intensity_reconciles_at_published_precision_in_decimal",
        "patents_per_10k_computed_from_stocks_and_population_in_10k_persons",
        "industrial_va_growth_is_the_latest_published_annual_figure",
        "latest_vintage_is_the_later_release_then_the_better_status_then_the_later_load",
        "int_target_observations_levels_and_accumulated_counts",
        "int_target_observations_recognitions_counts_new_and_cumulative_per_scope",
        "recognitions_in_force_applies_revocations_from_their_day_per_scope",
        "target_tracking_status_rules_before_the_target_year",
        "target_tracking_judges_a_past_target_year_on_its_own_figure_only",
    }


def test_published_rd_intensity_reconciles_for_china_2019_to_2021_and_chongqing_2020(built: BuiltProject):
    rows = built.query(
        """select region_code, year, published_rd_intensity_pct, published_release_date::varchar, reconciles
           from marts.rd_intensity where reconciles is not null order by region_code, year"""
    )
    assert [(r[0], r[1], Decimal(str(r[2])), r[3], r[4]) for r in rows] == [
        ("CN", 2019, Decimal("2.23"), "2021-09-22", True),
        ("CN", 2020, Decimal("2.4"), "2021-09-22", True),
        ("CN", 2021, Decimal("2.44"), "2022-08-31", True),
        ("CN-CQ", 2020, Decimal("2.11"), "2021-09-22", True),
    ]
    (cq,) = built.query("select rd_expenditure, gdp, rd_intensity_pct from marts.rd_intensity where region_code = 'CN-CQ' and year = 2020")
    assert cq == (526.8, 25002.79, 100 * 526.8 / 25002.79)


def test_china_2021_as_of_ratio_uses_the_final_rd_figure_released_with_the_ratio(built: BuiltProject):
    (row,) = built.query(
        "select rd_expenditure, gdp, asof_rd_intensity_pct from marts.rd_intensity where region_code = 'CN' and year = 2021"
    )
    assert row == (27956.3, 1143670.0, 100 * 27956.3 / 1143670.0)
    vintages = built.query(
        """select value, release_date::varchar, status from marts.fct_indicator_vintages
           where region_code = 'CN' and indicator_code = 'rd_expenditure' and period = '2021' order by release_date"""
    )
    assert vintages == [(27864.0, "2022-02-28", "preliminary"), (27956.3, "2022-08-31", "final")]


def test_ratio_without_both_inputs_is_not_reconciled(built: BuiltProject):
    rows = built.query(
        """select region_code, year, rd_expenditure, gdp, published_rd_intensity_pct, reconciles from marts.rd_intensity
           where region_code in ('CN-CQ', 'CN-BJ') and reconciles is null order by region_code, year"""
    )
    assert rows == [
        ("CN-BJ", 2020, 2326.6, None, 6.44, None),
        ("CN-CQ", 2018, None, 20363.19, 2.01, None),
        ("CN-CQ", 2021, 603.8, 27894.02, None, None),
    ]


def test_growth_and_chartable_series_carry_their_vintage(built: BuiltProject):
    assert built.query("select region_code, year, industrial_va_growth_pct, status from marts.industrial_va_growth order by year") == [
        ("CN-CQ", 2019, 6.2, "final"),
        ("CN-CQ", 2020, 5.8, "final"),
    ]
    rows = built.query(
        """select indicator_code, year, value, unit, release_date::varchar from marts.indicator_series
           where region_code = 'CN-CQ' and indicator_code in ('sei_share_of_industrial_va', 'tech_based_enterprises')
           order by indicator_code, year"""
    )
    assert rows == [
        ("sei_share_of_industrial_va", 2021, 28.9, "%", "2022-10-09"),
        ("tech_based_enterprises", 2018, 11000.0, "count, year end", "2022-10-09"),
        ("tech_based_enterprises", 2019, 16918.0, "count, year end", "2022-10-09"),
    ]
    assert built.query("select count(*) from marts.patents_per_10k") == [(0,)]  # no patent figures in the samples


def test_dim_region_has_the_nation_and_31_provinces(built: BuiltProject):
    assert built.query("select level, count(*) from marts.dim_region group by level order by level") == [("country", 1), ("province", 31)]
    assert built.query("select gb2260_code, name_en from marts.dim_region where region_code = 'CN'") == [("000000", "China")]


def test_every_policy_target_has_exactly_one_tracking_row_with_the_contract_columns(built: BuiltProject):
    columns = built.query(
        """select column_name from information_schema.columns
           where table_schema = 'marts' and table_name = 'target_tracking' order by ordinal_position"""
    )
    assert [c[0] for c in columns] == [
        "target_id", "indicator_code", "region_code", "scope", "comparator", "target_value", "target_year",
        "latest_value", "latest_period", "gap", "required_annual_change", "status", "judged_period",
        "latest_age_years", "is_stale", "exceeded_by", "reporting_date", "name_zh", "name_en", "unit",
        "unit_label_en", "unit_label_zh",
    ]
    ids = [r[0] for r in built.query("select target_id from marts.target_tracking order by target_id")]
    assert ids == sorted(t["target_id"] for t in policy_targets())


def test_region_targets_are_tracked_from_the_indicator_marts(built: BuiltProject):
    rows = built.query(
        """select target_id, latest_period, latest_value, gap, required_annual_change, status, judged_period,
                  latest_age_years, is_stale
           from marts.target_tracking where scope = 'region' and status <> 'no_data' order by target_id"""
    )
    cq_2021 = 100 * 603.8 / 27894.02
    assert rows == [
        # ~6 % by 2022, as of mid-2022: within 10 % of the target on the 2020 figure, but only 2022's can meet it
        ("T17", "2020", 5.8, 6.0 - 5.8, None, "on_track", "2020", 1.49, False),
        ("T22", "2021", cq_2021, 2.6 - cq_2021, (2.6 - cq_2021) / 4, "at_risk", "2021", 0.5, False),  # trend too slow
        ("T24", "2021", 28.9, 35.0 - 28.9, (35.0 - 28.9) / 4, "at_risk", "2021", 0.5, False),  # one figure: no trend
        # +5918 a year reaches 45,000 by 2025, but the figure is 2.5 years old: stale
        ("T26", "2019", 16918.0, 45000.0 - 16918.0, (45000.0 - 16918.0) / 6, "on_track", "2019", 2.5, True),
    ]
    series = built.query("select period, period_end_year, value from marts.target_observations where target_id = 'T22' order by period")
    assert series == [("2018", 2018.0, 2.01), ("2020", 2020.0, 2.11), ("2021", 2021.0, cq_2021)]  # published, else computed


def test_targets_without_figures_are_no_data_not_dropped(built: BuiltProject):
    rows = built.query("select target_id from marts.target_tracking where status = 'no_data' order by target_id")
    # the enterprise and register tables are empty here, so every SOE and register target is no_data too
    assert [r[0] for r in rows] == sorted({t["target_id"] for t in policy_targets()} - {"T17", "T22", "T24", "T26"})


def test_metrics_layer_answers_mf_query(built: BuiltProject):
    out = built.run(
        "mf", "query", "--metrics", "rd_intensity", "--group-by", "metric_time__year",
        "--where", "{{ Dimension('region__region_code') }} = 'CN-CQ'", "--order", "metric_time__year", "--csv", "mf.csv",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = (built.project_dir / "mf.csv").read_text().splitlines()
    assert lines[0] == "metric_time__year,rd_intensity"
    assert [line.split(",")[0][:4] for line in lines[1:]] == ["2018", "2020", "2021"]
    assert round(float(lines[2].split(",")[1]), 4) == 2.1070


def test_no_column_has_a_not_null_test_where_its_contract_enforces_not_null():
    """One owner per check: a contracted table (incremental ones too) is created with its NOT NULL columns,
    and DuckDB refuses a null in them on every build, so a not_null data test there checks the same thing
    again with one more query per build. Views enforce no constraint: their not_null tests stay."""
    manifest = json.loads(Path(dbt_project.manifest_path).read_text(encoding="utf-8"))
    enforced = {
        (node["unique_id"], name)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("contract", {}).get("enforced")
        and node["config"]["materialized"] in {"table", "incremental"}
        for name, column in node["columns"].items()
        if any(constraint["type"] == "not_null" for constraint in column.get("constraints", []))
    }
    assert len(enforced) > 50  # the contracts are read
    doubled = sorted(
        f"{test['attached_node']}.{test['column_name']}"
        for test in manifest["nodes"].values()
        if test["resource_type"] == "test"
        and (test.get("test_metadata") or {}).get("name") == "not_null"
        and (test.get("attached_node"), test.get("column_name")) in enforced
    )
    assert doubled == []


#: Holds the build database open read-write, and its writer lock, until stdin closes: a pipeline run mid-build.
HOLD_THE_BUILD_DATABASE = """
import sys
from pathlib import Path
import duckdb
from core.locking import WriterLock
with WriterLock(Path(sys.argv[1])).hold("dbt build"):
    con = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    sys.stdin.read()
    con.close()
"""


def test_metricflow_queries_the_published_copy_while_a_run_holds_the_build_database(built: BuiltProject):
    """`DBT_TARGET=serving mf query` reads serving.duckdb read-only: it answers with the published figures
    while another process holds the build database open for writing (and its writer lock), and waits for nothing."""
    from serving.publish import publish_serving_database

    build_db = built.warehouse_dir / "warehouse.duckdb"
    publish_serving_database(build_db, built.warehouse_dir / "serving.duckdb", "mf-test")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_BUILD_DATABASE, str(build_db)], cwd=settings.REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(settings.REPO_ROOT)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        blocked = built.run("mf", "query", "--metrics", "rd_intensity", "--group-by", "metric_time__year")
        out = run_in_project(
            built.project_dir, built.warehouse_dir, "mf", "query", "--metrics", "rd_intensity", "--group-by",
            "metric_time__year", "--where", "{{ Dimension('region__region_code') }} = 'CN-CQ'", "--order",
            "metric_time__year", "--csv", "mf_serving.csv", target="serving",
        )
    finally:
        holder.communicate("", timeout=60)
    assert blocked.returncode != 0 and "lock" in (blocked.stdout + blocked.stderr).lower()  # the build target waits on the run
    assert out.returncode == 0, out.stdout + out.stderr
    lines = (built.project_dir / "mf_serving.csv").read_text().splitlines()
    assert lines[0] == "metric_time__year,rd_intensity"
    figures = {year[:4]: round(float(value), 4) if value else None for year, value in (line.split(",") for line in lines[1:])}
    assert figures == {"2018": None, "2020": 2.107, "2021": round(100 * 603.8 / 27894.02, 4)}  # 2018: no R&D figure
