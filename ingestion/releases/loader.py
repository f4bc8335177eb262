"""Load every statistical release under ``LANDING_DIR/releases`` into ``raw`` and ``audit``.

One transaction per file: the file's origin (``raw.release_files``), its records as received
(``raw.release_observations``) and the attempt (``audit.load_log``) are committed together; nothing is
mapped here (``ingestion/releases/mapping.py`` maps the records of every load on every run). A file-level
error rolls back that file only, is logged as a 'failed' attempt and is retried on the next run. Which
files to load, and what was removed, duplicated or restored, is :mod:`ingestion.landing`'s rule (the
content is the file's bytes and its sidecar's bytes): re-running over the same landing directory loads
nothing; a changed file or sidecar is a new load, and the load it replaces is withdrawn (vintages are
never updated in place, raw rows never deleted). A release dated after the day of loading, or before the
end of a period it reports, fails.
"""

from __future__ import annotations

import logging
from datetime import date
from collections.abc import Collection
from pathlib import Path

import duckdb

from core.periods import PeriodError, parse_period
from ingestion.audit import LoadAttempt, LoadSummary, file_transaction
from ingestion.landing import LandingFile, LandingKind, land
from ingestion.releases.formats import get_format, release_extensions
from ingestion.releases.records import ParsedFile, RawObservation, ReleaseFileError, Sidecar
from ingestion.releases.sidecar import parse_sidecar, sidecar_path
from ingestion.releases.tables import RELEASE_FILES, RELEASE_OBSERVATIONS, RELEASES_DDL, check_layout
from ingestion.values import NumberError, parse_published_number

logger = logging.getLogger(__name__)

#: The landing folder of releases (``LANDING_DIR/releases``) and the ``kind`` of their load_log rows.
KIND = "releases"
#: Every file of a registered format, each with its ``.meta.yml`` sidecar; the folder must exist.
LANDING = LandingKind(KIND, release_extensions, required=True, sidecar=sidecar_path)


def load_releases(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, only: Collection[str] | None = None
) -> LoadSummary:
    """Sync ``landing_dir/releases`` (:mod:`ingestion.landing`) and load its new contents (of the files
    ``only`` names, when given); ``con`` must already have the audit tables. Raises
    :class:`~ingestion.landing.LandingError` when the folder is missing."""
    con.execute(RELEASES_DDL)
    check_layout(con)
    return land(con, landing_dir, LANDING, lambda file, attempt: _load_file(con, file, attempt), only)


def _load_file(con: duckdb.DuckDBPyConnection, file: LandingFile, attempt: LoadAttempt) -> None:
    """Load one file in one transaction, or roll it back and record the failure."""
    source_file = attempt.source_file
    with file_transaction(con, attempt, _describe_failure(source_file)):
        if file.sidecar_sha256 is None:
            raise ReleaseFileError(source_file, f"no sidecar {Path(source_file).name}.meta.yml next to the file")
        data, sidecar_data = file.path.read_bytes(), sidecar_path(file.path).read_bytes()
        sidecar = parse_sidecar(sidecar_data, f"{source_file}.meta.yml")
        attempt.format, attempt.release_date = sidecar.format, sidecar.release_date
        release_format = get_format(sidecar.format)  # the sidecar names a registered format
        extension = Path(source_file).suffix.lower()
        if extension not in release_format.extensions:
            raise ReleaseFileError(
                source_file,
                f"the sidecar says format {sidecar.format}, whose files are {' or '.join(release_format.extensions)}, not {extension}",
            )
        # Each parser gets the sidecar too (a bulletin's title may leave its region to it).
        parsed = release_format.parse(data, source_file, sidecar)
        check_release_date(source_file, sidecar.release_date, parsed.observations, attempt.loaded_at.date())
        _insert_release_file(con, attempt, sidecar, file.sidecar_sha256, parsed)
        _insert_records(con, attempt.load_id, parsed.observations)
        attempt.rows_loaded = len(parsed.observations)
    if attempt.status == "loaded":
        logger.info("loaded %s: %d records", source_file, attempt.rows_loaded)


def check_release_date(source_file: str, release_date: date, records: list[RawObservation], today: date) -> None:
    """A release cannot be published after the day it is loaded, nor before the end of a period it reports a
    figure for (a cell with no figure reports nothing; records whose period cannot be parsed are left to the
    mapping step). Raises :class:`ReleaseFileError` naming the first such row."""
    if release_date > today:
        raise ReleaseFileError(source_file, f"release_date {release_date} is after the day of loading ({today})")
    for record in records:
        try:
            period = parse_period(record.period_raw)
            if parse_published_number(record.value_raw) is None:
                continue
        except PeriodError:
            continue
        except NumberError:
            pass  # a figure, though not a number: the mapping step quarantines it
        if period.end > release_date:
            raise ReleaseFileError(
                source_file,
                f"release_date {release_date} is before the end of period {period} ({period.end}) "
                f"reported in row {record.row_number}",
            )


def _describe_failure(source_file: str):
    """Every error fails the file, not the run: a parser bug on an odd file must not stop the other files."""

    def describe(error: Exception) -> str:
        if isinstance(error, ReleaseFileError):
            logger.warning("release file failed: %s", error)
            return str(error)
        logger.error("release file %s failed unexpectedly", source_file, exc_info=error)
        return f"{source_file}: unexpected {type(error).__name__}: {error}"

    return describe


def _insert_release_file(
    con: duckdb.DuckDBPyConnection, attempt: LoadAttempt, sidecar: Sidecar, sidecar_sha256: str, parsed: ParsedFile
) -> None:
    row = {
        "load_id": attempt.load_id,
        "source_file": attempt.source_file,
        "sha256": attempt.sha256,
        "sidecar_sha256": sidecar_sha256,
        "format": sidecar.format,
        "publisher": sidecar.publisher,
        "title": sidecar.title,
        "release_date": sidecar.release_date,
        "status": sidecar.status,
        "url": sidecar.url,
        "retrieved": sidecar.retrieved,
        "encoding": parsed.encoding,
        "notes": "\n".join(parsed.notes) or None,
        "loaded_at": attempt.loaded_at,
        "table_title": parsed.table_title,
    }
    RELEASE_FILES.insert(con, {column: [value] for column, value in row.items()})


def _insert_records(con: duckdb.DuckDBPyConnection, load_id: str, records: list[RawObservation]) -> None:
    """One batch insert of the file's records, in the parser's order (the mapping keeps the first of a
    repeated observation, so that order is part of what the file said)."""
    if not records:
        return
    values = {name: [getattr(r, name) for r in records] for name in RELEASE_OBSERVATIONS.column_names if name != "load_id"}
    RELEASE_OBSERVATIONS.insert(con, {"load_id": [load_id] * len(records), **values})
