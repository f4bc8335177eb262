"""The raw enterprise suite validates each load's rows once (``expectations.by_load``): its results, summed
from the counts kept for earlier loads and those of the new ones, are those of validating every row."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from expectations import Expect, get_suite
from expectations.by_load import LOAD_COUNTS_TABLE
from expectations.results import SuiteResult, record_results
from expectations.runner import validate, validating
from tests.test_expectations_suites import build_clean_warehouse

SUITE = get_suite("raw.enterprise_submissions")

#: A second load, E2, of three rows: a negative count, R&D above revenue, and one enterprise submitted twice.
NEW_LOAD_SQL = """
insert into raw.enterprise_files
    select 'E2', 'enterprise/bulk_2025q1.csv', repeat('8', 64), format, encoding, header_language, 3, 3, 0, 0,
           timestamp '2026-11-21 09:00:00'
    from raw.enterprise_files where load_id = 'E1';
insert into raw.enterprise_submissions
    select * replace ('E2' as load_id, 'enterprise/bulk_2025q1.csv' as source_file, '2025Q1' as period,
                      timestamp '2026-11-21 09:00:00' as loaded_at)
    from raw.enterprise_submissions where load_id = 'E1';
update raw.enterprise_submissions set rd_personnel = -5 where load_id = 'E2' and row_number = 1;
update raw.enterprise_submissions set rd_expenditure_10k_yuan = 99999 where load_id = 'E2' and row_number = 2;
insert into raw.enterprise_submissions
    select * replace (4 as row_number) from raw.enterprise_submissions where load_id = 'E2' and row_number = 3;
"""


@pytest.fixture
def warehouse(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    clean = tmp_path_factory.getbasetemp() / "by_load_clean.duckdb"
    if not clean.exists():
        build_clean_warehouse(clean)
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(clean, path)
    return path


def _sql(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _validate_and_record(db: Path, suite=SUITE) -> tuple[SuiteResult, dict]:
    """Validate as the checks step does, then record the results; returns them and what was validated now."""
    validation = validate(db, suite)
    con = duckdb.connect(str(db))
    try:
        record_results(con, "run", [validation.result])
    finally:
        con.close()
    return validation.result, validation.gx_result.meta.get("validated_by_load")


def _seen(result: SuiteResult) -> list[tuple]:
    """What the report and the checks show of each expectation (examples in a stable order)."""
    return [
        (o.name, o.passed, o.observed_value, o.unexpected_count,
         sorted(json.dumps(e, sort_keys=True, ensure_ascii=False) for e in o.examples) if isinstance(o.examples, list) else o.examples)
        for o in result.outcomes
    ]


def _every_row_validated(db: Path) -> SuiteResult:
    """The suite's result from every row: what the summed result must equal."""
    scratch = db.with_name("scratch.duckdb")
    shutil.copy(db, scratch)
    _sql(scratch, f"drop table if exists {LOAD_COUNTS_TABLE}")
    return validate(scratch, SUITE).result


def test_a_new_load_is_validated_alone_and_the_sums_are_those_of_every_row(warehouse: Path) -> None:
    first, first_scope = _validate_and_record(warehouse)
    assert first.passed and first_scope is None  # the first validation reads every row
    _sql(warehouse, NEW_LOAD_SQL)

    result, scope = _validate_and_record(warehouse)

    assert scope == {"loads": 2, "loads_validated_now": 1, "rows_validated_now": 4}
    assert set(result.failed()) == {"rd_personnel_not_negative", "rd_expenditure_10k_yuan_not_above_revenue_10k_yuan", "key_unique"}
    assert result.outcome("rd_personnel_not_negative").observed_value == "1 of 7 rows unexpected"
    assert result.outcome("rd_personnel_not_negative").examples == [-5]
    assert result.outcome("key_unique").examples == [
        {"uscc": "91500112MA5U000002", "period": "2025Q1", "load_id": "E2", "rows": 2}
    ]
    assert _seen(result) == _seen(_every_row_validated(warehouse))


def test_a_run_with_no_new_load_reads_no_rows_and_still_reports_earlier_failures(warehouse: Path) -> None:
    _validate_and_record(warehouse)
    _sql(warehouse, NEW_LOAD_SQL)
    _validate_and_record(warehouse)

    result, scope = _validate_and_record(warehouse)

    assert scope == {"loads": 2, "loads_validated_now": 0, "rows_validated_now": 0}
    assert result.outcome("rd_personnel_not_negative").examples == [-5]
    assert _seen(result) == _seen(_every_row_validated(warehouse))
    assert _sql(warehouse, f"select count(*) from {LOAD_COUNTS_TABLE}") == [(2,)]  # E1's counts, then E2's


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("delete from raw.enterprise_submissions where load_id = 'E1' and row_number = 1", id="rows-deleted"),
        pytest.param(
            "insert into raw.enterprise_submissions select * replace (9 as row_number, -1 as rd_personnel) "
            "from raw.enterprise_submissions where load_id = 'E1' and row_number = 1",
            id="rows-added-to-a-counted-load",
        ),
    ],
)
def test_counts_of_a_load_whose_rows_changed_are_not_trusted(warehouse: Path, change: str) -> None:
    _validate_and_record(warehouse)
    _sql(warehouse, change)

    result, scope = _validate_and_record(warehouse)

    assert scope is None  # every row validated again
    assert _seen(result) == _seen(_every_row_validated(warehouse))
    assert _sql(warehouse, f"select count(*), bool_and(covers_all) from {LOAD_COUNTS_TABLE}") == [(1, True)]


def test_a_changed_suite_validates_every_row_again(warehouse: Path) -> None:
    _validate_and_record(warehouse)
    _sql(warehouse, "update raw.enterprise_submissions set rd_personnel = 5000 where load_id = 'E1' and row_number = 1")
    stricter = replace(SUITE, expectations=(*SUITE.expectations, Expect(
        "rd_personnel_at_most_1000", "ExpectColumnValuesToBeBetween", "warn", {"column": "rd_personnel", "max_value": 1000},
    )))

    result, scope = _validate_and_record(warehouse, stricter)

    assert scope is None
    assert result.failed() == ["rd_personnel_at_most_1000"]
    assert _sql(warehouse, f"select count(distinct digest) from {LOAD_COUNTS_TABLE}") == [(1,)]  # the old suite's dropped


def test_a_suite_validated_by_load_takes_only_expectations_that_add_up() -> None:
    with pytest.raises(ValueError, match="cannot be counted load by load: \\['mean_revenue'\\]"):
        replace(SUITE, expectations=(*SUITE.expectations, Expect(
            "mean_revenue", "ExpectColumnMeanToBeBetween", "warn", {"column": "revenue_10k_yuan", "min_value": 0},
        )))


def test_a_session_validates_the_new_loads_again_with_the_same_result(warehouse: Path) -> None:
    _validate_and_record(warehouse)
    _sql(warehouse, NEW_LOAD_SQL)
    alone = validate(warehouse, SUITE)

    with validating(warehouse) as session:
        first, again = session.validate(SUITE), session.validate(SUITE)

    assert again.gx_result.meta["validated_by_load"] == {"loads": 2, "loads_validated_now": 1, "rows_validated_now": 4}
    assert _seen(first.result) == _seen(again.result) == _seen(alone.result)
    assert (again.result.load_counts.loads, again.result.load_counts.counts) == (alone.result.load_counts.loads, alone.result.load_counts.counts)
    _sql(warehouse, "select 1")  # read-write: the session released the file
