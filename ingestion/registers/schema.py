"""The canonical columns of a register (format 6), read from ``columns.csv`` next to this module, and the
layout :mod:`ingestion.tabular` reads files with (template sheet ``认定与成果登记``; xlsx and csv)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ingestion.tabular import Layout

_HERE = Path(__file__).resolve().parent

#: Kinds of column: ``id`` (record_id), ``uscc``, ``text``, ``kind`` (checked against the seed by the
#: mapping step), ``date``.
KINDS = ("id", "uscc", "text", "kind", "date")
TEMPLATE_SHEET = "认定与成果登记"
FORMATS = {".xlsx": "register_xlsx", ".csv": "register_csv"}


@dataclass(frozen=True)
class Column:
    name: str  # canonical (English) name
    header_zh: str  # header in the XLSX template
    header_en: str  # header in the CSV extracts
    kind: str
    required: bool  # a file without the column fails; an optional column absent from a file is empty
    description: str


@cache
def columns() -> tuple[Column, ...]:
    """Every canonical column, in template order."""
    with open(_HERE / "columns.csv", encoding="utf-8", newline="") as handle:
        result = tuple(Column(**{**row, "required": row["required"] == "true"}) for row in csv.DictReader(handle))
    unknown = {c.kind for c in result} - set(KINDS)
    if unknown:
        raise ValueError(f"columns.csv: unknown kinds {sorted(unknown)}")
    return result


@cache
def layout() -> Layout:
    return Layout(
        label="format 6",
        columns=columns(),
        sheet=TEMPLATE_SHEET,
        formats=FORMATS,
        optional=frozenset(c.name for c in columns() if not c.required),
    )
