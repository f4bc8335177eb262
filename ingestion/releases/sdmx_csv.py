"""``sdmx_csv``: SDMX-CSV 1.0, one observation per row.

``DATAFLOW,FREQ,REF_AREA,INDICATOR,UNIT_MEASURE,UNIT_MULT,TIME_PERIOD,OBS_VALUE,OBS_STATUS,COMMENT``:
``INDICATOR`` holds canonical codes, ``UNIT_MULT`` a power of ten (8 = 100 million), ``OBS_STATUS``
A (normal), P (provisional), E (estimated), B (break), ``TIME_PERIOD`` 2022, 2022-Q3 or 2022-09.

As SDMX-CSV readers do, columns are located by header name (case-insensitive), so they may come in any
order and extra columns (``DECIMALS``, ``OBS_CONF``, SDMX-CSV 2.0's ``STRUCTURE``/``STRUCTURE_ID``/``ACTION``
in place of ``DATAFLOW``) are ignored. Required: ``REF_AREA``, ``INDICATOR``, ``UNIT_MEASURE``,
``TIME_PERIOD`` and ``OBS_VALUE``; ``FREQ``, ``UNIT_MULT``, ``OBS_STATUS`` and ``COMMENT`` may be absent.
A file written with labels (``labels=both``: headers ``REF_AREA: Reference area``, coded values
``CN-CQ: Chongqing``) is read by its IDs. An empty ``OBS_VALUE`` (or ``NaN``) is no figure. Empty cells a
re-save leaves after the last column are ignored; any other row whose field count differs from the
header's is a ragged or truncated row and fails the file.
"""

from __future__ import annotations

from ingestion.releases.records import ParsedFile, RawObservation, ReleaseFileError, ReleaseFormat, Sidecar
from ingestion.releases.textfile import csv_records, decode_release

REQUIRED_COLUMNS = ("REF_AREA", "INDICATOR", "UNIT_MEASURE", "TIME_PERIOD", "OBS_VALUE")
#: Uncoded columns: their text is never an ``ID: label`` pair.
_UNCODED = {"OBS_VALUE", "COMMENT", "TIME_PERIOD"}
_LABEL_SEPARATOR = ": "


def parse(data: bytes, source_file: str, origin: Sidecar | None = None) -> ParsedFile:
    """Read one SDMX-CSV file into one raw record per row; ``origin`` is not needed."""
    text, encoding = decode_release(data, source_file)
    records = [(line, cells) for line, cells in csv_records(text, source_file) if any(c.strip() for c in cells)]
    if not records:
        raise ReleaseFileError(source_file, "empty file: no SDMX-CSV header row")
    header_line, header = records[0]
    labelled = any(_LABEL_SEPARATOR in cell for cell in header)
    columns = [_identifier(cell) for cell in header]
    while columns and not columns[-1]:
        columns.pop()
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ReleaseFileError(
            source_file, f"header lacks {', '.join(missing)}; SDMX-CSV needs the columns {','.join(REQUIRED_COLUMNS)}",
            location=f"line {header_line}",
        )
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise ReleaseFileError(source_file, f"duplicated column(s) {', '.join(duplicated)}", location=f"line {header_line}")

    observations = []
    for line, cells in records[1:]:
        while len(cells) > len(columns) and not cells[-1].strip():
            cells = cells[:-1]
        if len(cells) != len(columns):
            raise ReleaseFileError(
                source_file, f"{len(cells)} fields, the header has {len(columns)} (ragged or truncated row)", location=f"line {line}"
            )
        row = {
            column: _identifier(cell, upper=False) if labelled and column not in _UNCODED else cell.strip()
            for column, cell in zip(columns, cells, strict=True)
        }
        observations.append(
            RawObservation(
                row_number=line,
                region_raw=row["REF_AREA"],
                indicator_raw=row["INDICATOR"],
                unit_raw=row["UNIT_MEASURE"],
                period_raw=row["TIME_PERIOD"],
                value_raw=row["OBS_VALUE"],
                obs_status=row.get("OBS_STATUS") or None,
                note=row.get("COMMENT") or None,
                unit_mult=row.get("UNIT_MULT") or None,
            )
        )
    return ParsedFile(observations, encoding)


#: The format this module parses, as the registry (:mod:`ingestion.releases.formats`) lists it.
FORMAT = ReleaseFormat("sdmx_csv", (".csv",), parse)


def _identifier(cell: str, *, upper: bool = True) -> str:
    """The ID of an ``ID: label`` cell (the whole cell when it has no label), trimmed."""
    identifier = cell.split(_LABEL_SEPARATOR, 1)[0].strip()
    return identifier.upper() if upper else identifier
