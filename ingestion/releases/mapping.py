"""Rebuild ``mapped.release_observations`` from the raw records and the current seeds, on every run.

The rules are :func:`ingestion.releases.harmonize.harmonize`, applied to each load's records in the order
the parser gave them (so "a repeated observation keeps the first" still means first in the file). Every
load in ``raw.release_observations`` is mapped, withdrawn ones too (their vintages stay in the history);
the ``mapping`` rows of ``audit.quarantine`` are written for the current loads only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import fields
from datetime import datetime
from pathlib import Path

import duckdb

from core import settings
from ingestion.audit import QuarantinedRow, insert_quarantine
from ingestion.mapping import MappingSummary, rebuild
from ingestion.releases.harmonize import Observation, TableTitles, harmonize, load_reference
from ingestion.releases.records import RawObservation
from ingestion.releases.tables import MAPPED_RELEASE_OBSERVATIONS, MAPPED_RELEASES_DDL, RELEASES_DDL, check_layout

logger = logging.getLogger(__name__)

#: The raw columns in the order of RawObservation's fields.
_RECORD_COLUMNS = ", ".join(f.name for f in fields(RawObservation))


def map_releases(con: duckdb.DuckDBPyConnection, seeds_dir: Path = settings.SEEDS_DIR) -> MappingSummary:
    """Map every raw release record with the seeds of ``seeds_dir`` (read afresh), in one transaction."""
    con.execute(RELEASES_DDL)
    con.execute(MAPPED_RELEASES_DDL)
    check_layout(con)
    reference = load_reference(seeds_dir)
    records: dict[str, list[RawObservation]] = defaultdict(list)
    # rowid: the insertion order, i.e. the parser's order (raw rows are never updated)
    for load_id, *values in con.execute(f"select load_id, {_RECORD_COLUMNS} from raw.release_observations order by rowid").fetchall():
        records[load_id].append(RawObservation(*values))
    current = {load_id for (load_id,) in con.execute(f"select load_id from audit.current_loads").fetchall()}
    source_files: dict[str, str] = {}
    titles: dict[str, TableTitles] = {}
    for load_id, source_file, table_title, sidecar_title, publisher in con.execute(
        "select load_id, source_file, table_title, title, publisher from raw.release_files"
    ).fetchall():
        source_files[load_id] = source_file
        if table_title is not None:
            titles[load_id] = TableTitles(table_title, sidecar_title, publisher)

    summary = MappingSummary()
    observations: list[tuple[str, Observation]] = []
    quarantined: list[tuple[str, str, QuarantinedRow]] = []
    for load_id, load_records in records.items():
        result = harmonize(load_records, reference, titles.get(load_id))
        observations.extend((load_id, o) for o in result.observations)
        if load_id in current:
            quarantined.extend((load_id, source_files[load_id], row) for row in result.quarantined)
    with rebuild(con):
        con.execute("delete from mapped.release_observations")
        _insert_observations(con, observations)
        con.execute(
            "delete from audit.quarantine where stage = 'mapping' and load_id in (select load_id from raw.release_files)"
        )
        insert_quarantine(con, quarantined, "mapping", datetime.now())
    summary.rows_mapped = len(observations)
    summary.rows_quarantined = len(quarantined)
    summary.reasons.update(row.reason for _, _, row in quarantined)
    logger.info("mapped %d release observations, %d quarantined", summary.rows_mapped, summary.rows_quarantined)
    return summary


def _insert_observations(con: duckdb.DuckDBPyConnection, observations: list[tuple[str, Observation]]) -> None:
    """One batch insert of every mapped observation: each column from the :class:`Observation`, else
    from the record as received (``note`` is the mapping's: the record's note and footnote marks)."""
    if not observations:
        return
    mapped_fields = {f.name for f in fields(Observation)}

    def column(name: str) -> list[object]:
        if name == "load_id":
            return [load_id for load_id, _ in observations]
        if name in mapped_fields:
            return [getattr(o, name) for _, o in observations]
        return [getattr(o.raw, name) for _, o in observations]

    MAPPED_RELEASE_OBSERVATIONS.insert(con, {name: column(name) for name in MAPPED_RELEASE_OBSERVATIONS.column_names})
