"""raw.register_records: every accepted row of every loaded recognitions register (format 6).

What the loader promises of a row, stated independently of it: a USCC of the GB 32100 alphabet, a record_id
once per load, dates that parse and are not after the day of loading, a revocation not before the
recognition. The kind is not checked here: raw keeps what the file said, and the mapping step quarantines
the rows whose kind is not (yet) in ``ref_recognition_kinds``.
"""

from ingestion.registers.tables import REGISTER_RECORDS
from ingestion.uscc import USCC_ALPHABET

from expectations.spec import Suite, column_types, columns_present, matches, no_rows, not_null, unique_key

SUITE = Suite(
    name="raw.register_records",
    table="raw.register_records",
    asset_key=("raw", "registers"),
    description="Register rows that passed the loader's row rules, every load kept as history.",
    expectations=(
        columns_present(REGISTER_RECORDS.column_names),
        *column_types({"uscc": "VARCHAR", "recognized_on": "DATE", "revoked_on": "DATE"}),
        *not_null("load_id", "record_id", "uscc", "kind", "recognized_on", "loaded_at"),
        unique_key("record_id", "load_id"),
        matches("uscc", f"^[{USCC_ALPHABET}]{{18}}$", what="18 characters of the GB 32100 alphabet"),
        no_rows(
            "dates_not_after_loading",
            "select source_file, row_number, recognized_on, revoked_on, loaded_at from {batch}"
            " where recognized_on > cast(loaded_at as date) or revoked_on > cast(loaded_at as date)",
            "error",
            "No recognition or revocation is dated after the day its file was loaded.",
        ),
        no_rows(
            "revoked_not_before_recognized",
            "select source_file, row_number, recognized_on, revoked_on from {batch} where revoked_on < recognized_on",
            "error",
            "A recognition is not revoked before it was recognized.",
        ),
        no_rows(
            "revocation_text_parsed",
            "select source_file, row_number, revoked_on_text from {batch}"
            " where (revoked_on_text is null) <> (revoked_on is null)",
            "error",
            "A revocation date as received is parsed, and a parsed one was received.",
        ),
        no_rows(
            "load_id_in_register_files",
            "select distinct load_id from {batch} where load_id not in (select load_id from raw.register_files)",
            "error",
            "Every row belongs to a loaded file of raw.register_files.",
        ),
    ),
)
