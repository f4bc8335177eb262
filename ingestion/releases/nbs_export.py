"""``nbs_export``: the CSV download of the NBS data portal (data.stats.gov.cn).

GB18030 as downloaded, or UTF-8 with or without BOM after a re-save. Layout::

    数据库：分省年度数据                    database; 年度数据 / 季度数据 / 月度数据 are national
    指标：研究与试验发展(R&D)经费支出(亿元)   the fixed dimension: 指标：<indicator> or 地区：<region>
    时间：最近5年                           informational
    地区,2022年,2021年,2020年                the row dimension, then one column per period
    北京市,2843.3,2629.3,2326.6
    注：...                                 zero or more note lines
    数据来源：国家统计局                      the portal's closing line

With ``地区：`` fixed (or a national database and no fixed line) the rows are indicators
(``指标,2022年,...``) with the unit in the indicator name. Every header cell after the first must be a
period (``2022年``, ``2022A``, ``2022年第一季度``, ``2022年9月``): a column that is not one means the file
is not laid out as an export, which fails the file. Blank lines, and the empty cells a spreadsheet re-save
leaves after the last column, are ignored.

End of the table and truncation: the portal closes every export with ``数据来源：国家统计局``, but a
re-save that trims the footer, or a bureau's own export tool, may not; the footer is therefore not
required. A file cut short is caught by what a cut leaves behind: a last row with fewer fields than the
header (ragged row), a last row without a line break when no note or source line follows it, a
multi-byte character cut in half (see :mod:`ingestion.encoding`), or a header with no data rows. A
cut that falls exactly on a line break between two data rows cannot be told from a complete table
without its footer.
"""

from __future__ import annotations

import re

from core.periods import PeriodError, parse_period
from ingestion.releases.records import (
    NATIONAL_REGION,
    NOTE_LINE,
    SOURCE_LINE,
    ParsedFile,
    RawObservation,
    ReleaseFileError,
    ReleaseFormat,
    Sidecar,
)
from ingestion.releases.textfile import csv_records, decode_release

_PREAMBLE = re.compile(r"^(?P<key>数据库|指标|地区|时间)\s*[：:]\s*(?P<value>.*)$")
#: The row dimension each fixed dimension implies.
_ROW_DIMENSION = {"指标": "地区", "地区": "指标"}


def parse(data: bytes, source_file: str, origin: Sidecar | None = None) -> ParsedFile:
    """Read one export into one raw record per (row, period) cell; ``origin`` is not needed."""
    text, encoding = decode_release(data, source_file)
    lines = csv_records(text, source_file)
    preamble: dict[str, str] = {}
    header_index = None
    for index, (line_number, cells) in enumerate(lines):
        first = cells[0].strip() if cells else ""
        if match := _PREAMBLE.match(",".join(cells).strip().rstrip(",")):
            preamble[match["key"]] = match["value"].strip()
        elif first in _ROW_DIMENSION.values():
            header_index = index
            break
        elif first:
            raise ReleaseFileError(
                source_file, f"unexpected {first!r} before the header row (地区,... or 指标,...)", location=f"line {line_number}"
            )
    if header_index is None:
        raise ReleaseFileError(source_file, "no header row starting with 地区 or 指标")
    header_line, header = lines[header_index][0], _trim_trailing_empty(lines[header_index][1])
    fixed_dimension, fixed_value = _fixed_dimension(preamble, header[0].strip(), source_file, f"line {header_line}")
    periods = _periods(header, source_file, header_line)

    observations: list[RawObservation] = []
    notes: list[str] = []
    last_row = None
    for line_number, cells in lines[header_index + 1 :]:
        first = cells[0].strip() if cells else ""
        if notes or NOTE_LINE.match(first) or SOURCE_LINE.match(first):
            if first:
                notes.append(",".join(cells).strip().rstrip(","))
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            cells = _trim_trailing_empty(cells)
        if len(cells) != len(header):
            raise ReleaseFileError(
                source_file, f"{len(cells)} fields, the header has {len(header)} (ragged or truncated row)", location=f"line {line_number}"
            )
        last_row = line_number
        label = cells[0].strip()
        region, indicator = (label, fixed_value) if fixed_dimension == "指标" else (fixed_value, label)
        for period, value in zip(periods, cells[1:], strict=True):
            observations.append(RawObservation(line_number, region, indicator, None, period, value))
    if last_row is None:
        raise ReleaseFileError(source_file, "no data rows after the header row (truncated?)", location=f"line {header_line}")
    if not notes and not _ends_with_line_break(text):
        raise ReleaseFileError(
            source_file, "truncated: the last row ends without a line break and no 注/数据来源 line follows the table",
            location=f"line {last_row}",
        )
    return ParsedFile(observations, encoding, notes)


#: The format this module parses, as the registry (:mod:`ingestion.releases.formats`) lists it.
FORMAT = ReleaseFormat("nbs_export", (".csv",), parse)


def _fixed_dimension(preamble: dict[str, str], row_dimension: str, source_file: str, header_at: str) -> tuple[str, str]:
    """The fixed dimension and its value; a national database without one is fixed on the nation."""
    fixed = [key for key in ("指标", "地区") if key in preamble]
    if len(fixed) > 1:
        raise ReleaseFileError(source_file, "both 指标： and 地区： are fixed; expected one of them", location=header_at)
    if fixed:
        key = fixed[0]
        if not preamble[key]:
            raise ReleaseFileError(source_file, f"the fixed dimension line {key}： has no value", location=header_at)
        if _ROW_DIMENSION[key] != row_dimension:
            raise ReleaseFileError(
                source_file, f"with {key}： fixed the header row must start with {_ROW_DIMENSION[key]}, not {row_dimension}",
                location=header_at,
            )
        return key, preamble[key]
    database = preamble.get("数据库", "")
    if row_dimension == "指标" and database and not database.startswith("分省"):
        return "地区", NATIONAL_REGION
    raise ReleaseFileError(
        source_file, "no fixed dimension line (指标：<indicator> or 地区：<region>) before the header", location=header_at
    )


def _periods(header: list[str], source_file: str, header_line: int) -> list[str]:
    """The header's period labels, as written; each must be a period."""
    periods = [cell.strip() for cell in header[1:]]
    if not periods or "" in periods:
        raise ReleaseFileError(source_file, "the header row needs one non-empty period per column", location=f"line {header_line}")
    for column, label in enumerate(periods, start=2):
        try:
            parse_period(label)
        except PeriodError as error:
            raise ReleaseFileError(source_file, f"header column {column}: {error}", location=f"line {header_line}") from None
    return periods


def _trim_trailing_empty(cells: list[str]) -> list[str]:
    """Without the empty cells a spreadsheet re-save leaves after the last column."""
    end = len(cells)
    while end > 1 and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def _ends_with_line_break(text: str) -> bool:
    """Whether the text's last line is complete: a ``\\n``, or a ``\\r`` in a file of bare ``\\r`` line ends."""
    return text.endswith("\n") or (text.endswith("\r") and "\r\n" not in text)
