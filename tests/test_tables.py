"""Every table the loaders write is declared once (:mod:`ingestion.tables`): its DDL creates exactly the
declared columns, again and over a build database of older code, and the dbt sources and the quality
suites name the declared columns."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

import duckdb
import pytest
import yaml

from core.settings import DBT_PROJECT_DIR
from expectations.spec import Suite
from expectations.suites import SUITES
from ingestion.audit import AUDIT_DDL, LOAD_LOG, QUARANTINE, LoadAttempt, QuarantinedRow, insert_quarantine
from ingestion.enterprise.tables import (
    ENTERPRISE_DDL,
    ENTERPRISE_FILES,
    ENTERPRISE_REJECTED_ROWS,
    ENTERPRISE_SUBMISSIONS,
    MAPPED_ENTERPRISE_DDL,
)
from ingestion.registers.tables import (
    MAPPED_REGISTERS_DDL,
    REGISTER_FILES,
    REGISTER_KINDS,
    REGISTER_RECORDS,
    REGISTERS_DDL,
)
from ingestion.releases.tables import (
    MAPPED_RELEASE_OBSERVATIONS,
    MAPPED_RELEASES_DDL,
    RELEASE_FILES,
    RELEASE_OBSERVATIONS,
    RELEASES_DDL,
)
from ingestion.tables import Column, Table

TABLES = (
    LOAD_LOG, QUARANTINE,
    RELEASE_FILES, RELEASE_OBSERVATIONS, MAPPED_RELEASE_OBSERVATIONS,
    REGISTER_FILES, REGISTER_RECORDS, REGISTER_KINDS,
    ENTERPRISE_FILES, ENTERPRISE_SUBMISSIONS, ENTERPRISE_REJECTED_ROWS,
)
DDL = (
    AUDIT_DDL, RELEASES_DDL, MAPPED_RELEASES_DDL, REGISTERS_DDL, MAPPED_REGISTERS_DDL, ENTERPRISE_DDL, MAPPED_ENTERPRISE_DDL
)
#: Declared tables dbt does not read: the mapping reads the raw records, dbt their mapped rows.
WITHOUT_DBT_SOURCE = {"raw.release_observations"}

#: The audit tables as older code created them, before kind, sidecar_sha256, note and stage existed: written
#: out, not derived from the declarations, so that the migrations are tried on what older code really made.
AUDIT_TABLES_OF_OLDER_CODE = """
create schema audit;
create table audit.load_log (
    load_id varchar not null, source_file varchar not null, sha256 varchar, format varchar, release_date date,
    rows_loaded bigint not null, rows_quarantined bigint not null, status varchar not null, error varchar,
    loaded_at timestamp not null
);
create table audit.quarantine (
    load_id varchar not null, source_file varchar not null, row_number bigint, reason varchar not null,
    record json not null, quarantined_at timestamp not null
);
"""


def _dbt_source_columns() -> dict[str, list[str]]:
    """The columns each dbt source declares, by the ``schema.table`` it reads."""
    columns = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "staging").glob("**/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]:
            for table in source["tables"]:
                name = f"{source.get('schema', source['name'])}.{table.get('identifier', table['name'])}"
                columns[name] = [column["name"] for column in table.get("columns", [])]
    return columns


DBT_SOURCES = _dbt_source_columns()


def _layout(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """Each column as created: name, type, nullable, default, in the key."""
    schema, name = table.split(".")
    return con.execute(
        """select c.column_name, lower(c.data_type), c.is_nullable, c.column_default,
                  coalesce(list_contains(k.constraint_column_names, c.column_name), false)
        from duckdb_columns() c
        left join duckdb_constraints() k on k.table_oid = c.table_oid and k.constraint_type = 'PRIMARY KEY'
        where c.schema_name = ? and c.table_name = ? order by c.column_index""",
        [schema, name],
    ).fetchall()


def _declared_layout(table: Table) -> list[tuple]:
    return [(c.name, c.type, not c.not_null, c.default, c.primary_key) for c in table.columns]


@pytest.fixture
def con():
    connection = duckdb.connect()
    for ddl in DDL:
        connection.execute(ddl)
    yield connection
    connection.close()


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_the_ddl_creates_the_declared_columns(con: duckdb.DuckDBPyConnection, table: Table):
    assert _layout(con, table.name) == _declared_layout(table)


def test_every_table_the_ddl_creates_is_declared(con: duckdb.DuckDBPyConnection):
    created = con.execute("select schema_name || '.' || table_name from duckdb_tables()").fetchall()
    assert sorted(name for (name,) in created) == sorted(t.name for t in TABLES)


def test_the_ddl_runs_again_and_keeps_the_declared_columns(con: duckdb.DuckDBPyConnection):
    for ddl in DDL:
        con.execute(ddl)
    assert {t.name: _layout(con, t.name) for t in TABLES} == {t.name: _declared_layout(t) for t in TABLES}


def test_the_audit_tables_of_older_code_get_the_columns_added_later():
    with duckdb.connect() as con:
        con.execute(AUDIT_TABLES_OF_OLDER_CODE)
        con.execute("insert into audit.load_log values ('L1', 'enterprise/a.csv', null, null, null, 0, 0, 'failed', 'e', now())")
        con.execute("insert into audit.quarantine values ('L1', 'enterprise/a.csv', 2, 'r', '{}', now())")
        for _ in range(2):
            con.execute(AUDIT_DDL)
            assert [_layout(con, t.name) for t in (LOAD_LOG, QUARANTINE)] == [_declared_layout(t) for t in (LOAD_LOG, QUARANTINE)]
        assert con.execute("select kind from audit.load_log").fetchall() == [("enterprise",)]
        assert con.execute("select stage from audit.quarantine").fetchall() == [("load",)]


def test_a_row_of_the_load_log_is_a_load_attempt():
    assert sorted(LOAD_LOG.column_names) == sorted(f.name for f in fields(LoadAttempt))


@pytest.mark.parametrize("table", [t for t in TABLES if t.name in DBT_SOURCES], ids=lambda t: t.name)
def test_the_dbt_source_declares_the_table_columns_in_order(table: Table):
    assert DBT_SOURCES[table.name] == table.column_names


def test_the_tables_without_a_dbt_source_are_the_known_ones():
    assert {t.name for t in TABLES} - set(DBT_SOURCES) == WITHOUT_DBT_SOURCE


@pytest.mark.parametrize(
    ("table", "suite"), [(t, s) for t in TABLES for s in SUITES if s.table == t.name], ids=lambda x: x.name
)
def test_the_quality_suite_expects_the_declared_columns_and_types(table: Table, suite: Suite):
    (columns_present,) = [e for e in suite.expectations if e.name == "columns_present"]
    assert columns_present.kwargs["column_set"] == table.column_names
    stated = {e.kwargs["column"]: e.kwargs["type_"] for e in suite.expectations if e.expectation == "ExpectColumnValuesToBeOfType"}
    assert stated == table.types(*stated)


def test_an_insert_names_every_column_or_fails(con: duckdb.DuckDBPyConnection):
    values = {name: ["x"] for name in RELEASE_OBSERVATIONS.column_names if name != "note"} | {"row_number": [1], "extra": ["y"]}
    with pytest.raises(ValueError) as error:
        RELEASE_OBSERVATIONS.insert(con, values)
    assert str(error.value) == "insert into raw.release_observations: columns ['extra', 'note'] are not both given and declared"

    RELEASE_OBSERVATIONS.insert(con, {name: [None] for name in RELEASE_OBSERVATIONS.column_names} | {"load_id": ["L1"], "row_number": [2]})
    assert con.execute("select load_id, row_number, note from raw.release_observations").fetchall() == [("L1", 2, None)]


def test_a_json_column_takes_json_text_and_refuses_anything_else(con: duckdb.DuckDBPyConnection):
    row = QuarantinedRow(3, "invalid_uscc", {"统一社会信用代码": "X", "amount": 1.5})
    assert insert_quarantine(con, [("L1", "enterprise/a.csv", row)], "mapping", datetime(2025, 1, 2)) == 1
    assert con.execute("select record->>'统一社会信用代码', stage, quarantined_at from audit.quarantine").fetchall() == [
        ("X", "mapping", datetime(2025, 1, 2))
    ]
    values = {name: ["x"] for name in QUARANTINE.column_names} | {"row_number": [1], "quarantined_at": [datetime(2025, 1, 2)]}
    with pytest.raises(duckdb.ConversionException, match="Malformed JSON"):
        QUARANTINE.insert(con, values)


def test_a_column_added_later_has_no_constraint_and_comes_last():
    with pytest.raises(ValueError, match="cannot add a column with a constraint"):
        Column("kind", "varchar", not_null=True, added_later=True)
    with pytest.raises(ValueError, match="added later must come after all the others"):
        Table("audit.t", (Column("a", "varchar", added_later=True), Column("b", "varchar")))
