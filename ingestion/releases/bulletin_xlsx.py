"""``bulletin_xlsx``: a statistical communiqué table typed into Excel (first sheet).

Layout, top to bottom (blank spacer rows anywhere are skipped; a merged title keeps its text in the
first cell)::

    2022年重庆市科技创新主要指标                 title (one or more rows)
    单位：亿元                                   optional unit row: the default unit of every value
    指标 | 2021年 | 2022年 ...                   header: 指标 or 地区 (spaces ignored: 指  标), then columns
    研究与试验发展(R&D)经费支出(亿元) | 603.8 ...   data rows (an optional 单位 column gives each row's unit)
    注：...                                      note rows (注/说明/备注/数据来源), to the end

A table holds one dimension fixed, neither its rows nor its columns, and names it in its title:

======================  =============================  ==============================================
rows                    columns                        fixed, from the title
======================  =============================  ==============================================
指标                     periods (2022年, 2022年第一季度)  the region (2022年重庆市科技创新主要指标)
指标                     绝对数 / 数值 / 总量 / 本年         the region and the whole year (2022年)
指标                     regions (重庆市 | 四川省)         the whole year
地区                     periods                         the indicator (2022年各区县研究与试验发展(R&D)经费支出)
地区                     indicators (地区生产总值(亿元))    the whole year
======================  =============================  ==============================================

A column heading that names a year is a period column; in a 指标-rows table, any other heading is read as
a region, so a measure such as ``比上年增长(%)`` reaches the mapping as an unknown region and is quarantined
with that reason rather than dropped.

The parser reads the layout only: a record leaves the fixed dimension empty (``None``) and the file's
``table_title`` keeps the title text. Finding which region, indicator or year a title names takes the
aliases of the seeds, so the mapping step does it on every run
(:class:`ingestion.releases.harmonize.TableTitles`): an alias fixed in the seeds applies to the tables
loaded before, and a title that names none, or several, quarantines the values that needed it.

Units: ``%`` for a number shown in a percent format, else the row's 单位 cell, else the unit row
(``单位：亿元``, also inside a title row); without these the mapping takes a unit in parentheses in the title
(``...经费支出（亿元）``), and a unit in an indicator's own name wins over all of them.

Numbers are taken as displayed: a cell formatted ``0.00`` holding 2.4 is published as ``2.40`` (its
decimals matter for reconciliation), a General-format 5109.0 as ``5109``; a percent format shows the
value times 100. A date cell formatted as a month (``yyyy"年"m"月"``, what Excel makes of a typed
``2022年9月``) reads as ``2022年9月``.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.periods import YEAR_IN_TEXT
from ingestion.releases.records import (
    NOTE_LINE,
    SOURCE_LINE,
    ParsedFile,
    RawObservation,
    ReleaseFileError,
    ReleaseFormat,
    Sidecar,
)
from ingestion.values import number_text

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell

_UNIT_IN_TEXT = re.compile(r"(?:计量)?单位\s*[：:]\s*(?P<unit>[^\s()（）,，;；]+)")
_UNIT_COLUMN = {"单位", "计量单位"}
#: A fixed-decimals number format ("0", "0.00", "#,##0.0", "0.0%"); others fall back to the shortest repr.
_FIXED_FORMAT = re.compile(r"^[#,]*0(?:\.(?P<zeros>0+))?(?P<percent>%?)$")
_ROW_DIMENSIONS = ("指标", "地区")
#: Value columns of a 指标-rows table that hold the figures of the year its title names.
_TITLE_YEAR_HEADINGS = {"绝对数", "绝对值", "数值", "数量", "总量", "本年", "全年"}


@dataclass
class _Row:
    number: int  # 1-based sheet row
    texts: list[str | None]  # the cells as displayed, from the table's first column on
    percent: set[int] = field(default_factory=set)  # the columns whose number is shown in a percent format


@dataclass(frozen=True)
class _Column:
    """What a value column gives; the row label gives the indicator or the region, the titles the rest."""

    index: int
    period: str | None = None
    region: str | None = None
    indicator: str | None = None


def parse(data: bytes, source_file: str, origin: Sidecar | None = None) -> ParsedFile:
    """Read the first sheet of one workbook into one raw record per data cell.

    The dimension the table holds fixed stays empty in its records; ``table_title`` keeps the title that
    names it (``origin``, the sidecar, is not needed: the mapping reads it from ``raw.release_files``).
    """
    rows = _sheet_rows(data, source_file)
    header_at = next((i for i, row in enumerate(rows) if _compact(row.texts[0]) in _ROW_DIMENSIONS), None)
    if header_at is None:
        raise ReleaseFileError(source_file, "no header row whose first cell is 指标 or 地区", location="sheet 1")
    title, table_unit = _title_and_unit(rows[:header_at])
    header_row = rows[header_at]
    header = _header(header_row, source_file)
    row_dimension = _compact(header[0])
    unit_column = next((i for i, h in enumerate(header) if _compact(h) in _UNIT_COLUMN), None)
    measures = [(i, h) for i, h in enumerate(header) if i > 0 and i != unit_column]
    if not measures:
        raise ReleaseFileError(source_file, "the header row has no value columns", location=f"row {header_row.number}")
    columns = [_column(row_dimension, index, heading) for index, heading in measures]

    observations: list[RawObservation] = []
    notes: list[str] = []
    for row in rows[header_at + 1 :]:
        first = (row.texts[0] or "").strip()
        if notes or NOTE_LINE.match(first) or SOURCE_LINE.match(first):
            notes.append(" ".join(t.strip() for t in row.texts if t and t.strip()))
            continue
        extra = [i for i in range(len(header), len(row.texts)) if row.texts[i]]
        if extra:
            raise ReleaseFileError(source_file, "a value in a column without header", location=f"row {row.number}")
        row_unit = _cell(row, unit_column) or table_unit
        for column in columns:
            region, indicator = (column.region, first) if row_dimension == "指标" else (first, column.indicator)
            unit = "%" if column.index in row.percent else row_unit
            observations.append(RawObservation(row.number, region, indicator, unit, column.period, _cell(row, column.index)))
    return ParsedFile(observations, None, notes, table_title=title)


#: The format this module parses, as the registry (:mod:`ingestion.releases.formats`) lists it.
FORMAT = ReleaseFormat("bulletin_xlsx", (".xlsx",), parse)


def _compact(text: str | None) -> str:
    """A heading without the spaces tables use to align it (``指  标``)."""
    return "".join((text or "").split())


def _cell(row: _Row, index: int | None) -> str | None:
    if index is None or index >= len(row.texts):
        return None
    text = row.texts[index]
    return text if text is None or text.strip() else None


def _title_and_unit(rows: list[_Row]) -> tuple[str, str | None]:
    """The title text above the header, and the unit a ``单位：`` row (or title cell) gives."""
    titles: list[str] = []
    unit = None
    for row in rows:
        for text in filter(None, (t.strip() if t else None for t in row.texts)):
            if match := _UNIT_IN_TEXT.search(text):
                unit = match["unit"]
                text = (text[: match.start()] + text[match.end() :]).strip()
            if text:
                titles.append(text)
    return " ".join(titles), unit


def _column(row_dimension: str, index: int, heading: str) -> _Column:
    """What the value column under ``heading`` gives (see the module docstring's table)."""
    if YEAR_IN_TEXT.search(heading):
        return _Column(index, period=heading)
    if row_dimension == "地区":
        return _Column(index, indicator=heading)
    if _compact(heading) in _TITLE_YEAR_HEADINGS:
        return _Column(index)
    return _Column(index, region=heading)


def _sheet_rows(data: bytes, source_file: str) -> list[_Row]:
    """The non-blank rows of the first sheet, cut to start at the table's first column."""
    import openpyxl  # here, not at start-up: most runs read no workbook (0.14 s)
    from openpyxl.utils.exceptions import InvalidFileException

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
            rows.append(_Row(cells[0].row, texts, {i for i, cell in enumerate(cells) if _shows_percent(cell)}))
    if not rows:
        raise ReleaseFileError(source_file, "the first sheet is empty", location="sheet 1")
    start = min(next(i for i, t in enumerate(row.texts) if t and t.strip()) for row in rows)
    for row in rows:
        row.texts, row.percent = row.texts[start:], {i - start for i in row.percent}
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
        return _date_text(value, cell.number_format)
    if isinstance(value, int | float):
        fixed = _FIXED_FORMAT.match(_format_section(cell.number_format))
        if fixed is None:  # General and the like: an integral float shows without decimals
            return number_text(int(value) if isinstance(value, float) and value.is_integer() else value)
        number = Decimal(number_text(value))
        return number_text(number * 100 if fixed["percent"] else number, len(fixed["zeros"] or ""))
    raise ReleaseFileError(
        source_file, f"cell {cell.coordinate} holds {type(value).__name__}", location=f"row {cell.row}"
    )


def _shows_percent(cell: Cell) -> bool:
    number = isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
    return number and "%" in _format_section(cell.number_format)


def _date_text(value: date, number_format: str) -> str:
    """A date cell formatted as a month or a year reads as that period (``2022年9月``); others in ISO form."""
    tokens = _format_section(number_format).lower()
    if not any(token in tokens for token in "dhs"):
        if "m" in tokens:
            return f"{value.year}年{value.month}月"
        if "y" in tokens:
            return f"{value.year}年"
    return value.isoformat()


def _format_section(number_format: str) -> str:
    """The positive-number section of an Excel number format, without colours, locales and literals."""
    section = number_format.split(";")[0]
    section = re.sub(r"\[[^\]]*\]|\"[^\"]*\"|\\.|_.|\*.", "", section)
    return section.strip()


def _header(row: _Row, source_file: str) -> list[str]:
    header = [(text or "").strip() for text in row.texts]
    if "" in header:
        from openpyxl.utils import get_column_letter  # loaded with the workbook (_sheet_rows)

        column = get_column_letter(header.index("") + 1)
        raise ReleaseFileError(source_file, f"an empty header cell (table column {column})", location=f"row {row.number}")
    return header
