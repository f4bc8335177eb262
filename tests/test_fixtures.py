"""The test fixtures follow what they stand for: the serving fixtures' marts are built from the dbt
contracts (tests/serving_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.serving_fixtures import ENTERPRISE_MARTS, PUBLIC_MARTS, build_enterprise_db, contract_columns


def test_every_fixture_mart_has_the_columns_types_and_not_null_constraints_of_its_contract(tmp_path: Path):
    con = duckdb.connect(str(build_enterprise_db(tmp_path / "warehouse.duckdb")), read_only=True)
    try:
        rows = con.execute(
            """select table_name, column_name, lower(data_type), not is_nullable from duckdb_columns()
               where schema_name = 'marts' order by table_name, column_index"""
        ).fetchall()
    finally:
        con.close()
    built: dict[str, list[tuple[str, str, bool]]] = {}
    for table, *column in rows:
        built.setdefault(table, []).append(tuple(column))

    assert sorted(built) == sorted({*PUBLIC_MARTS, *ENTERPRISE_MARTS})
    assert {table: columns for table, columns in built.items() if columns != contract_columns(table)} == {}

