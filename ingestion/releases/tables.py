"""The tables statistical releases land in (the dbt sources ``raw.release_files`` and
``mapped.release_observations``).

One row per loaded file version in ``raw.release_files`` (its sidecar origin: the vintage of every value
in it), and one row per published cell in ``raw.release_observations``, exactly as the parser received it
(missing-value cells included), never updated in place. ``mapped.release_observations`` is rebuilt from
those records and the current seeds on every run (``ingestion/releases/mapping.py``): the usable
observations with their harmonized keys and the value in the indicator's canonical unit; the records that
cannot be mapped are the ``mapping`` rows of ``audit.quarantine``.

Each table is declared once, as a :class:`~ingestion.tables.Table`: its DDL, the loader's and the mapping's
inserts and the columns of its quality suite derive from it; ``tests/test_tables.py`` holds the dbt sources'
columns to it and ``tests/test_release_tables.py`` the record dataclasses.
"""

from __future__ import annotations

import duckdb

from ingestion.tables import Column, Table, tables_ddl

RELEASE_FILES = Table("raw.release_files", (
    Column("load_id", "varchar", not_null=True, primary_key=True),
    Column("source_file", "varchar", "path relative to LANDING_DIR", not_null=True),
    Column("sha256", "varchar", "of the data file's bytes", not_null=True),
    Column("sidecar_sha256", "varchar", "of the .meta.yml bytes", not_null=True),
    Column("format", "varchar", "a registered format (ingestion/releases/formats.py)", not_null=True),
    Column("publisher", "varchar"),
    Column("title", "varchar"),
    Column("release_date", "date", "the vintage of every value in the file", not_null=True),
    Column("status", "varchar", "a status of the seed ref_release_statuses", not_null=True),
    Column("url", "varchar"),
    Column("retrieved", "date"),
    Column("encoding", "varchar", "as detected, for text formats"),
    Column("notes", "varchar", "the table's note lines (注：..., 数据来源：...), one per line"),
    Column("loaded_at", "timestamp", not_null=True),
    # build databases made before it have none: their bulletin records carry the names found in titles
    Column("table_title", "varchar", "bulletin_xlsx: the title naming what the records leave empty (mapping)", added_later=True),
))

#: One row per published cell as received: the load and the fields of a
#: :class:`~ingestion.releases.records.RawObservation`.
RELEASE_OBSERVATIONS = Table("raw.release_observations", (
    Column("load_id", "varchar", "-> raw.release_files", not_null=True),
    Column("row_number", "bigint", "1-based line/row in the file (JSON: 1-based datanode)", not_null=True),
    Column("region_raw", "varchar"),
    Column("indicator_raw", "varchar", "may carry its unit in trailing parentheses"),
    Column("unit_raw", "varchar", "the unit given separately (unit row/column, UNIT_MEASURE)"),
    Column("unit_mult", "varchar", "SDMX UNIT_MULT (power of ten), as received"),
    Column("period_raw", "varchar"),
    Column("value_raw", "varchar", "null: the source says there is no figure"),
    Column("obs_status", "varchar", "SDMX OBS_STATUS where given (A, P, E, B)"),
    Column("note", "varchar", "a comment the source attaches to this value"),
))

#: The record as received (the raw columns but SDMX's unit_mult, already applied to value), then how it
#: maps. A column of both a record and its mapping (note) holds the mapping's.
MAPPED_RELEASE_OBSERVATIONS = Table("mapped.release_observations", (
    Column("load_id", "varchar", "-> raw.release_files", not_null=True),
    Column("row_number", "bigint", not_null=True),
    Column("region_raw", "varchar"),
    Column("indicator_raw", "varchar"),
    Column("unit_raw", "varchar"),
    Column("period_raw", "varchar"),
    Column("value_raw", "varchar"),
    Column("region_code", "varchar", "ISO 3166-2:CN, CN for the nation", not_null=True),
    Column("indicator_code", "varchar", not_null=True),
    Column("period", "varchar", "2022 | 2022Q3 | 2022-09 (core.periods)", not_null=True),
    Column("value", "double", "in the indicator's canonical unit (ref_indicators.unit)", not_null=True),
    Column("unit_multiplier", "double", "value = published number * unit_multiplier", not_null=True),
    Column("published_decimals", "integer", "decimals of the published number, for reconciliation", not_null=True),
    Column("obs_status", "varchar", "SDMX OBS_STATUS where given (A, P, E, B)"),
    Column("note", "varchar", "footnote marks and comments attached to the value"),
))

RELEASES_DDL = tables_ddl(RELEASE_FILES, RELEASE_OBSERVATIONS)
MAPPED_RELEASES_DDL = tables_ddl(MAPPED_RELEASE_OBSERVATIONS)

#: A column only the layout before issue 9 has (harmonized at load time, without unit_mult).
_HARMONIZED_AT_LOAD = "region_code"


def check_layout(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a build database whose ``raw.release_observations`` was harmonized at load time: it lacks
    ``unit_mult`` and its notes are already combined, so its records cannot be mapped again faithfully."""
    old = con.execute(
        "select 1 from duckdb_columns() where schema_name = 'raw' and table_name = 'release_observations' and column_name = ?",
        [_HARMONIZED_AT_LOAD],
    ).fetchone()
    if old:
        raise RuntimeError(
            f"{con.execute('select path from duckdb_databases() where database_name = current_database()').fetchone()[0]}: "
            "raw.release_observations has the layout of an older version (harmonized at load time); "
            "delete the build database warehouse.duckdb and run again: it is rebuilt from LANDING_DIR"
        )
