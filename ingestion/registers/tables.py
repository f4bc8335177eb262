"""The raw tables registers land in (the dbt sources ``raw.register_files`` and ``raw.register_records``)
and the mapping step's ``mapped.register_kinds``.

Every accepted row of every loaded file is kept with the load it came from: a later load with the same
``record_id`` supersedes it downstream (dbt picks the latest current load), and the replaced rows stay
here as history. Rows are never updated in place. Whether a row's ``kind`` is a kind of
``ref_recognition_kinds`` is decided on every run from the current seed (``mapping.py``).
"""

REGISTERS_DDL = """
create schema if not exists raw;
create table if not exists raw.register_files (
    load_id                  varchar   not null primary key,
    source_file              varchar   not null,  -- path relative to LANDING_DIR
    sha256                   varchar   not null,  -- of the file's bytes
    format                   varchar   not null,  -- register_xlsx | register_csv
    encoding                 varchar,             -- csv only: utf-8, utf-8-sig or gb18030
    header_language          varchar   not null,  -- zh (template headers) or en
    rows_read                bigint    not null,  -- data rows in the file
    rows_loaded              bigint    not null,  -- rows in raw.register_records from this load
    rows_quarantined         bigint    not null,  -- rows in audit.quarantine (stage load) from this load
    duplicate_rows_collapsed bigint    not null,  -- exact copies of a loaded row, dropped
    loaded_at                timestamp not null
);
create table if not exists raw.register_records (
    load_id            varchar   not null,  -- -> raw.register_files
    source_file        varchar   not null,
    row_number         bigint    not null,  -- 1-based line (csv) or Excel row (xlsx)
    record_id          varchar   not null,  -- trimmed
    uscc               varchar   not null,  -- compact (no spaces or hyphens, upper case), check character verified
    holder_name        varchar,             -- as received (free text is not trimmed here: dbt staging does)
    group_name         varchar,             -- trimmed; null (also for a missing marker): not a municipal SOE
    kind               varchar   not null,  -- trimmed: a code or a Chinese name (mapped every run)
    title              varchar,             -- as received
    recognized_by      varchar,             -- as received
    recognized_on_text varchar   not null,  -- trimmed
    recognized_on      date      not null,
    reference          varchar,             -- as received
    revoked_on_text    varchar,             -- trimmed; null when not revoked
    revoked_on         date,
    loaded_at          timestamp not null
);
"""

MAPPED_REGISTERS_DDL = """
create schema if not exists mapped;
create table if not exists mapped.register_kinds (
    kind      varchar not null,  -- a kind as raw.register_records holds it (code or Chinese name, trimmed)
    kind_code varchar not null   -- ref_recognition_kinds.code
);
"""
