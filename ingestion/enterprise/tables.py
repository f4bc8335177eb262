"""The raw tables SOE submissions land in (the dbt sources ``raw.enterprise_files`` and
``raw.enterprise_submissions``).

Every accepted row of every loaded file is kept, with the load it came from: a later file with the same
(uscc, period) supersedes the earlier figures downstream (dbt picks the latest load), and the replaced
rows stay here as history. Rows are never updated in place.

Whether a row's industry and district codes are in the reference tables is decided on every run from the
current seeds (``mapping.py``): ``mapped.enterprise_rejected_rows`` names the rows that fail, and dbt
leaves them out.
"""

from ingestion.enterprise import schema

_SQL_TYPES = {
    "uscc": "varchar",
    "text": "varchar",
    "industry": "varchar",
    "district": "varchar",
    "period": "varchar",
    "amount": "double",
    "count": "bigint",
    "flag": "boolean",
}

_SUBMISSION_COLUMNS = ",\n    ".join(
    f"{c.name:<36} {_SQL_TYPES[c.kind]:<8} not null" for c in schema.columns()
)

ENTERPRISE_DDL = f"""
create schema if not exists raw;
create table if not exists raw.enterprise_files (
    load_id                  varchar   not null primary key,
    source_file              varchar   not null,  -- path relative to LANDING_DIR
    sha256                   varchar   not null,  -- of the file's bytes
    format                   varchar   not null,  -- enterprise_xlsx | enterprise_csv | enterprise_parquet
    encoding                 varchar,             -- csv only: utf-8, utf-8-sig or gb18030
    header_language          varchar   not null,  -- zh (template headers) or en (bulk extract headers)
    rows_read                bigint    not null,  -- data rows in the file
    rows_loaded              bigint    not null,  -- rows in raw.enterprise_submissions from this load
    rows_quarantined         bigint    not null,  -- rows in audit.quarantine from this load
    duplicate_rows_collapsed bigint    not null,  -- exact copies of a loaded row, dropped
    loaded_at                timestamp not null
);
create table if not exists raw.enterprise_submissions (
    load_id                              varchar   not null,  -- -> raw.enterprise_files
    source_file                          varchar   not null,
    row_number                           bigint    not null,  -- 1-based line (csv), Excel row or record (parquet)
    {_SUBMISSION_COLUMNS},
    loaded_at                            timestamp not null
);
"""

MAPPED_ENTERPRISE_DDL = """
create schema if not exists mapped;
create table if not exists mapped.enterprise_rejected_rows (
    load_id    varchar not null,  -- -> raw.enterprise_submissions
    row_number bigint  not null,
    reason     varchar not null   -- unknown_industry_code: ...; unknown_district_code: ...
);
"""
