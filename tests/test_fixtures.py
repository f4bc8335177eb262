"""The test fixtures follow what they stand for: the serving fixtures' marts are built from the dbt
contracts (tests/serving_fixtures.py), and tests/fixtures/dbt_warehouse/ is what the release loader and the
mapping step make of the shipped releases (tools/dbt_fixtures.py, `make fixtures`)."""

from __future__ import annotations

import difflib
from pathlib import Path

import duckdb

from tests.serving_fixtures import ENTERPRISE_MARTS, PUBLIC_MARTS, build_enterprise_db, contract_columns
from tools.dbt_fixtures import FIXTURES_DIR, build_fixtures


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


def test_committed_dbt_warehouse_fixtures_are_what_the_loader_makes_of_the_shipped_releases():
    built = build_fixtures()
    committed = {path.name: path.read_text(encoding="utf-8") for path in sorted(FIXTURES_DIR.glob("*.csv"))}

    assert sorted(built) == sorted(committed)
    for name, text in built.items():
        diff = list(difflib.unified_diff(committed[name].splitlines(), text.splitlines(), name, "rebuilt", lineterm=""))
        assert not diff, f"tests/fixtures/dbt_warehouse/{name} is out of date, run `make fixtures`:\n" + "\n".join(diff[:20])
