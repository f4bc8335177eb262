"""The enterprise models built incrementally, by reporting period (the enterprise versions by enterprise),
give the same tables as a full refresh after every step of a sequence: an initial load, a new quarter's
files (one of enterprises reporting for the first time), a resubmission revising earlier rows, and the
removal of three files (the new quarter's, which leave its period empty and the newcomers nowhere, and the
resubmission's, which makes the earlier figures current again). Each step rebuilds only its periods."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from core import warehouse
from ingestion.enterprise.loader import load_submissions
from ingestion.enterprise.mapping import map_enterprise
from tests.test_enterprise_marts import run_dbt
from tools import synthetic_enterprises as synthetic

#: Every table and view of the enterprise path the incremental build must get right.
ENTERPRISE_RELATIONS = (
    "intermediate.int_enterprise_submissions_versioned",
    "intermediate.int_enterprise_versions",
    "intermediate.int_soe_innovation_contributions",
    "intermediate.int_soe_innovation",
    "marts.fct_enterprise_submissions",
    "marts.fct_enterprise_submission_history",
    "marts.soe_innovation",
    "marts.soe_innovation_concentration",
    "marts.dim_enterprise",
)
SELECT = (
    "--select", "+int_enterprise_loads_built", "soe_innovation", "fct_enterprise_submissions",
    "fct_enterprise_submission_history",
)
#: The panel: 2022 and 2023, and the quarters of 2023; the later files add and revise from the same panel.
PANEL = synthetic.Spec(
    enterprises=80, periods=synthetic.period_labels([2022, 2023], [2023, 2024]), seed=12, error_rate=0.03
)


#: The enterprises of the newcomers' file (loaded from it: they are in no other file).
NEWCOMERS = "select uscc from raw.enterprise_submissions where source_file like '%newcomers%'"


def write(spec: synthetic.Spec, path: Path) -> None:
    synthetic.write_parquet(synthetic.generate(spec), path)


def load(root: Path) -> None:
    """Sync the landing folder into the build database (new files loaded, removed ones withdrawn) and map."""
    con = warehouse.connect(root / "warehouse.duckdb")
    try:
        summary = load_submissions(con, root / "landing")
        map_enterprise(con)
    finally:
        con.close()
    assert summary.files_failed == 0


def periods_rebuilt(root: Path) -> list[tuple[str, bool]]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(
            "select period, submissions_changed from intermediate.int_enterprise_periods_to_rebuild order by period"
        ).fetchall()
    finally:
        con.close()


def differences(incremental: Path, full: Path) -> dict[str, list[tuple]]:
    """Per relation, the rows one build has and the other has not (as many times as they differ)."""
    con = duckdb.connect(str(incremental), read_only=True)
    con.execute(f"attach '{full}' as full_refresh (read_only)")
    found = {}
    try:
        for relation in ENTERPRISE_RELATIONS:
            rows = con.sql(
                f"""(select 'incremental only' as side, * from (from {relation} except all from full_refresh.{relation}))
                union all
                (select 'full refresh only', * from (from full_refresh.{relation} except all from {relation}))"""
            ).fetchall()
            if rows:
                found[relation] = rows[:5]
    finally:
        con.close()
    return found


def build_and_compare(root: Path, tmp_path: Path, step: str) -> None:
    """dbt build (incremental) in ``root``; dbt run --full-refresh on a copy of its database; the same tables."""
    load(root)
    run_dbt(root, "build", *SELECT)
    full = tmp_path / f"full_{step}"
    full.mkdir()
    shutil.copy2(root / "warehouse.duckdb", full / "warehouse.duckdb")
    run_dbt(full, "run", "--full-refresh", *SELECT)
    assert differences(root / "warehouse.duckdb", full / "warehouse.duckdb") == {}, step


def first_row(root: Path, sql: str) -> tuple:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchone()
    finally:
        con.close()


def count(root: Path, sql: str) -> int:
    return first_row(root, sql)[0]


def built(tmp_path: Path, spec: synthetic.Spec, file_name: str) -> Path:
    """A warehouse (its folder) with one file of ``spec`` landed, loaded and built."""
    root = tmp_path / "warehouse"
    folder = root / "landing" / "enterprise"
    folder.mkdir(parents=True)
    write(spec, folder / file_name)
    load(root)
    run_dbt(root, "build", *SELECT)
    return root


def test_incremental_builds_equal_full_refreshes_through_new_revised_and_removed_files(tmp_path: Path):
    # 1. initial load: everything is built
    root = built(tmp_path, replace(PANEL, keep_periods=("2022", "2023", "2023Q1", "2023Q2", "2023Q3", "2023Q4")),
                 "panel_2022_2023.parquet")
    folder = root / "landing" / "enterprise"
    assert {period for period, _ in periods_rebuilt(root)} >= {"2022", "2023", "2023Q1", "2023Q4"}
    assert count(root, "select count(*) from mapped.enterprise_rejected_rows") > 0  # unknown codes: left out

    # 2. a new quarter: only it is rebuilt (and a year later, which has no rows), with three enterprises
    #    reporting for the first time (and only in it)
    write(replace(PANEL, keep_periods=("2024Q1",)), folder / "quarter_2024q1.parquet")
    write(replace(PANEL, enterprises=3, first_enterprise=PANEL.enterprises, error_rate=0, keep_periods=("2024Q1",)),
          folder / "newcomers_2024q1.parquet")
    build_and_compare(root, tmp_path, "new quarter")
    assert periods_rebuilt(root) == [("2024Q1", True), ("2025Q1", False)]
    assert count(root, "select count(*) from marts.soe_innovation where period = '2024Q1'") > 0
    assert count(root, f"select count(*) from marts.dim_enterprise where uscc in ({NEWCOMERS})") == 3

    # 3. a resubmission of a quarter and a year: they are rebuilt, and 2024Q1 whose year before is 2023Q1
    write(replace(PANEL, keep_periods=("2023Q1", "2023"), revised_share=0.4),
          folder / "resubmission_2023.parquet")
    build_and_compare(root, tmp_path, "resubmission")
    assert periods_rebuilt(root) == [("2023", True), ("2023Q1", True), ("2024", False), ("2024Q1", False)]
    assert count(root, "select count(*) from marts.fct_enterprise_submissions where version = 2") > 0

    # 4. the later files removed: 2024Q1 has no current submission left, 2023 and 2023Q1 their first ones,
    #    and the newcomers are gone from the enterprise dimension
    (folder / "quarter_2024q1.parquet").unlink()
    (folder / "newcomers_2024q1.parquet").unlink()
    (folder / "resubmission_2023.parquet").unlink()
    build_and_compare(root, tmp_path, "removed files")
    assert [p for p, changed in periods_rebuilt(root) if changed] == ["2023", "2023Q1", "2024Q1"]
    assert count(root, "select count(*) from marts.soe_innovation where period = '2024Q1'") == 0
    assert count(root, "select count(*) from marts.soe_innovation_concentration where period = '2024Q1'") == 0
    assert count(root, "select count(*) from marts.fct_enterprise_submissions where version > 1") == 0
    assert count(root, "select count(*) from marts.fct_enterprise_submission_history where not is_withdrawn") == 0
    assert count(root, "select count(*) from marts.fct_enterprise_submission_history where is_withdrawn") > 0
    assert count(root, f"select count(*) from marts.dim_enterprise where uscc in ({NEWCOMERS})") == 0


def test_nothing_changed_rebuilds_no_period(tmp_path: Path):
    root = built(tmp_path, replace(PANEL, enterprises=20), "panel.parquet")
    load(root)
    run_dbt(root, "run", *SELECT)
    assert periods_rebuilt(root) == []


def test_the_key_tests_of_a_table_rebuilt_by_period_read_the_periods_the_build_rewrote(tmp_path: Path):
    """The uniqueness tests of the submissions (rebuilt by period) read the periods the last build rewrote,
    every period after a full build: ten million rows of history are not read again for a new quarter."""
    root = built(tmp_path, replace(PANEL, enterprises=20, keep_periods=("2023", "2023Q1")), "panel_2023.parquet")
    write(replace(PANEL, enterprises=20, keep_periods=("2024Q1",)), root / "landing" / "enterprise" / "quarter_2024q1.parquet")
    load(root)
    run_dbt(root, "build", *SELECT)
    assert [p for p, changed in periods_rebuilt(root) if changed] == ["2024Q1"]
    tests = ("--select", "int_enterprise_submissions_versioned,test_name:unique_combination_of_columns")

    def duplicate_a_row_of(period: str) -> None:
        con = duckdb.connect(str(root / "warehouse.duckdb"))
        table = "intermediate.int_enterprise_submissions_versioned"
        con.execute(f"insert into {table} (select * from {table} where period = '{period}' limit 1)")
        con.close()

    duplicate_a_row_of("2023Q1")  # a period the build did not rewrite: outside what the test reads
    run_dbt(root, "test", *tests)
    duplicate_a_row_of("2024Q1")
    assert "FAIL 1 unique_combination_of_columns_int_enterprise_submissions_versioned" in run_dbt(
        root, "test", *tests, succeeds=False)
    run_dbt(root, "run", "--full-refresh", "--select", "int_enterprise_periods_to_rebuild")  # every period
    duplicate_a_row_of("2023Q1")
    assert "FAIL 2 unique_combination_of_columns_int_enterprise_submissions_versioned" in run_dbt(
        root, "test", *tests, succeeds=False)


def test_a_corrected_seed_name_reaches_every_row_of_the_enterprise_dimension(tmp_path: Path):
    """dim_enterprise is rebuilt by enterprise, and the names it takes from the seeds are kept up to date: the
    enterprises whose industry or district name changed in a seed are rebuilt too, with no period to rebuild."""
    root = built(tmp_path, replace(PANEL, enterprises=20, keep_periods=("2023", "2023Q1")), "panel_2023.parquet")
    industry, district = first_row(root, "select min(industry_code), max(district_code) from marts.dim_enterprise")
    con = duckdb.connect(str(root / "warehouse.duckdb"))  # the seeds as `dbt seed` loads a corrected file
    con.execute(f"update reference.ref_industry_codes set name_zh = '更正的行业' where industry_code = '{industry}'")
    con.execute(f"update reference.ref_chongqing_districts set name_zh = '更正的区县' where district_code::varchar = '{district}'")
    con.close()

    run_dbt(root, "run", *SELECT)  # `run` leaves the seed tables as they are

    assert periods_rebuilt(root) == []
    assert count(root, "select count(*) from marts.dim_enterprise where industry_name_zh = '更正的行业'") == count(
        root, f"select count(*) from marts.dim_enterprise where industry_code = '{industry}'") > 0
    assert count(root, "select count(*) from marts.dim_enterprise where district_name_zh = '更正的区县'") == count(
        root, f"select count(*) from marts.dim_enterprise where district_code = '{district}'") > 0
    full = tmp_path / "full"
    full.mkdir()
    shutil.copy2(root / "warehouse.duckdb", full / "warehouse.duckdb")
    run_dbt(full, "run", "--full-refresh", *SELECT)
    assert differences(root / "warehouse.duckdb", full / "warehouse.duckdb") == {}
