"""raw.release_observations: every published cell of every loaded release file, as received."""

from expectations.spec import Suite, columns_present, no_rows, not_null
from ingestion.releases.tables import RELEASE_OBSERVATIONS

SUITE = Suite(
    name="raw.release_observations",
    table="raw.release_observations",
    asset_key=("raw", "releases"),
    description="Records as received (labels, units, periods and values as written); mapped.release_observations maps them.",
    expectations=(
        columns_present(RELEASE_OBSERVATIONS.column_names),
        *not_null("load_id", "row_number"),
        no_rows(
            "load_id_in_release_files",
            "select load_id, row_number from {batch} where load_id not in (select load_id from raw.release_files)",
            "error",
            "Every record belongs to a loaded file of raw.release_files.",
        ),
    ),
)
