"""The release tables (``ingestion/releases/tables.py``) hold the records the parsers and the mapping make:
a column for each field. (What every declared table promises, DDL, dbt sources and suites, is
``tests/test_tables.py``'s.)"""

from __future__ import annotations

from dataclasses import fields

from ingestion.releases.harmonize import Observation
from ingestion.releases.records import RawObservation
from ingestion.releases.tables import MAPPED_RELEASE_OBSERVATIONS, RELEASE_OBSERVATIONS


def test_a_raw_record_is_a_row_of_raw_release_observations():
    assert RELEASE_OBSERVATIONS.column_names[0] == "load_id"
    assert sorted(RELEASE_OBSERVATIONS.column_names[1:]) == sorted(f.name for f in fields(RawObservation))


def test_every_mapped_column_comes_from_the_mapping_or_the_raw_record():
    known = {"load_id"} | {f.name for f in fields(Observation)} | {f.name for f in fields(RawObservation)}
    assert [c for c in MAPPED_RELEASE_OBSERVATIONS.column_names if c not in known] == []
