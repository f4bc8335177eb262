"""audit.load_log: one row per file per load attempt and per landing event (duplicate, withdrawn,
restored: ``ingestion/landing.py``), validated per source (releases, enterprise).

Each source's rows form a suite on the asset that loads them, so a failing check points at the loader
that wrote the row.
"""

from expectations.spec import Expect, Suite, columns_present, in_set, no_rows, not_negative, not_null, unique_key

#: A file whose share of quarantined rows is above this is reported (warning): likely a template problem.
MAX_QUARANTINE_SHARE = 0.10

COLUMNS = ["load_id", "source_file", "sha256", "format", "release_date", "rows_loaded", "rows_quarantined",
           "status", "error", "loaded_at", "kind", "sidecar_sha256", "note"]
STATUSES = ["loaded", "failed", "duplicate", "withdrawn", "restored"]


def _expectations(extra: tuple[Expect, ...] = ()) -> tuple[Expect, ...]:
    return (
        columns_present(COLUMNS),
        *not_null("load_id", "source_file", "status", "rows_loaded", "rows_quarantined", "loaded_at"),
        unique_key("load_id", "status", "loaded_at"),  # withdrawn/restored rows repeat their load's id
        in_set("status", STATUSES),
        *not_negative("rows_loaded", "rows_quarantined"),
        no_rows(
            "failed_attempt_names_its_error",
            "select source_file, loaded_at from {batch} where status = 'failed' and (error is null or error = '')",
            "error",
            "A failed attempt says why, naming the file and the problem.",
        ),
        no_rows(
            "failed_attempt_loads_nothing",
            "select source_file, rows_loaded, rows_quarantined from {batch}"
            " where status = 'failed' and (rows_loaded > 0 or rows_quarantined > 0)",
            "error",
            "A failed file loads nothing (one transaction per file).",
        ),
        no_rows(
            "loaded_attempt_has_sha256",
            "select source_file, loaded_at from {batch} where status = 'loaded' and sha256 is null",
            "error",
            "A loaded file is identified by the SHA-256 of its bytes.",
        ),
        no_rows(
            "landing_event_has_note",
            "select source_file, status, loaded_at from {batch}"
            " where status in ('duplicate', 'withdrawn', 'restored') and (note is null or note = '')",
            "error",
            "A duplicate, withdrawn or restored row says what happened (the original file, removed or replaced).",
        ),
        no_rows(
            "latest_attempt_of_each_file_loaded",
            "select source_file, error from {batch}"
            " qualify row_number() over (partition by source_file order by loaded_at desc) = 1 and status = 'failed'",
            "warn",
            "The latest attempt of every landing file loaded (observed: files that still fail).",
        ),
        *extra,
    )


RELEASES = Suite(
    name="audit.load_log.releases",
    table="audit.load_log",
    where="source_file like 'releases/%'",
    asset_key=("raw", "releases"),
    description="Load attempts of statistical release files.",
    expectations=_expectations(),
)

ENTERPRISE = Suite(
    name="audit.load_log.enterprise",
    table="audit.load_log",
    where="source_file like 'enterprise/%'",
    asset_key=("raw", "enterprise_submissions"),
    description="Load attempts of SOE submission files, with their share of quarantined rows.",
    expectations=_expectations((
        no_rows(
            "quarantine_share_below_threshold",
            "select source_file, rows_loaded, rows_quarantined from {batch} where status = 'loaded'"
            f" and rows_quarantined > {MAX_QUARANTINE_SHARE} * (rows_loaded + rows_quarantined)",
            "warn",
            f"At most {MAX_QUARANTINE_SHARE:.0%} of a file's rows are quarantined (observed: files above).",
        ),
    )),
)
