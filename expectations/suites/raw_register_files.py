"""raw.register_files: one row per loaded recognitions register file, with its row counts."""

from ingestion.registers.tables import REGISTER_FILES

from expectations.spec import Suite, columns_present, in_set, no_rows, not_negative, not_null, unique_key

SUITE = Suite(
    name="raw.register_files",
    table="raw.register_files",
    asset_key=("raw", "registers"),
    description="Each loaded register file: format, encoding and what became of its rows.",
    expectations=(
        columns_present(REGISTER_FILES.column_names),
        *not_null("load_id", "source_file", "sha256", "format"),
        unique_key("load_id"),
        in_set("format", ["register_xlsx", "register_csv"]),
        in_set("header_language", ["zh", "en"]),
        *not_negative("rows_read", "rows_loaded", "rows_quarantined", "duplicate_rows_collapsed"),
        no_rows(
            "rows_read_reconcile",
            "select source_file, rows_read, rows_loaded, rows_quarantined, duplicate_rows_collapsed from {batch}"
            " where rows_read <> rows_loaded + rows_quarantined + duplicate_rows_collapsed",
            "error",
            "Every row read is loaded, quarantined or collapsed as an exact copy.",
        ),
        no_rows(
            "rows_loaded_match_records",
            "select f.source_file, f.rows_loaded, count(r.load_id) as rows_in_table from {batch} as f"
            " left join raw.register_records as r using (load_id)"
            " group by f.load_id, f.source_file, f.rows_loaded having count(r.load_id) <> f.rows_loaded",
            "error",
            "rows_loaded is the number of rows the file has in raw.register_records.",
        ),
    ),
)
