"""``sdmx_csv``: SDMX-CSV 1.0, one observation per row.

``DATAFLOW,FREQ,REF_AREA,INDICATOR,UNIT_MEASURE,UNIT_MULT,TIME_PERIOD,OBS_VALUE,OBS_STATUS,COMMENT``:
``INDICATOR`` holds canonical codes, ``UNIT_MULT`` a power of ten (8 = 100 million), ``OBS_STATUS``
A (normal), P (provisional), E (estimated), B (break), ``TIME_PERIOD`` 2022, 2022-Q3 or 2022-09.
Columns may come in any order; FREQ, UNIT_MULT, OBS_STATUS and COMMENT may be absent.
"""

from __future__ import annotations

from ingestion.releases.records import ParsedFile, RawObservation, ReleaseFileError
from ingestion.releases.textfile import csv_records, decode_release

REQUIRED_COLUMNS = ("DATAFLOW", "REF_AREA", "INDICATOR", "UNIT_MEASURE", "TIME_PERIOD", "OBS_VALUE")


def parse(data: bytes, source_file: str) -> ParsedFile:
    """Read one SDMX-CSV file into one raw record per row."""
    text, encoding = decode_release(data, source_file)
    records = [(line, cells) for line, cells in csv_records(text, source_file) if any(c.strip() for c in cells)]
    if not records:
        raise ReleaseFileError(source_file, "empty file: no SDMX-CSV header row")
    header_line, header = records[0]
    columns = [cell.strip().upper() for cell in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ReleaseFileError(
            source_file, f"header lacks {', '.join(missing)}; expected SDMX-CSV columns {','.join(REQUIRED_COLUMNS)},...",
            location=f"line {header_line}",
        )
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise ReleaseFileError(source_file, f"duplicated column(s) {', '.join(duplicated)}", location=f"line {header_line}")

    observations = []
    for line, cells in records[1:]:
        if len(cells) != len(columns):
            raise ReleaseFileError(
                source_file, f"{len(cells)} fields, the header has {len(columns)} (ragged or truncated row)", location=f"line {line}"
            )
        row = dict(zip(columns, cells, strict=True))
        observations.append(
            RawObservation(
                row_number=line,
                region_raw=row["REF_AREA"],
                indicator_raw=row["INDICATOR"],
                unit_raw=row["UNIT_MEASURE"],
                period_raw=row["TIME_PERIOD"],
                value_raw=row["OBS_VALUE"],
                obs_status=row.get("OBS_STATUS", "").strip() or None,
                note=row.get("COMMENT", "").strip() or None,
                unit_mult=row.get("UNIT_MULT", "").strip() or None,
            )
        )
    return ParsedFile(observations, encoding)
