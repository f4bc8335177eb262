"""The raw tables statistical releases land in (the dbt sources ``raw.release_files`` and
``raw.release_observations``).

One row per loaded file version in ``release_files`` (its sidecar origin: the vintage of every value in
it), and one row per usable observation in ``release_observations``: the record as received (``*_raw``)
next to its harmonized keys and its value in the indicator's canonical unit. Rows that could not be
harmonized go to ``audit.quarantine`` instead; values are never updated in place.
"""

RELEASES_DDL = """
create schema if not exists raw;
create table if not exists raw.release_files (
    load_id        varchar   not null primary key,
    source_file    varchar   not null,  -- path relative to LANDING_DIR
    sha256         varchar   not null,  -- of the data file's bytes
    sidecar_sha256 varchar   not null,  -- of the .meta.yml bytes
    format         varchar   not null,  -- nbs_export | nbs_easyquery_json | sdmx_csv | bulletin_xlsx
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
