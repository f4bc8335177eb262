"""Load every statistical release under ``LANDING_DIR/releases`` into ``raw`` and ``audit``.

One transaction per file: the file's origin (``raw.release_files``), its records as received
(``raw.release_observations``) and the attempt (``audit.load_log``) are committed together; nothing is
mapped here (``ingestion/releases/mapping.py`` maps the records of every load on every run). A file-level
error rolls back that file only, is logged as a 'failed' attempt and is retried on the next run. A file whose bytes and sidecar bytes were loaded before
is skipped, so re-running over the same landing directory loads nothing; a changed file or sidecar is a
new load next to the old one (vintages are never updated in place).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.releases import bulletin_xlsx, nbs_easyquery_json, nbs_export, sdmx_csv
from ingestion.releases.records import ParsedFile, RawObservation, ReleaseFileError, ReleaseParser
from ingestion.releases.sidecar import Sidecar, parse_sidecar, sidecar_path
from ingestion.releases.tables import RELEASES_DDL, check_layout
from ingestion.warehouse import LoadAttempt, LoadSummary, file_transaction

logger = logging.getLogger(__name__)

#: The parser of each sidecar ``format``; each gets the sidecar too (a bulletin's title may leave its region to it).
PARSERS: dict[str, ReleaseParser] = {
    "nbs_export": nbs_export.parse,
    "nbs_easyquery_json": nbs_easyquery_json.parse,
    "sdmx_csv": sdmx_csv.parse,
    "bulletin_xlsx": bulletin_xlsx.parse,
}
#: The file extension of each format: a sidecar naming another format than the file's kind is an error.
FORMAT_EXTENSIONS = {"nbs_export": ".csv", "nbs_easyquery_json": ".json", "sdmx_csv": ".csv", "bulletin_xlsx": ".xlsx"}
RELEASE_EXTENSIONS = tuple(sorted(set(FORMAT_EXTENSIONS.values())))


def discover_release_files(landing_dir: Path) -> list[Path]:
    """``landing_dir/releases/**/*.{csv,json,xlsx}``, sorted; hidden files and Office lock files (``~$``) left out."""
    root = landing_dir / "releases"
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() in RELEASE_EXTENSIONS and not path.name.startswith((".", "~$"))
    )


def load_releases(con: duckdb.DuckDBPyConnection, landing_dir: Path) -> LoadSummary:
    """Load the new or changed release files of ``landing_dir``; ``con`` must already have the audit tables."""
    con.execute(RELEASES_DDL)
    check_layout(con)
    summary = LoadSummary()
    for path in discover_release_files(landing_dir):
        source_file = path.relative_to(landing_dir).as_posix()
        data = path.read_bytes()
        sidecar_file = sidecar_path(path)
        sidecar_data = sidecar_file.read_bytes() if sidecar_file.is_file() else None
        sha256, sidecar_sha256 = _sha256(data), _sha256(sidecar_data) if sidecar_data is not None else None
        if sidecar_sha256 is not None and _already_loaded(con, sha256, sidecar_sha256):
            summary.files_skipped += 1
            continue
        attempt = LoadAttempt(source_file=source_file, sha256=sha256)
        _load_file(con, attempt, data, sidecar_data, sidecar_sha256)
        summary.attempts.append(attempt)
    return summary


def _load_file(
    con: duckdb.DuckDBPyConnection,
    attempt: LoadAttempt,
    data: bytes,
    sidecar_data: bytes | None,
    sidecar_sha256: str | None,
) -> None:
    """Load one file in one transaction, or roll it back and record the failure."""
    source_file = attempt.source_file
    with file_transaction(con, attempt, _describe_failure(source_file)):
        if sidecar_data is None or sidecar_sha256 is None:
            raise ReleaseFileError(source_file, f"no sidecar {Path(source_file).name}.meta.yml next to the file")
        sidecar = parse_sidecar(sidecar_data, f"{source_file}.meta.yml")
        attempt.format, attempt.release_date = sidecar.format, sidecar.release_date
        extension = Path(source_file).suffix.lower()
        if extension != FORMAT_EXTENSIONS[sidecar.format]:
            raise ReleaseFileError(
                source_file, f"the sidecar says format {sidecar.format}, whose files are {FORMAT_EXTENSIONS[sidecar.format]}, not {extension}"
            )
        parsed = PARSERS[sidecar.format](data, source_file, sidecar)
        _insert_release_file(con, attempt, sidecar, sidecar_sha256, parsed)
        _insert_records(con, attempt.load_id, parsed.observations)
        attempt.rows_loaded = len(parsed.observations)
    if attempt.status == "loaded":
        logger.info("loaded %s: %d records", source_file, attempt.rows_loaded)


def _describe_failure(source_file: str):
    """Every error fails the file, not the run: a parser bug on an odd file must not stop the other files."""

    def describe(error: Exception) -> str:
        if isinstance(error, ReleaseFileError):
            logger.warning("release file failed: %s", error)
            return str(error)
        logger.error("release file %s failed unexpectedly", source_file, exc_info=error)
        return f"{source_file}: unexpected {type(error).__name__}: {error}"

    return describe


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _already_loaded(con: duckdb.DuckDBPyConnection, sha256: str, sidecar_sha256: str) -> bool:
    return (
        con.execute(
            "select 1 from raw.release_files where sha256 = ? and sidecar_sha256 = ? limit 1", [sha256, sidecar_sha256]
        ).fetchone()
        is not None
    )


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
    }
    con.execute(
        f"insert into raw.release_files ({', '.join(row)}) values ({', '.join('?' for _ in row)})", list(row.values())
    )


def _insert_records(con: duckdb.DuckDBPyConnection, load_id: str, records: list[RawObservation]) -> None:
    """One Arrow batch insert of the file's records, in the parser's order (the mapping keeps the first of
    a repeated observation, so that order is part of what the file said)."""
    if not records:
        return
    batch = pa.table(
        {
            "load_id": pa.array([load_id] * len(records), pa.string()),
            "row_number": pa.array([r.row_number for r in records], pa.int64()),
            "region_raw": pa.array([r.region_raw for r in records], pa.string()),
            "indicator_raw": pa.array([r.indicator_raw for r in records], pa.string()),
            "unit_raw": pa.array([r.unit_raw for r in records], pa.string()),
            "unit_mult": pa.array([r.unit_mult for r in records], pa.string()),
            "period_raw": pa.array([r.period_raw for r in records], pa.string()),
            "value_raw": pa.array([r.value_raw for r in records], pa.string()),
            "obs_status": pa.array([r.obs_status for r in records], pa.string()),
            "note": pa.array([r.note for r in records], pa.string()),
        }
    )
    columns = ", ".join(batch.column_names)
    con.register("_release_records_batch", batch)
    try:
        con.execute(f"insert into raw.release_observations ({columns}) select {columns} from _release_records_batch")
    finally:
        con.unregister("_release_records_batch")
