"""What the user is told at the end of a run (expectations.run_summary): failed files, quarantined rows
by reason, withdrawn/restored/duplicate files and the blocking checks of the run, each with what to do."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from expectations.results import QUALITY_RESULTS_DDL
from expectations.run_summary import read_run_summary, render_run_summary
from ingestion.audit import AUDIT_DDL

RUN_STARTED_AT = datetime(2026, 11, 21, 9, 0, 0)

AUDIT_ROWS_SQL = """
insert into audit.load_log (load_id, kind, source_file, sha256, sidecar_sha256, format, release_date, rows_loaded,
                            rows_quarantined, status, error, note, loaded_at) values
    -- the previous run
    ('L1', 'releases', 'releases/nbs/rd_intensity_2020.csv', repeat('a', 64), repeat('b', 64), 'nbs_export',
     date '2021-09-22', 32, 0, 'loaded', null, null, timestamp '2026-11-20 10:00:00'),
    ('L2', 'releases', 'releases/cq/gdp_2021.json', repeat('c', 64), repeat('d', 64), 'nbs_easyquery_json',
     date '2022-03-01', 20, 1, 'loaded', null, null, timestamp '2026-11-20 10:00:01'),
    ('L3', 'releases', 'releases/old/population.csv', repeat('e', 64), repeat('f', 64), 'nbs_export',
     date '2020-04-01', 31, 0, 'loaded', null, null, timestamp '2026-11-20 10:00:02'),
    ('F1', 'releases', 'releases/nbs/bad.csv', repeat('1', 64), null, null, null, 0, 0, 'failed',
     'releases/nbs/bad.csv: sidecar has no release_date', null, timestamp '2026-11-20 10:00:03'),
    ('F2', 'releases', 'releases/nbs/fixed.csv', repeat('2', 64), null, null, null, 0, 0, 'failed',
     'releases/nbs/fixed.csv: no sidecar', null, timestamp '2026-11-20 10:00:04'),
    ('F3', 'enterprise', 'enterprise/removed_since.xlsx', repeat('3', 64), null, 'enterprise_xlsx', null, 0, 0,
     'failed', 'enterprise/removed_since.xlsx: sheet 填报 not found', null, timestamp '2026-11-20 10:00:05'),
    ('E1', 'enterprise', 'enterprise/bulk_2024.csv', repeat('9', 64), null, 'enterprise_csv', null, 3, 2, 'loaded',
     null, null, timestamp '2026-11-20 10:00:06'),
    -- this run
    ('F4', 'releases', 'releases/nbs/bad.csv', repeat('4', 64), repeat('5', 64), 'nbs_export', date '2031-01-01', 0, 0,
     'failed', 'releases/nbs/bad.csv: release_date 2031-01-01 is after today (2026-11-21)', null,
     timestamp '2026-11-21 09:00:01'),
    ('L4', 'releases', 'releases/nbs/fixed.csv', repeat('6', 64), repeat('7', 64), 'nbs_export', date '2021-09-22', 31,
     0, 'loaded', null, null, timestamp '2026-11-21 09:00:02'),
    ('L3', 'releases', 'releases/old/population.csv', repeat('e', 64), repeat('f', 64), 'nbs_export',
     date '2020-04-01', 0, 0, 'withdrawn', null, 'removed from the landing folder', timestamp '2026-11-21 09:00:03'),
    ('D1', 'enterprise', 'enterprise/copy of bulk_2024.csv', repeat('9', 64), null, 'enterprise_csv', null, 0, 0,
     'duplicate', null, 'same content as enterprise/bulk_2024.csv (load E1)', timestamp '2026-11-21 09:00:04');
insert into audit.quarantine (load_id, source_file, row_number, reason, record, quarantined_at, stage) values
    ('L2', 'releases/cq/gdp_2021.json', 4, 'unmapped region ''寧夏回族自治區''', '{"region": "寧夏回族自治區"}',
     timestamp '2026-11-21 09:00:06', 'mapping'),
    ('L2', 'releases/cq/gdp_2021.json', 5, 'unmapped region ''寧夏回族自治區''; unmapped indicator ''研发经费内部支出''',
     '{"region": "寧夏回族自治區", "indicator": "研发经费内部支出"}', timestamp '2026-11-21 09:00:06', 'mapping'),
    ('L2', 'releases/cq/gdp_2021.json', 9, 'unparseable number ''1,2,3x''', '{"value": "1,2,3x"}',
     timestamp '2026-11-20 10:00:01', 'load'),
    ('L2', 'releases/cq/gdp_2021.json', 12, 'unmapped region ''寧夏回族自治區''', '{"region": "寧夏回族自治區"}',
     timestamp '2026-11-21 09:00:06', 'mapping'),
    ('L3', 'releases/old/population.csv', 7, 'unmapped region ''<script>''', '{"region": "<script>"}',
     timestamp '2026-11-20 10:00:02', 'load'),
    ('E1', 'enterprise/bulk_2024.csv', 2, 'unknown_industry_code: ''Z9999'' is not a GB/T 4754-2017 class',
     '{"industry_code": "Z9999"}', timestamp '2026-11-21 09:00:06', 'mapping'),
    ('E1', 'enterprise/bulk_2024.csv', 3, 'invalid_uscc: 91500112MA5U00000X has check character X, expected 1',
     '{"uscc": "91500112MA5U00000X"}', timestamp '2026-11-20 10:00:06', 'load');
insert into audit.quality_results values
    ('run-1', 'marts.industrial_va_growth', 'marts.industrial_va_growth', 'industrial_va_growth_pct_in_range',
     'error', true, false, '"1 of 2 rows unexpected"', 1, timestamp '2026-11-20 10:05:00'),
    ('run-2', 'marts.industrial_va_growth', 'marts.industrial_va_growth', 'industrial_va_growth_pct_in_range',
     'error', true, true, '"0 of 2 rows unexpected"', 0, timestamp '2026-11-21 09:05:00'),
    ('run-2', 'marts.rd_intensity', 'marts.rd_intensity', 'rd_intensity_pct_in_range', 'error', true, false,
     '"1 of 2 rows unexpected"', 1, timestamp '2026-11-21 09:05:01'),
    ('run-2', 'marts.rd_intensity', 'marts.rd_intensity', 'rd_intensity_pct_plausible', 'warn', false, false,
     '"1 of 2 rows unexpected"', 1, timestamp '2026-11-21 09:05:01'),
    ('run-2', 'raw.release_observations', 'raw.release_observations', 'key_unique', 'error', false, false,
     '2', 2, timestamp '2026-11-21 09:04:00');
"""


def build_audit_db(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute(AUDIT_DDL)
        con.execute(QUALITY_RESULTS_DDL)
        con.execute(AUDIT_ROWS_SQL)
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def audit_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_audit_db(tmp_path_factory.mktemp("run-summary") / "warehouse.duckdb")


def test_summary_of_a_run_says_what_stopped_it_and_what_to_do(audit_db: Path) -> None:
    text = render_run_summary(audit_db, "run-2", RUN_STARTED_AT)

    assert text.splitlines() == [
        "Summary of run run-2",
        "Publishing stopped by 1 blocking check:",
        "  marts.rd_intensity / rd_intensity_pct_in_range: 1 of 2 rows unexpected",
        "    expected: rd_intensity_pct within 0.0 .. 10.0. R&D intensity is a share of GDP; no economy spends over "
        "10 % of GDP on R&D.",
        "    what to do: see suite marts.rd_intensity in the quality report for the offending rows, correct or remove "
        "the landing file they come from (or the reference data) and run `make run` again; the last published data "
        "stays in place until then",
        "1 file failed to load (nothing of them was loaded):",
        "  releases/nbs/bad.csv: release_date 2031-01-01 is after today (2026-11-21)",
        "    what to do: fix the file or its sidecar (bad.csv.meta.yml) and run `make run` again",
        "2 files with quarantined rows (their figures are missing):",
        "  releases/cq/gdp_2021.json: 4 rows quarantined, the most frequent reasons:",
        "    unmapped region, 3 rows (e.g. unmapped region '寧夏回族自治區'); what to do: add the region name to "
        "dbt_project/seeds/ref_region_aliases.csv",
        "    unmapped indicator, 1 row (e.g. unmapped indicator '研发经费内部支出'); what to do: add the indicator label "
        "to dbt_project/seeds/ref_indicator_aliases.csv",
        "    unparseable number, 1 row (e.g. unparseable number '1,2,3x'); what to do: correct the file: its new "
        "version replaces this one at the next run",
        "    after a fix in dbt_project/seeds/, the next `make run` maps these rows again without reloading the file",
        "  enterprise/bulk_2024.csv: 2 rows quarantined, the most frequent reasons:",
        "    invalid_uscc, 1 row (e.g. invalid_uscc: 91500112MA5U00000X has check character X, expected 1); what to "
        "do: correct the file: its new version replaces this one at the next run",
        "    unknown_industry_code, 1 row (e.g. unknown_industry_code: 'Z9999' is not a GB/T 4754-2017 class); what "
        "to do: add the code to dbt_project/seeds/ref_industry_codes.csv if it is a GB/T 4754-2017 class",
        "    after a fix in dbt_project/seeds/, the next `make run` maps these rows again without reloading the file",
        "2 files withdrawn, restored or duplicate in this run:",
        "  withdrawn releases/old/population.csv (load L3): removed from the landing folder",
        "    what to do: its figures left the current marts (kept in the history, marked withdrawn); put the file "
        "back to restore them",
        "  duplicate enterprise/copy of bulk_2024.csv (load D1): same content as enterprise/bulk_2024.csv (load E1)",
        "    what to do: nothing was loaded; remove the copy unless it is meant to be there",
    ]


def test_only_the_three_most_frequent_reasons_of_a_file_are_listed(tmp_path: Path) -> None:
    db = build_audit_db(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(db))
    con.execute(
        "insert into audit.quarantine (load_id, source_file, row_number, reason, record, quarantined_at, stage) "
        "select 'L2', 'releases/cq/gdp_2021.json', 20 + i, 'unknown unit ''千克'' for indicator gdp (not in ref_units)',"
        " '{}', timestamp '2026-11-21 09:00:06', 'mapping' from range(2) t(i)"
    )
    con.close()

    (gdp, _) = read_run_summary(db, "run-2", RUN_STARTED_AT).quarantined_files

    assert (gdp.source_file, gdp.rows) == ("releases/cq/gdp_2021.json", 6)
    assert [(r.rule, r.rows, r.what_to_do) for r in gdp.reasons] == [
        ("unmapped region", 3, "add the region name to dbt_project/seeds/ref_region_aliases.csv"),
        ("unknown unit", 2, "add the unit to dbt_project/seeds/ref_units.csv"),
        ("unmapped indicator", 1, "add the indicator label to dbt_project/seeds/ref_indicator_aliases.csv"),
    ]


def test_without_a_start_time_files_whose_latest_attempt_failed_and_no_events(audit_db: Path) -> None:
    summary = read_run_summary(audit_db, "run-1", None)

    assert [(f.source_file, f.reason) for f in summary.failed_files] == [
        ("enterprise/removed_since.xlsx", "sheet 填报 not found"),
        ("releases/nbs/bad.csv", "release_date 2031-01-01 is after today (2026-11-21)"),
    ]
    assert summary.events == ()
    assert [(c.suite, c.expectation) for c in summary.blocking_checks] == [
        ("marts.industrial_va_growth", "industrial_va_growth_pct_in_range")
    ]


def test_a_run_with_nothing_to_report_says_so(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute(AUDIT_DDL)
    con.execute(
        "insert into audit.load_log (load_id, kind, source_file, sha256, rows_loaded, rows_quarantined, status, "
        "loaded_at) values ('L1', 'releases', 'releases/a.csv', repeat('a', 64), 3, 0, 'loaded', "
        "timestamp '2026-11-21 09:00:01')"
    )
    con.close()

    assert render_run_summary(db, "run-2", RUN_STARTED_AT).splitlines() == [
        "Summary of run run-2",
        "  every file loaded, no row quarantined, no blocking check failed",
    ]


OLD_AUDIT_SQL = """
create schema audit;
create table audit.load_log (load_id varchar, source_file varchar, sha256 varchar, format varchar, release_date date,
    rows_loaded bigint, rows_quarantined bigint, status varchar, error varchar, loaded_at timestamp);
create table audit.quarantine (load_id varchar, source_file varchar, row_number bigint, reason varchar, record json,
    quarantined_at timestamp);
insert into audit.load_log values
    ('L1', 'releases/a.csv', repeat('a', 64), 'nbs_export', date '2021-09-22', 30, 1, 'loaded', null,
     timestamp '2026-11-21 09:00:01'),
    ('F1', 'enterprise/b.csv', repeat('b', 64), 'enterprise_csv', null, 0, 0, 'failed',
     'enterprise/b.csv: no header row', timestamp '2026-11-21 09:00:02');
insert into audit.quarantine values
    ('L1', 'releases/a.csv', 4, 'unmapped region ''Xizang''', '{}', timestamp '2026-11-21 09:00:01');
"""


def test_a_warehouse_from_before_the_new_audit_columns_is_summarized(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute(OLD_AUDIT_SQL)  # no kind, note, stage, no audit.current_loads, no audit.quality_results
    con.close()

    assert render_run_summary(db, "run-2", RUN_STARTED_AT).splitlines() == [
        "Summary of run run-2",
        "1 file failed to load (nothing of them was loaded):",
        "  enterprise/b.csv: no header row",
        "    what to do: fix the file and run `make run` again",
        "1 file with quarantined rows (their figures are missing):",
        "  releases/a.csv: 1 row quarantined, the most frequent reasons:",
        "    unmapped region, 1 row (e.g. unmapped region 'Xizang'); what to do: add the region name to "
        "dbt_project/seeds/ref_region_aliases.csv",
        "    after a fix in dbt_project/seeds/, the next `make run` maps these rows again without reloading the file",
    ]


def test_absent_or_unreadable_database_is_said_not_raised(tmp_path: Path) -> None:
    absent = tmp_path / "absent.duckdb"
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.duckdb"
    duckdb.connect(str(blank)).close()

    assert render_run_summary(absent, "run-2", RUN_STARTED_AT).splitlines() == [
        "Summary of run run-2", f"  no build database at {absent}: nothing was loaded yet"
    ]
    assert render_run_summary(empty, "run-2", RUN_STARTED_AT).splitlines() == [
        "Summary of run run-2",
        f'  the build database {empty} could not be read: IO Error: The file "{empty}" exists, but it is not a valid '
        "DuckDB database file!",
    ]
    assert render_run_summary(blank, "run-2", RUN_STARTED_AT).splitlines() == [
        "Summary of run run-2", "  nothing was loaded yet: the build database has no audit.load_log"
    ]
