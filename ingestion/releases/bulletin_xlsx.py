"""``bulletin_xlsx``: a statistical communiqué table typed into Excel (first sheet).

Layout, top to bottom (blank spacer rows anywhere are skipped; a merged title keeps its text in the
first cell)::

    2022年重庆市科技创新主要指标                 title (one or more rows)
    单位：亿元                                   optional unit row: the default unit of every value
    指标 | 2018年 | 2019年 ...                   header: 指标 rows x period columns, the region from the title
    研究与试验发展(R&D)经费支出(亿元) | 526.8 ...   (an optional 单位 column gives each row's unit)
    注：...                                      note rows, to the end

or a header ``地区 | 地区生产总值(亿元) | ...``: region rows x indicator columns, the year from the title.

Numbers are taken as displayed: a cell formatted ``0.00`` holding 2.4 is published as ``2.40`` (its
decimals matter for reconciliation); a percent format shows the value times 100.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from ingestion.releases.harmonize import load_reference
from ingestion.releases.records import ParsedFile, RawObservation, ReleaseFileError
from ingestion.values import number_text

_UNIT_ROW = re.compile(r"^(?:计量)?单位\s*[：:]\s*(?P<unit>\S.*?)\s*$")
_UNIT_COLUMN = {"单位", "计量单位"}
_NOTE = re.compile(r"^(?:注\s*\d*\s*[：:]|(?:数据|资料)来源\s*[：:])")
_YEARS = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
#: "2022年" naming the whole year, not "2022年1-9月", "2022年第三季度" or "2022年上半年".
_WHOLE_YEAR = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})年(?!\s*(?:\d{1,2}\s*(?:[-~—至到]\s*\d{1,2}\s*)?月|第?[一二三四1-4]季度|[上下]半年))")
#: A fixed-decimals number format ("0", "0.00", "#,##0.0", "0.0%"); others fall back to the shortest repr.
_FIXED_FORMAT = re.compile(r"^[#,]*0(?:\.(?P<zeros>0+))?(?P<percent>%?)$")
_ROW_DIMENSIONS = ("指标", "地区")


@dataclass
class _Row:
    number: int  # 1-based sheet row
    texts: list[str | None]  # the cells as displayed, from the table's first column on


def parse(data: bytes, source_file: str) -> ParsedFile:
    """Read the first sheet of one workbook into one raw record per data cell."""
    rows = _sheet_rows(data, source_file)
    titles: list[str] = []
    table_unit = None
    header_at = None
    for index, row in enumerate(rows):
        first = (row.texts[0] or "").strip()
        if first in _ROW_DIMENSIONS:
            header_at = index
            break
        for text in filter(None, row.texts):
            if match := _UNIT_ROW.match(text.strip()):
                table_unit = match["unit"]
            else:
                titles.append(text.strip())
    if header_at is None:
        raise ReleaseFileError(source_file, "no header row whose first cell is 指标 or 地区", location="sheet 1")
    header_row = rows[header_at]
    header = _header(header_row, source_file)
    row_dimension = header[0]
    unit_column = next((i for i, h in enumerate(header) if h in _UNIT_COLUMN), None)
    measures = [(i, h) for i, h in enumerate(header) if i > 0 and i != unit_column]
    if not measures:
        raise ReleaseFileError(source_file, "the header row has no value columns", location=f"row {header_row.number}")
    title = " ".join(titles)
    fixed = _region_from_title(title, source_file) if row_dimension == "指标" else _year_from_title(title, source_file)

    observations: list[RawObservation] = []
    notes: list[str] = []
    for row in rows[header_at + 1 :]:
        first = (row.texts[0] or "").strip()
        if notes or _NOTE.match(first):
            notes.append(" ".join(t.strip() for t in row.texts if t and t.strip()))
            continue
        extra = [i for i in range(len(header), len(row.texts)) if row.texts[i]]
        if extra:
            raise ReleaseFileError(source_file, "a value in a column without header", location=f"row {row.number}")
        unit = row.texts[unit_column] if unit_column is not None else table_unit
        for column, heading in measures:
            value = row.texts[column] if column < len(row.texts) else None
            if row_dimension == "指标":
                record = RawObservation(row.number, fixed, first, unit, heading, value)
            else:
                record = RawObservation(row.number, first, heading, unit, fixed, value)
            observations.append(record)
    return ParsedFile(observations, None, notes)


def _sheet_rows(data: bytes, source_file: str) -> list[_Row]:
    """The non-blank rows of the first sheet, cut to start at the table's first column."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not read
            workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise ReleaseFileError(source_file, f"not a readable xlsx workbook ({type(error).__name__}: {error})") from None
    sheet = workbook.worksheets[0]
    rows = []
    for cells in sheet.iter_rows():
        texts = [_display_text(cell, source_file) for cell in cells]
        if any(t and t.strip() for t in texts):
            rows.append(_Row(cells[0].row, texts))
    if not rows:
        raise ReleaseFileError(source_file, "the first sheet is empty", location="sheet 1")
    start = min(next(i for i, t in enumerate(row.texts) if t and t.strip()) for row in rows)
    for row in rows:
        row.texts = row.texts[start:]
        while row.texts and not (row.texts[-1] and row.texts[-1].strip()):
            row.texts.pop()
    return rows


def _display_text(cell: Cell, source_file: str) -> str | None:
    """A cell's value as the sheet displays it; numbers to their format's fixed decimals."""
    value: Any = cell.value
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):
        fixed = _FIXED_FORMAT.match(_format_section(cell.number_format))
        if fixed is None:
            return number_text(value)
        number = Decimal(number_text(value))
        return number_text(number * 100 if fixed["percent"] else number, len(fixed["zeros"] or ""))
    raise ReleaseFileError(
        source_file, f"cell {get_column_letter(cell.column)}{cell.row} holds {type(value).__name__}", location=f"row {cell.row}"
    )


def _format_section(number_format: str) -> str:
    """The positive-number section of an Excel number format, without colours, locales and literals."""
    section = number_format.split(";")[0]
    section = re.sub(r"\[[^\]]*\]|\"[^\"]*\"|\\.|_.|\*.", "", section)
    return section.strip()


def _header(row: _Row, source_file: str) -> list[str]:
    header = [(text or "").strip() for text in row.texts]
    if "" in header:
        column = get_column_letter(header.index("") + 1)
        raise ReleaseFileError(source_file, f"an empty header cell (table column {column})", location=f"row {row.number}")
    return header


def _region_from_title(title: str, source_file: str) -> str:
    """The one region a 指标-rows table is about, named in its title."""
    found = sorted(set(load_reference().region_names_in(title).values()))
    if len(found) != 1:
        problem = "names no known region" if not found else f"names several regions ({', '.join(found)})"
        raise ReleaseFileError(source_file, f"the title {title!r} {problem}; a table with 指标 rows needs exactly one")
    return found[0]


def _year_from_title(title: str, source_file: str) -> str:
    """The one year a 地区-rows table is about, named in its title (``2022年``)."""
    years = sorted(set(_YEARS.findall(title)))
    whole = _WHOLE_YEAR.search(title)
    if len(years) != 1 or whole is None:
        problem = f"names several years ({', '.join(years)})" if len(years) > 1 else "names no whole year (2022年)"
        raise ReleaseFileError(source_file, f"the title {title!r} {problem}; a table with 地区 rows needs exactly one")
    return whole.group()
