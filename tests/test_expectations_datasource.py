"""The GX datasource for DuckDB (expectations/duckdb_datasource.py): metrics run as SQL in DuckDB, the
file is opened read-only and released when a validation ends, types and regexes work as documented."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import duckdb
import great_expectations as gx
import pytest
import sqlalchemy as sa

from expectations import duckdb_datasource
from expectations.runner import COUNT_ONLY, WITH_EXAMPLES, new_context


@pytest.fixture
def numbers_db(tmp_path: Path) -> Path:
    path = tmp_path / "numbers.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """create schema raw;
        create table raw.numbers as
            select i as id, 'k' || lpad((i % 1000)::varchar, 4, '0') as code, (i % 100)::double as amount,
                   date '2024-01-01' + (i % 365)::integer as day
            from range(1000000) t(i);
        update raw.numbers set amount = -1 where id in (7, 8, 9);
        update raw.numbers set code = 'bad' where id = 42;"""
    )
    con.close()
    return path


def _batch(db: Path, context=None):
    context = context or new_context()
    datasource = context.data_sources.add_duckdb("db", connection_string=duckdb_datasource.connection_string(db))
    asset = datasource.add_table_asset("numbers", table_name="numbers", schema_name="raw")
    return datasource, asset.add_batch_definition_whole_table("all").get_batch()


def _validate(db: Path, expectations: list, result_format=COUNT_ONLY):
    datasource, batch = _batch(db)
    try:
        return batch.validate(gx.ExpectationSuite(name="probe", expectations=expectations), result_format=result_format)
    finally:
        datasource.get_execution_engine().close()


def test_validating_a_million_rows_copies_none_of_them_into_python(numbers_db: Path) -> None:
    expectations = [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="code"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=99),
        gx.expectations.ExpectColumnValuesToMatchRegex(column="code", regex="^k[0-9]{4}$"),
    ]
    _validate(numbers_db, expectations)  # warm-up: first use of each metric imports and caches code

    tracemalloc.start()
    try:
        result = _validate(numbers_db, expectations)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert {r.expectation_config.type: r.result["unexpected_count"] for r in result.results} == {
        "expect_column_values_to_not_be_null": 0,
        "expect_column_values_to_be_between": 3,
        "expect_column_values_to_match_regex": 1,
    }
    assert peak < 20_000_000  # a pandas copy of one column of 1M rows alone is 8 MB; of the strings, > 50 MB


def test_column_types_are_duckdb_type_names(numbers_db: Path) -> None:
    result = _validate(numbers_db, [
        gx.expectations.ExpectColumnValuesToBeOfType(column="amount", type_="DOUBLE"),
        gx.expectations.ExpectColumnValuesToBeOfType(column="day", type_="DATE"),
        gx.expectations.ExpectColumnValuesToBeOfType(column="id", type_="VARCHAR"),
        gx.expectations.ExpectTableColumnsToMatchSet(column_set=["id", "code", "amount", "day"], exact_match=True),
    ])

    assert sorted((r.success, str(r.result["observed_value"])) for r in result.results) == [
        (False, "BIGINT"), (True, "DATE"), (True, "DOUBLE"), (True, "['amount', 'code', 'day', 'id']"),
    ]


def test_regex_must_match_the_whole_value(numbers_db: Path) -> None:
    # DuckDB's `~` is a full match: an unanchored pattern that would match part of a value does not.
    result = _validate(numbers_db, [gx.expectations.ExpectColumnValuesToMatchRegex(column="code", regex="k0")])

    assert result.results[0].result["unexpected_count"] == 1_000_000


def test_query_expectation_runs_one_count_query_and_fetches_rows_only_for_examples(numbers_db: Path) -> None:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    check = duckdb_datasource.ExpectQueryToReturnNoRows(
        unexpected_rows_query="select id, amount from {batch} where amount < 0"
    )
    for result_format in (COUNT_ONLY, WITH_EXAMPLES):
        datasource, batch = _batch(numbers_db)
        engine = datasource.get_execution_engine()
        sa.event.listen(engine.engine, "before_cursor_execute", record)
        statements.clear()
        try:
            result = batch.validate(gx.ExpectationSuite(name="probe", expectations=[check]), result_format=result_format)
        finally:
            engine.close()
        validated = result.results[0]
        rows = [s for s in statements if "amount < 0" in s]
        if result_format is COUNT_ONLY:
            assert len(rows) == 1 and rows[0].startswith("SELECT COUNT(*)")
            assert validated.result == {"observed_value": 3}
        else:
            assert len(rows) == 2
            assert validated.result["details"]["unexpected_rows"] == [
                {"id": 7, "amount": -1.0}, {"id": 8, "amount": -1.0}, {"id": 9, "amount": -1.0}
            ]
        assert validated.success is False


def test_file_is_opened_read_only_and_released_after_validation(numbers_db: Path) -> None:
    datasource, batch = _batch(numbers_db)
    engine = datasource.get_execution_engine()
    with pytest.raises(sa.exc.DBAPIError, match="read-only"):
        engine.execute_query(sa.text("create table raw.scratch (i integer)"))
    engine.close()

    # no connection left open: this process can now write the same file
    con = duckdb.connect(str(numbers_db))
    con.execute("create table raw.scratch (i integer)")
    con.close()


def test_file_context_keeps_the_duckdb_datasource(tmp_path: Path, numbers_db: Path) -> None:
    context = new_context(tmp_path)
    datasource, _ = _batch(numbers_db, context)
    datasource.get_execution_engine().close()

    reopened = new_context(tmp_path)

    assert "type: duckdb" in (tmp_path / "gx" / "great_expectations.yml").read_text()
    assert type(reopened.data_sources.get("db")) is duckdb_datasource.DuckDBDatasource


def test_configurations_computed_once_validate_as_gx_does(numbers_db: Path, monkeypatch) -> None:
    """GX converts an expectation to its configuration on every read of ``configuration`` (thousands per
    suite); in the block it converts each once. The results are GX's own, examples and row conditions
    included, and the property is GX's again after the block."""
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.row_conditions import Column

    from expectations.runner import configurations_computed_once

    def expectations() -> list:
        return [
            gx.expectations.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=99),
            gx.expectations.ExpectColumnValuesToMatchRegex(column="code", regex="^k[0-9]{4}$",
                                                           row_condition=Column("amount") >= 0),
            gx.expectations.ExpectColumnValuesToNotBeNull(column="day"),
        ]

    def outcome(result) -> list:
        return [(r.success, r.result.get("unexpected_count"), sorted(map(str, r.result.get("partial_unexpected_list") or [])),
                 r.expectation_config.to_json_dict()) for r in result.results]

    conversions = []
    converts = Expectation.configuration
    monkeypatch.setattr(Expectation, "configuration", property(lambda e: conversions.append(id(e)) or converts.fget(e)))
    as_gx_does = _validate(numbers_db, expectations(), WITH_EXAMPLES)
    by_gx = len(conversions)
    conversions.clear()
    with configurations_computed_once():
        once = _validate(numbers_db, expectations(), WITH_EXAMPLES)
    assert outcome(once) == outcome(as_gx_does)
    assert [o[:2] for o in outcome(once)] == [(False, 3), (False, 1), (True, 0)]
    assert len(conversions) == len(set(conversions)) < by_gx / 5
    conversions.clear()
    gx.expectations.ExpectColumnValuesToNotBeNull(column="day").configuration
    assert len(conversions) == 1  # GX's property (here, the counting one) is back


def test_counting_fetches_no_values_and_finds_what_gx_finds(numbers_db: Path) -> None:
    """GX queries a map expectation's unexpected values even when the result keeps none of them
    (``partial_unexpected_count`` 0, the counting pass); in the block it does not, and every count and
    verdict is GX's own. The pass with examples still fetches them, and GX's method is back after the block."""
    from great_expectations.expectations.expectation import ColumnMapExpectation

    from expectations.runner import no_values_fetched_when_counting

    def expectations() -> list:
        return [
            gx.expectations.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=99),
            gx.expectations.ExpectColumnValuesToMatchRegex(column="code", regex="^k[0-9]{4}$"),
            gx.expectations.ExpectColumnValuesToNotBeNull(column="day"),
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(column_A="id", column_B="amount", or_equal=True),
        ]

    def validated(result_format) -> tuple[list, list[str]]:
        statements: list[str] = []
        datasource, batch = _batch(numbers_db)
        engine = datasource.get_execution_engine()
        sa.event.listen(engine.engine, "before_cursor_execute", lambda c, cur, statement, *_: statements.append(statement))
        try:
            result = batch.validate(gx.ExpectationSuite(name="probe", expectations=expectations()), result_format=result_format)
        finally:
            engine.close()
        found = [(r.success, r.result["unexpected_count"], r.result["element_count"], r.result.get("missing_count"),
                  sorted(map(str, r.result.get("partial_unexpected_list") or []))) for r in result.results]
        return found, [s for s in statements if "LIMIT" in s.upper()]

    by_gx, gx_fetches = validated(COUNT_ONLY)
    with no_values_fetched_when_counting():
        counted, fetches = validated(COUNT_ONLY)
        with_examples, example_fetches = validated(WITH_EXAMPLES)

    assert counted == by_gx
    assert [c[:2] for c in counted] == [(False, 3), (False, 1), (True, 0), (True, 0)]
    assert len(gx_fetches) == 4 and fetches == []
    assert len(example_fetches) == 4
    assert sorted(with_examples[0][4]) == ["-1.0", "-1.0", "-1.0"]
    assert ColumnMapExpectation.get_validation_dependencies.__qualname__ == "ColumnMapExpectation.get_validation_dependencies"
