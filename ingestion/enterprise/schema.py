"""The canonical schema of an SOE submission (format 5) and how the headers of a file map onto it.

The mapping is data: ``columns.csv`` next to this module lists every canonical column with its Chinese
template header, its English bulk-extract header, its kind (which rules apply) and its unit, and
``flag_spellings.csv`` lists the accepted spellings of yes/no answers. Matching a file's header row onto
the columns is :mod:`ingestion.tabular`'s, shared with the registers (format 6).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ingestion.tabular import (  # noqa: F401 (re-exported)
    MAX_HEADER_ROW,
    FileStructureError,
    HeaderMatch,
    Layout,
    normalize_header,
)

_HERE = Path(__file__).resolve().parent

#: Kinds of column, each with its own parsing and rules (see ``validation.py``).
KINDS = ("uscc", "text", "industry", "district", "period", "amount", "count", "flag")

TEMPLATE_SHEET = "企业科技创新情况"
FORMATS = {".xlsx": "enterprise_xlsx", ".csv": "enterprise_csv", ".parquet": "enterprise_parquet"}


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


@cache
def layout() -> Layout:
    """Format 5 as :mod:`ingestion.tabular` reads it: every column required."""
    return Layout(label="format 5", columns=columns(), sheet=TEMPLATE_SHEET, formats=FORMATS)


def match_header_row(cells: Sequence[object], row_index: int = 0) -> HeaderMatch:
    """Map one header row onto the canonical columns; unknown headers are ignored."""
    return layout().match_header_row(cells, row_index)


def find_header_row(rows: Iterable[Sequence[object]]) -> HeaderMatch:
    """The header among the first rows: the first row naming at least half of the canonical columns."""
    return layout().find_header_row(rows)


def require_all_columns(match: HeaderMatch) -> None:
    """Every canonical column must be present; raises :class:`FileStructureError` naming the missing ones."""
    layout().require_columns(match)
