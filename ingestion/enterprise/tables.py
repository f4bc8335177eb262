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
from ingestion.tables import Column, Table, tables_ddl
from ingestion.tabular import files_table

#: The type each kind of column of ``columns.csv`` is stored as.
_TYPE_OF_KIND = {
    "uscc": "varchar",
    "text": "varchar",
    "industry": "varchar",
    "district": "varchar",
    "period": "varchar",
    "amount": "double",
    "count": "bigint",
    "flag": "boolean",
}

ENTERPRISE_FILES = files_table("raw.enterprise_files", "enterprise_xlsx | enterprise_csv | enterprise_parquet", "raw.enterprise_submissions")

#: The load, the row, every canonical column of format 5 (all required) and when it was loaded.
ENTERPRISE_SUBMISSIONS = Table("raw.enterprise_submissions", (
    Column("load_id", "varchar", "-> raw.enterprise_files", not_null=True),
    Column("source_file", "varchar", not_null=True),
    Column("row_number", "bigint", "1-based line (csv), Excel row or record (parquet)", not_null=True),
    *(Column(c.name, _TYPE_OF_KIND[c.kind], not_null=True) for c in schema.columns()),
    Column("loaded_at", "timestamp", not_null=True),
))

ENTERPRISE_REJECTED_ROWS = Table("mapped.enterprise_rejected_rows", (
    Column("load_id", "varchar", "-> raw.enterprise_submissions", not_null=True),
    Column("row_number", "bigint", not_null=True),
    Column("reason", "varchar", "unknown_industry_code: ...; unknown_district_code: ...", not_null=True),
))

ENTERPRISE_DDL = tables_ddl(ENTERPRISE_FILES, ENTERPRISE_SUBMISSIONS)
MAPPED_ENTERPRISE_DDL = tables_ddl(ENTERPRISE_REJECTED_ROWS)
