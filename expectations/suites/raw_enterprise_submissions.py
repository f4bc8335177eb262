"""raw.enterprise_submissions: every accepted row of every loaded SOE submission file.

The columns and the rules that apply to each come from the canonical schema of format 5
(``ingestion/enterprise/columns.csv``: a column's *kind*); the types are what the warehouse promises
for each kind, stated here independently of the loader. Industry and district codes are not checked
against the reference lists here: raw keeps what the file said, and the mapping step quarantines the rows
whose codes are not (yet) in the seeds (``ingestion/enterprise/mapping.py``).
"""

from ingestion.enterprise import schema
from ingestion.enterprise.tables import ENTERPRISE_SUBMISSIONS
from ingestion.enterprise.validation import USCC_ALPHABET

from expectations.spec import (
    PERIOD_REGEX,
    Expect,
    Suite,
    column_types,
    columns_present,
    matches,
    no_rows,
    not_greater,
    not_negative,
    not_null,
    unique_key,
)

_TYPE_OF_KIND = {"amount": "DOUBLE", "count": "BIGINT", "flag": "BOOLEAN"}


def _by_kind() -> list[Expect]:
    expectations: list[Expect] = []
    for column in schema.columns():
        if column.kind == "uscc":
            expectations.append(matches(column.name, f"^[{USCC_ALPHABET}]{{18}}$",
                                        what="18 characters of the GB 32100 alphabet"))
        elif column.kind == "period":
            expectations.append(matches(column.name, PERIOD_REGEX, what="a year, quarter or month"))
        elif column.kind in ("amount", "count"):
            expectations.extend(not_negative(column.name))
    return expectations


SUITE = Suite(
    name="raw.enterprise_submissions",
    table="raw.enterprise_submissions",
    asset_key=("raw", "enterprise_submissions"),
    description="SOE submission rows that passed the loader's row rules, every load kept as history.",
    append_only_by="load_id",  # rows are appended a load at a time, never changed: each load is validated once
    expectations=(
        columns_present(ENTERPRISE_SUBMISSIONS.column_names),
        *column_types({"uscc": "VARCHAR", "period": "VARCHAR"}
                      | {c.name: _TYPE_OF_KIND[c.kind] for c in schema.columns() if c.kind in _TYPE_OF_KIND}),
        *not_null("load_id", "uscc", "period", "group_name", "industry_code", "district_code"),
        unique_key("uscc", "period", "load_id"),
        *_by_kind(),
        not_greater("rd_expenditure_10k_yuan", "revenue_10k_yuan"),
        not_greater("sei_output_10k_yuan", "industrial_output_10k_yuan"),
        not_greater("high_value_invention_patents_valid", "invention_patents_valid"),
        no_rows(
            "load_id_in_enterprise_files",
            "select distinct load_id from {batch} where load_id not in (select load_id from raw.enterprise_files)",
            "error",
            "Every row belongs to a loaded file of raw.enterprise_files.",
        ),
    ),
)
