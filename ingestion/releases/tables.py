"""The tables statistical releases land in (the dbt sources ``raw.release_files`` and
``mapped.release_observations``).

One row per loaded file version in ``raw.release_files`` (its sidecar origin: the vintage of every value
in it), and one row per published cell in ``raw.release_observations``, exactly as the parser received it
(missing-value cells included), never updated in place. ``mapped.release_observations`` is rebuilt from
those records and the current seeds on every run (``ingestion/releases/mapping.py``): the usable
observations with their harmonized keys and the value in the indicator's canonical unit; the records that
cannot be mapped are the ``mapping`` rows of ``audit.quarantine``.
"""

import duckdb

RELEASES_DDL = """
create schema if not exists raw;
create table if not exists raw.release_files (
    load_id        varchar   not null primary key,
    source_file    varchar   not null,  -- path relative to LANDING_DIR
    sha256         varchar   not null,  -- of the data file's bytes
    sidecar_sha256 varchar   not null,  -- of the .meta.yml bytes
    format         varchar   not null,  -- a registered format (ingestion/releases/formats.py)
    publisher      varchar,
    title          varchar,
    release_date   date      not null,  -- the vintage of every value in the file
    status         varchar   not null,  -- preliminary | final | revised
    url            varchar,
    retrieved      date,
    encoding       varchar,             -- as detected, for text formats
    notes          varchar,             -- the table's note lines (注：..., 数据来源：...), one per line
    loaded_at      timestamp not null
);
create table if not exists raw.release_observations (
    load_id            varchar not null,  -- -> raw.release_files
    row_number         bigint  not null,  -- 1-based line/row in the file (JSON: 1-based datanode)
    region_raw         varchar,
    indicator_raw      varchar,           -- may carry its unit in trailing parentheses
    unit_raw           varchar,           -- the unit given separately (unit row/column, UNIT_MEASURE)
    unit_mult          varchar,           -- SDMX UNIT_MULT (power of ten), as received
    period_raw         varchar,
    value_raw          varchar,           -- null: the source says there is no figure
    obs_status         varchar,           -- SDMX OBS_STATUS where given (A, P, E, B)
    note               varchar            -- a comment the source attaches to this value
);
"""

MAPPED_RELEASES_DDL = """
create schema if not exists mapped;
create table if not exists mapped.release_observations (
    load_id            varchar not null,  -- -> raw.release_files
    row_number         bigint  not null,
    region_raw         varchar,
    indicator_raw      varchar,
    unit_raw           varchar,
    period_raw         varchar,
    value_raw          varchar,
    region_code        varchar not null,  -- ISO 3166-2:CN, CN for the nation
    indicator_code     varchar not null,
    period             varchar not null,  -- 2022 | 2022Q3 | 2022-09
    value              double  not null,  -- in the indicator's canonical unit (ref_indicators.unit)
    unit_multiplier    double  not null,  -- value = published number * unit_multiplier
    published_decimals integer not null,  -- decimals of the published number, for reconciliation
    obs_status         varchar,           -- SDMX OBS_STATUS where given (A, P, E, B)
    note               varchar            -- footnote marks and comments attached to the value
);
"""

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
