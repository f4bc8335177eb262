"""Opening the three shapes of format 5 as one DuckDB view ``_src`` (:mod:`ingestion.tabular`, with the
layout of format 5): ``_row`` (the 1-based line or row of the file) plus every canonical column under its
canonical name, as the file typed it.

- XLSX reporting template: sheet ``企业科技创新情况``, a title (and possibly blank or unit) rows above the
  Chinese header; ``_row`` is the Excel row number.
- CSV bulk extract: UTF-8, UTF-8 with BOM or GB18030, Chinese or English headers; ``_row`` is the line number.
- Parquet bulk extract: English (or Chinese) headers, typed columns; ``_row`` is the 1-based record number.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ingestion import tabular
from ingestion.enterprise import schema
from ingestion.tabular import OpenedFile

__all__ = ["FORMATS", "TEMPLATE_SHEET", "OpenedFile", "open_source"]

TEMPLATE_SHEET = schema.TEMPLATE_SHEET
FORMATS = schema.FORMATS


@contextmanager
def open_source(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[OpenedFile]:
    """Register ``path`` as the temporary view ``_src`` (see :func:`ingestion.tabular.open_source`).

    Raises :class:`FileStructureError` when the file cannot be read or lacks a required column.
    """
    with tabular.open_source(con, path, schema.layout()) as opened:
        yield opened
