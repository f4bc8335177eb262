"""``nbs_export``: the CSV download of the NBS data portal (data.stats.gov.cn).

GB18030 as downloaded, or UTF-8 with or without BOM after a re-save. Layout::

    数据库：分省年度数据                    database; 年度数据 / 季度数据 / 月度数据 are national
    指标：研究与试验发展(R&D)经费支出(亿元)   the fixed dimension: 指标：<indicator> or 地区：<region>
    时间：最近5年                           informational
    地区,2022年,2021年,2020年                the row dimension, then one column per period
    北京市,2843.3,2629.3,2326.6
    注：...                                 zero or more note lines
    数据来源：国家统计局                      the closing line; without it the file is truncated

With ``地区：`` fixed (or a national database and no fixed line) the rows are indicators
(``指标,2022年,...``) with the unit in the indicator name.
"""

from __future__ import annotations

import re

from ingestion.releases.records import ParsedFile, RawObservation, ReleaseFileError
from ingestion.releases.textfile import csv_records, decode_release

_PREAMBLE = re.compile(r"^(?P<key>数据库|指标|地区|时间)\s*[：:]\s*(?P<value>.*)$")
_NOTE = re.compile(r"^注\s*\d*\s*[：:]")
_SOURCE = re.compile(r"^(?:数据|资料)来源\s*[：:]")
#: The row dimension each fixed dimension implies.
_ROW_DIMENSION = {"指标": "地区", "地区": "指标"}
NATIONAL = "全国"


def parse(data: bytes, source_file: str) -> ParsedFile:
    """Read one export into one raw record per (row, period) cell."""
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
    fixed_dimension, fixed_value = _fixed_dimension(preamble, header[0].strip(), source_file)
    periods = [cell.strip() for cell in header[1:]]
    if not periods or "" in periods:
        raise ReleaseFileError(source_file, "the header row needs one non-empty period per column", location=f"line {header_line}")

    observations: list[RawObservation] = []
    notes: list[str] = []
    closed = False
    for line_number, cells in lines[header_index + 1 :]:
        first = cells[0].strip() if cells else ""
        if notes or _NOTE.match(first) or _SOURCE.match(first):
            if first:
                notes.append(",".join(cells).strip().rstrip(","))
            closed = closed or bool(_SOURCE.match(first))
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            cells = _trim_trailing_empty(cells)
        if len(cells) != len(header):
            raise ReleaseFileError(
                source_file, f"{len(cells)} fields, the header has {len(header)} (ragged or truncated row)", location=f"line {line_number}"
            )
        label = cells[0].strip()
        region, indicator = (label, fixed_value) if fixed_dimension == "指标" else (fixed_value, label)
        for period, value in zip(periods, cells[1:], strict=True):
            observations.append(RawObservation(line_number, region, indicator, None, period, value))
    if not closed:
        raise ReleaseFileError(source_file, "truncated: no closing 数据来源 line after the table")
    return ParsedFile(observations, encoding, notes)


def _fixed_dimension(preamble: dict[str, str], row_dimension: str, source_file: str) -> tuple[str, str]:
    """The fixed dimension and its value; a national database without one is fixed on the nation."""
    fixed = [key for key in ("指标", "地区") if key in preamble]
    if len(fixed) > 1:
        raise ReleaseFileError(source_file, "both 指标： and 地区： are fixed; expected one of them")
    if fixed:
        key = fixed[0]
        if not preamble[key]:
            raise ReleaseFileError(source_file, f"the fixed dimension line {key}： has no value")
        if _ROW_DIMENSION[key] != row_dimension:
            raise ReleaseFileError(
                source_file, f"with {key}： fixed the header row must start with {_ROW_DIMENSION[key]}, not {row_dimension}"
            )
        return key, preamble[key]
    database = preamble.get("数据库", "")
    if row_dimension == "指标" and database and not database.startswith("分省"):
        return "地区", NATIONAL
    raise ReleaseFileError(source_file, "no fixed dimension line (指标：<indicator> or 地区：<region>) before the header")


def _trim_trailing_empty(cells: list[str]) -> list[str]:
    """Without the empty cells a spreadsheet re-save leaves after the last column."""
    end = len(cells)
    while end > 1 and not cells[end - 1].strip():
        end -= 1
    return cells[:end]
