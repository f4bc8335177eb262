"""The release tables are declared once (``ingestion/releases/tables.py``): the DDL, the inserts of the
loader and the mapping, the quality suites' column lists and the dbt sources' columns agree with it."""

from __future__ import annotations

from dataclasses import fields

import duckdb
import pytest
import yaml

from core.settings import DBT_PROJECT_DIR
from expectations import get_suite
from ingestion.releases.harmonize import Observation
from ingestion.releases.records import RawObservation
from ingestion.releases.tables import (
    MAPPED_RELEASE_OBSERVATIONS,
    MAPPED_RELEASES_DDL,
    RELEASE_FILES,
    RELEASE_OBSERVATIONS,
    RELEASES_DDL,
    Table,
)

#: Each table with the dbt source that declares it (yml file, source, table), if dbt reads it.
DBT_SOURCES = {
    RELEASE_FILES: ("models/staging/releases/_releases__sources.yml", "releases", "release_files"),
    MAPPED_RELEASE_OBSERVATIONS: ("models/staging/mapped/_mapped__sources.yml", "mapped", "release_observations"),
}
TABLES = (RELEASE_FILES, RELEASE_OBSERVATIONS, MAPPED_RELEASE_OBSERVATIONS)


def _source_columns(path: str, source: str, table: str) -> list[str]:
    document = yaml.safe_load((DBT_PROJECT_DIR / path).read_text(encoding="utf-8"))
    (declared,) = [t for s in document["sources"] if s["name"] == source for t in s["tables"] if t["name"] == table]
    return [column["name"] for column in declared["columns"]]


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute(RELEASES_DDL + MAPPED_RELEASES_DDL)
    yield connection
    connection.close()


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_the_ddl_creates_the_declared_columns(con: duckdb.DuckDBPyConnection, table: Table):
    schema, name = table.name.split(".")
    created = con.execute(
        "select column_name, lower(data_type), is_nullable from duckdb_columns() "
        "where schema_name = ? and table_name = ? order by column_index",
        [schema, name],
    ).fetchall()
    assert created == [(c.name, c.type, not c.not_null) for c in table.columns]


def test_a_raw_record_is_a_row_of_raw_release_observations():
    assert RELEASE_OBSERVATIONS.column_names[0] == "load_id"
    assert sorted(RELEASE_OBSERVATIONS.column_names[1:]) == sorted(f.name for f in fields(RawObservation))


def test_every_mapped_column_comes_from_the_mapping_or_the_raw_record():
    known = {"load_id"} | {f.name for f in fields(Observation)} | {f.name for f in fields(RawObservation)}
    assert [c for c in MAPPED_RELEASE_OBSERVATIONS.column_names if c not in known] == []


@pytest.mark.parametrize("table", DBT_SOURCES, ids=lambda t: t.name)
def test_the_dbt_source_declares_the_table_columns_in_order(table: Table):
    assert _source_columns(*DBT_SOURCES[table]) == table.column_names


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_the_quality_suite_expects_the_declared_columns(table: Table):
    (columns_present,) = [e for e in get_suite(table.name).expectations if e.name == "columns_present"]
    assert columns_present.kwargs["column_set"] == table.column_names


def test_an_insert_names_every_column_or_fails(con: duckdb.DuckDBPyConnection):
    values = {name: ["x"] for name in RELEASE_OBSERVATIONS.column_names if name != "note"} | {"row_number": [1], "extra": ["y"]}
    with pytest.raises(ValueError) as error:
        RELEASE_OBSERVATIONS.insert(con, values)
    assert str(error.value) == "insert into raw.release_observations: columns ['extra', 'note'] are not both given and declared"

    RELEASE_OBSERVATIONS.insert(con, {name: [None] for name in RELEASE_OBSERVATIONS.column_names} | {"load_id": ["L1"], "row_number": [2]})
    assert con.execute("select load_id, row_number, note from raw.release_observations").fetchall() == [("L1", 2, None)]
