"""raw.release_files: one row per loaded version of a release file, with its sidecar origin."""

from expectations.spec import Suite, column_types, columns_present, in_set, matches, no_rows, not_null, unique_key
from ingestion.releases.formats import format_names
from ingestion.releases.sidecar import STATUSES
from ingestion.releases.tables import RELEASE_FILES

SUITE = Suite(
    name="raw.release_files",
    table="raw.release_files",
    asset_key=("raw", "releases"),
    description="Each loaded release file and the origin its sidecar gives (the vintage of its values).",
    expectations=(
        columns_present(RELEASE_FILES.column_names),
        *column_types(RELEASE_FILES.types("load_id", "release_date", "loaded_at")),
        *not_null("load_id", "source_file", "sha256", "format", "release_date", "status"),
        unique_key("load_id"),
        in_set("format", list(format_names())),  # the formats the parsers register
        in_set("status", list(STATUSES)),  # the seed ref_release_statuses
        matches("sha256", "^[0-9a-f]{64}$", what="a hex SHA-256 digest"),
        no_rows(
            "release_date_not_after_load",
            "select source_file, release_date, loaded_at from {batch} where release_date > cast(loaded_at as date)",
            "error",
            "A file is loaded after it was released: a release date in the future is a sidecar error.",
        ),
    ),
)
