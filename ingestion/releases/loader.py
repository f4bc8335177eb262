"""Load every statistical release under ``LANDING_DIR/releases`` into ``raw`` and ``audit``.

One transaction per file: the file's origin (``raw.release_files``), its harmonized observations
(``raw.release_observations``), its quarantined rows (``audit.quarantine``) and the attempt
(``audit.load_log``) are committed together. A file-level error rolls back that file only, is logged as a
'failed' attempt and is retried on the next run. A file whose bytes and sidecar bytes were loaded before
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
from ingestion.releases.harmonize import Observation, ReferenceData, harmonize, load_reference
from ingestion.releases.records import ParsedFile, ReleaseFileError, ReleaseParser
from ingestion.releases.sidecar import Sidecar, parse_sidecar, sidecar_path
from ingestion.releases.tables import RELEASES_DDL
from ingestion.warehouse import LoadAttempt, LoadSummary, file_transaction, record_quarantine

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
    reference = load_reference()
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
        _load_file(con, attempt, data, sidecar_data, sidecar_sha256, reference)
        summary.attempts.append(attempt)
    return summary


def _load_file(
    con: duckdb.DuckDBPyConnection,
    attempt: LoadAttempt,
    data: bytes,
    sidecar_data: bytes | None,
    sidecar_sha256: str | None,
    reference: ReferenceData,
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
        harmonized = harmonize(parsed.observations, reference)
        _insert_release_file(con, attempt, sidecar, sidecar_sha256, parsed)
        _insert_observations(con, attempt.load_id, harmonized.observations)
        attempt.rows_loaded = len(harmonized.observations)
        attempt.rows_quarantined = record_quarantine(con, attempt, harmonized.quarantined)
    if attempt.status == "failed":
        return
    logger.info(
        "loaded %s: %d observations, %d quarantined, %d without figure",
        source_file, attempt.rows_loaded, attempt.rows_quarantined, harmonized.missing,
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


def _insert_observations(con: duckdb.DuckDBPyConnection, load_id: str, observations: list[Observation]) -> None:
    """One Arrow batch insert of the file's observations."""
    if not observations:
        return
    raw = [o.raw for o in observations]
    batch = pa.table(
        {
            "load_id": pa.array([load_id] * len(observations), pa.string()),
            "row_number": pa.array([r.row_number for r in raw], pa.int64()),
            "region_raw": pa.array([r.region_raw for r in raw], pa.string()),
            "indicator_raw": pa.array([r.indicator_raw for r in raw], pa.string()),
            "unit_raw": pa.array([r.unit_raw for r in raw], pa.string()),
            "period_raw": pa.array([r.period_raw for r in raw], pa.string()),
            "value_raw": pa.array([r.value_raw for r in raw], pa.string()),
            "region_code": pa.array([o.region_code for o in observations], pa.string()),
            "indicator_code": pa.array([o.indicator_code for o in observations], pa.string()),
            "period": pa.array([o.period for o in observations], pa.string()),
            "value": pa.array([o.value for o in observations], pa.float64()),
            "unit_multiplier": pa.array([o.unit_multiplier for o in observations], pa.float64()),
            "published_decimals": pa.array([o.published_decimals for o in observations], pa.int32()),
            "obs_status": pa.array([r.obs_status for r in raw], pa.string()),
            "note": pa.array([o.note for o in observations], pa.string()),
        }
    )
    columns = ", ".join(batch.column_names)
    con.register("_release_observations_batch", batch)
    try:
        con.execute(f"insert into raw.release_observations ({columns}) select {columns} from _release_observations_batch")
    finally:
        con.unregister("_release_observations_batch")
