"""The raw tables registers land in (the dbt sources ``raw.register_files`` and ``raw.register_records``)
and the mapping step's ``mapped.register_kinds``.

Every accepted row of every loaded file is kept with the load it came from: a later load with the same
``record_id`` supersedes it downstream (dbt picks the latest current load), and the replaced rows stay
here as history. Rows are never updated in place. Whether a row's ``kind`` is a kind of
``ref_recognition_kinds`` is decided on every run from the current seed (``mapping.py``).

Each table is declared once, as a :class:`~ingestion.tables.Table`: its DDL and the loader's insert of
the file row derive from it, and ``tests/test_tables.py`` holds the dbt sources and the quality suites to it.
"""

from ingestion.tables import Column, Table, tables_ddl
from ingestion.tabular import files_table

REGISTER_FILES = files_table("raw.register_files", "register_xlsx | register_csv", "raw.register_records")

REGISTER_RECORDS = Table("raw.register_records", (
    Column("load_id", "varchar", "-> raw.register_files", not_null=True),
    Column("source_file", "varchar", not_null=True),
    Column("row_number", "bigint", "1-based line (csv) or Excel row (xlsx)", not_null=True),
    Column("record_id", "varchar", "trimmed", not_null=True),
    Column("uscc", "varchar", "compact (no spaces or hyphens, upper case), check character verified", not_null=True),
    Column("holder_name", "varchar", "as received (free text is not trimmed here: dbt staging does)"),
    Column("group_name", "varchar", "trimmed; null (also for a missing marker): not a municipal SOE"),
    Column("kind", "varchar", "trimmed: a code or a Chinese name (mapped every run)", not_null=True),
    Column("title", "varchar", "as received"),
    Column("recognized_by", "varchar", "as received"),
    Column("recognized_on_text", "varchar", "trimmed", not_null=True),
    Column("recognized_on", "date", not_null=True),
    Column("reference", "varchar", "as received"),
    Column("revoked_on_text", "varchar", "trimmed; null when not revoked"),
    Column("revoked_on", "date"),
    Column("loaded_at", "timestamp", not_null=True),
))

REGISTER_KINDS = Table("mapped.register_kinds", (
    Column("kind", "varchar", "a kind as raw.register_records holds it (code or Chinese name, trimmed)", not_null=True),
    Column("kind_code", "varchar", "ref_recognition_kinds.code", not_null=True),
))

REGISTERS_DDL = tables_ddl(REGISTER_FILES, REGISTER_RECORDS)
MAPPED_REGISTERS_DDL = tables_ddl(REGISTER_KINDS)
