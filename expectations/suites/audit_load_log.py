"""audit.load_log: one row per file per load attempt (``loaded``, ``failed``, ``duplicate``) and per
landing event of a loaded content (``withdrawn``, ``restored``: they carry the load's ``load_id``),
validated per source (releases, enterprise, registers).

Each source's rows form a suite on the asset that loads them, so a failing check points at the loader
that wrote the row.
"""

from ingestion.audit import LOAD_LOG

from expectations.spec import Expect, Suite, columns_present, in_set, no_rows, not_negative, not_null

#: A file whose share of quarantined rows is above this is reported (warning): likely a template problem.
MAX_QUARANTINE_SHARE = 0.10

ATTEMPTS = ("loaded", "failed", "duplicate")
EVENTS = ("withdrawn", "restored")

#: The current quarantine of a current load (its ``load`` rows and its current ``mapping`` rows) against
#: the rows the file gave: the rows loaded (mapping quarantines rows already in the raw tables) plus the
#: rows quarantined at load.
_QUARANTINE_SHARE_SQL = (
    "select f.source_file, f.rows_loaded + f.rows_quarantined as rows_received, count(*) as rows_quarantined_now"
    " from {batch} as f join audit.quarantine as q using (load_id)"
    " where f.status = 'loaded' and f.load_id in (select load_id from audit.current_loads)"
    " group by f.load_id, f.source_file, f.rows_loaded, f.rows_quarantined"
    f" having count(*) > {MAX_QUARANTINE_SHARE} * (f.rows_loaded + f.rows_quarantined)"
)


def _expectations() -> tuple[Expect, ...]:
    return (
        columns_present(LOAD_LOG.column_names),
        *not_null("load_id", "source_file", "status", "rows_loaded", "rows_quarantined", "loaded_at"),
        no_rows(
            "key_unique",
            "select load_id, count(*) as rows from {batch}"
            f" where status in {ATTEMPTS} group by load_id having count(*) > 1",
            "error",
            "load_id identifies one attempt: no two loaded, failed or duplicate rows share it.",
        ),
        in_set("status", [*ATTEMPTS, *EVENTS]),
        no_rows(
            "event_names_its_load",
            f"select source_file, status, load_id from {{batch}} where status in {EVENTS}"
            " and load_id not in (select load_id from {batch} where status = 'loaded')",
            "error",
            "A withdrawn or restored row carries the load_id of a loaded content.",
        ),
        no_rows(
            "event_says_why",
            "select source_file, status from {batch}"
            f" where status in {(*EVENTS, 'duplicate')} and (note is null or note = '')",
            "error",
            "A withdrawn, restored or duplicate row says why in its note (the original file of a duplicate).",
        ),
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
            "latest_attempt_of_each_file_loaded",
            f"select source_file, error from {{batch}} where status in {ATTEMPTS}"
            " qualify row_number() over (partition by source_file order by loaded_at desc) = 1 and status = 'failed'",
            "warn",
            "The latest attempt of every landing file loaded (observed: files that still fail).",
        ),
        no_rows(
            "quarantine_share_below_threshold",
            _QUARANTINE_SHARE_SQL,
            "warn",
            f"At most {MAX_QUARANTINE_SHARE:.0%} of a current file's rows are quarantined, at load or by the mapping "
            "of this run (observed: files above).",
        ),
    )


RELEASES = Suite(
    name="audit.load_log.releases",
    table="audit.load_log",
    where="source_file like 'releases/%'",
    asset_key=("raw", "releases"),
    description="Load attempts of statistical release files, with their share of quarantined rows.",
    expectations=_expectations(),
)

ENTERPRISE = Suite(
    name="audit.load_log.enterprise",
    table="audit.load_log",
    where="source_file like 'enterprise/%'",
    asset_key=("raw", "enterprise_submissions"),
    description="Load attempts of SOE submission files, with their share of quarantined rows.",
    expectations=_expectations(),
)

REGISTERS = Suite(
    name="audit.load_log.registers",
    table="audit.load_log",
    where="source_file like 'registers/%'",
    asset_key=("raw", "registers"),
    description="Load attempts of recognitions register files, with their share of quarantined rows (load and kind).",
    expectations=_expectations(),
)
