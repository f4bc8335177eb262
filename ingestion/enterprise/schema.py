"""The canonical schema of an SOE submission (format 5) and how the headers of a file map onto it.

The mapping is data: ``columns.csv`` next to this module lists every canonical column with its Chinese
template header, its English bulk-extract header, its kind (which rules apply) and its unit, and
``flag_spellings.csv`` lists the accepted spellings of yes/no answers.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent

#: Kinds of column, each with its own parsing and rules (see ``validation.py``).
KINDS = ("uscc", "text", "industry", "district", "period", "amount", "count", "flag")

#: How many leading rows may precede the header row (title, unit or blank rows).
MAX_HEADER_ROW = 20


class FileStructureError(ValueError):
    """A file that cannot be used as a whole: unreadable, or without the columns of format 5."""


@dataclass(frozen=True)
class Column:
    name: str  # canonical (English) name
    header_zh: str  # header in the XLSX reporting template
    header_en: str  # header in the CSV/Parquet bulk extracts
    kind: str
    unit: str
    description: str

    @property
    def is_measure(self) -> bool:
        return self.kind in ("amount", "count")


@cache
def columns() -> tuple[Column, ...]:
    """Every canonical column, in template order. All of them are required in every file."""
    with open(_HERE / "columns.csv", encoding="utf-8", newline="") as handle:
        result = tuple(Column(**row) for row in csv.DictReader(handle))
    unknown = {c.kind for c in result} - set(KINDS)
    if unknown:
        raise ValueError(f"columns.csv: unknown kinds {sorted(unknown)}")
    return result


def column(name: str) -> Column:
    return next(c for c in columns() if c.name == name)


@cache
def flag_spellings() -> dict[str, bool]:
    """Accepted yes/no spellings, lower-cased, to their boolean value."""
    with open(_HERE / "flag_spellings.csv", encoding="utf-8", newline="") as handle:
        return {row["spelling"].strip().lower(): row["value"] == "true" for row in csv.DictReader(handle)}


def normalize_header(text: object) -> str:
    """Header text compared loosely: NFKC (full-width brackets), no whitespace, lower case."""
    if text is None:
        return ""
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).lower()


@cache
def _header_index() -> dict[str, Column]:
    index: dict[str, Column] = {}
    for col in columns():
        for header in (col.header_zh, col.header_en, col.name):
            index[normalize_header(header)] = col
    return index


@dataclass(frozen=True)
class HeaderMatch:
    """Where each canonical column sits in a file: ``positions[name]`` is the 0-based cell index."""

    row_index: int  # 0-based index of the header row among the rows examined
    positions: dict[str, int]
    headers: tuple[str, ...]  # the header cells as written (for the raw record of quarantined rows)
    language: str  # zh | en: which set of headers the file uses (the majority)

    @property
    def missing(self) -> list[Column]:
        return [c for c in columns() if c.name not in self.positions]


def match_header_row(cells: Sequence[object], row_index: int = 0) -> HeaderMatch:
    """Map one header row onto the canonical columns; unknown headers are ignored.

    Raises :class:`FileStructureError` when two cells map to the same column.
    """
    index = _header_index()
    positions: dict[str, int] = {}
    zh = en = 0
    for position, cell in enumerate(cells):
        col = index.get(normalize_header(cell))
        if col is None:
            continue
        if col.name in positions:
            raise FileStructureError(
                f"column {col.name} appears twice in the header (cells {positions[col.name] + 1} and {position + 1})"
            )
        positions[col.name] = position
        if normalize_header(cell) == normalize_header(col.header_zh):
            zh += 1
        else:
            en += 1
    headers = tuple("" if c is None else str(c).strip() for c in cells)
    return HeaderMatch(row_index, positions, headers, "zh" if zh >= en else "en")


def find_header_row(rows: Iterable[Sequence[object]]) -> HeaderMatch:
    """The header among the first rows: the first row naming at least half of the canonical columns.

    Raises :class:`FileStructureError` naming the missing columns when no row qualifies.
    """
    best: HeaderMatch | None = None
    threshold = (len(columns()) + 1) // 2
    for row_index, cells in enumerate(rows):
        if row_index >= MAX_HEADER_ROW:
            break
        match = match_header_row(cells, row_index)
        if len(match.positions) >= threshold:
            return match
        if best is None or len(match.positions) > len(best.positions):
            best = match
    found = f"; the best candidate, row {best.row_index + 1}, names {len(best.positions)}" if best else ""
    raise FileStructureError(
        f"no header row with the format 5 columns in the first {MAX_HEADER_ROW} rows{found}"
    )


def require_all_columns(match: HeaderMatch) -> None:
    """Every canonical column must be present; raises :class:`FileStructureError` naming the missing ones."""
    missing = match.missing
    if missing:
        names = ", ".join(f"{c.header_zh} / {c.name}" for c in missing)
        raise FileStructureError(f"missing required column(s): {names}")
