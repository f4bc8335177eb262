"""Tables typed by people: headers in Chinese or English, and the three file shapes they arrive in.

Enterprise submissions (format 5) and recognitions registers (format 6) are both "one row per record"
tables whose columns a data file (``columns.csv``) lists with a Chinese template header and an English
bulk-extract header. A :class:`Layout` says which columns a format has (and which may be absent), the
template's sheet and the file formats it accepts; :func:`open_source` registers a file of that layout as
one DuckDB view ``_src``: ``_row`` (the 1-based line or row of the file) plus every canonical column under
its canonical name, as the file typed it.

- XLSX template: the layout's sheet, a title (and possibly blank or unit) rows above the Chinese header;
  ``_row`` is the Excel row number. Read with openpyxl (templates are small).
- CSV bulk extract: UTF-8, UTF-8 with BOM or GB18030, Chinese or English headers; ``_row`` is the line
  number (the header is line 1 unless a title precedes it). UTF-8 is read by DuckDB in place; GB18030 is
  transcoded to a temporary UTF-8 copy first, in chunks, so large files never sit in memory. DuckDB parses
  the text once, into a copy of the format's columns (as text, in file order), and ``_src`` reads that
  copy: the loaders scan the rows several times, and each scan of the text would parse it again. A file
  of up to :data:`IN_MEMORY_COPY_MAX_BYTES` is copied into a temporary DuckDB table, the fastest to scan
  while it fits in memory; a larger one into a Parquet file in a scratch folder next to the database
  (:func:`core.warehouse.scratch_folder`), whose scans read compressed, dictionary-encoded strings: a
  table of ten million rows spilled to disk beyond the load's memory limit, and every scan read the spill
  back (``bench/RESULTS.md``, eighteenth session). The copy is dropped when the file is closed.
- Parquet bulk extract: English (or Chinese) headers, typed columns; ``_row`` is the 1-based record number.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from core import warehouse
from ingestion.audit import LoadAttempt
from ingestion.encoding import TextEncodingError, decode_text
from ingestion.sql import quote_identifier, quote_literal
from ingestion.tables import Column, Table

#: How many leading rows may precede the header row (title, unit or blank rows).
MAX_HEADER_ROW = 20
#: Bytes of a CSV examined for its encoding and header (cut at a line end, so no character is split).
_PREFIX_BYTES = 1 << 20
_CHUNK_BYTES = 16 << 20
#: A CSV up to this size is copied into a temporary DuckDB table (about twice its size, within the 1 GB of
#: memory an enterprise load gives DuckDB), a larger one into a Parquet file (see the module's docstring).
IN_MEMORY_COPY_MAX_BYTES = 256 << 20
#: Leading cells of rows in a template that are notes, not data.
_NOTE_PREFIXES = ("注", "说明", "填表", "备注", "数据来源")


class FileStructureError(ValueError):
    """A file that cannot be used as a whole: unreadable, or without the columns of its format."""


class NamedColumn(Protocol):
    """What the header matching needs of a column (``columns.csv`` rows of each format)."""

    name: str  # canonical (English) name
    header_zh: str  # header in the XLSX template
    header_en: str  # header in the bulk extracts


def normalize_header(text: object) -> str:
    """Header text compared loosely: NFKC (full-width brackets), no whitespace, lower case."""
    if text is None:
        return ""
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).lower()


@dataclass(frozen=True)
class HeaderMatch:
    """Where each canonical column sits in a file: ``positions[name]`` is the 0-based cell index."""

    row_index: int  # 0-based index of the header row among the rows examined
    positions: dict[str, int]
    headers: tuple[str, ...]  # the header cells as written (for the raw record of quarantined rows)
    language: str  # zh | en: which set of headers the file uses (the majority)


@dataclass(frozen=True)
class Layout:
    """One format's table: its columns (in template order), the ones a file may leave out, the template's
    sheet, and the file formats accepted (suffix -> format name)."""

    label: str  # "format 5": how errors name the format
    columns: tuple[NamedColumn, ...]
    sheet: str
    formats: Mapping[str, str]
    optional: frozenset[str] = field(default_factory=frozenset)

    def _header_index(self) -> dict[str, NamedColumn]:
        index: dict[str, NamedColumn] = {}
        for col in self.columns:
            for header in (col.header_zh, col.header_en, col.name):
                index[normalize_header(header)] = col
        return index

    def match_header_row(self, cells: Sequence[object], row_index: int = 0) -> HeaderMatch:
        """Map one header row onto the canonical columns; unknown headers are ignored.

        Raises :class:`FileStructureError` when two cells map to the same column.
        """
        index = self._header_index()
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

    def find_header_row(self, rows: Iterable[Sequence[object]]) -> HeaderMatch:
        """The header among the first rows: the first row naming at least half of the canonical columns.

        Raises :class:`FileStructureError` naming the best candidate when no row qualifies.
        """
        best: HeaderMatch | None = None
        threshold = (len(self.columns) + 1) // 2
        for row_index, cells in enumerate(rows):
            if row_index >= MAX_HEADER_ROW:
                break
            match = self.match_header_row(cells, row_index)
            if len(match.positions) >= threshold:
                return match
            if best is None or len(match.positions) > len(best.positions):
                best = match
        found = f"; the best candidate, row {best.row_index + 1}, names {len(best.positions)}" if best else ""
        raise FileStructureError(f"no header row with the {self.label} columns in the first {MAX_HEADER_ROW} rows{found}")

    def missing(self, match: HeaderMatch) -> list[NamedColumn]:
        """The required columns the header does not name."""
        return [c for c in self.columns if c.name not in match.positions and c.name not in self.optional]

    def require_columns(self, match: HeaderMatch) -> None:
        """Every required column must be present; raises :class:`FileStructureError` naming the missing ones."""
        missing = self.missing(match)
        if missing:
            names = ", ".join(f"{c.header_zh} / {c.name}" for c in missing)
            raise FileStructureError(f"missing required column(s): {names}")


@dataclass(frozen=True)
class OpenedFile:
    """A file registered as the view ``_src``; ``source_types`` maps canonical columns to DuckDB types."""

    format: str
    header: HeaderMatch
    source_types: dict[str, str]
    encoding: str | None = None


@contextmanager
def open_source(con: duckdb.DuckDBPyConnection, path: Path, layout: Layout) -> Iterator[OpenedFile]:
    """Register ``path`` as the temporary view ``_src``, dropped (and temporary copies removed) on exit.
    A column the layout lets a file leave out is NULL when absent. A CSV is read whole on opening (into
    its copy); errors in its rows beyond the first are DuckDB's, raised from here.

    Raises :class:`FileStructureError` when the file cannot be read or lacks a required column.
    """
    openers = {".parquet": _open_parquet, ".csv": _open_csv, ".xlsx": _open_xlsx}
    suffix = path.suffix.lower()
    if suffix not in layout.formats:
        suffixes = list(layout.formats)
        expected = " or ".join([", ".join(suffixes[:-1]), suffixes[-1]] if len(suffixes) > 1 else suffixes)
        raise FileStructureError(f"unsupported file type {suffix!r}: expected {expected}")
    with openers[suffix](con, path, layout) as opened:
        yield opened
    con.execute("drop view if exists _src")


def _create_view(
    con: duckdb.DuckDBPyConnection, relation: str, row_sql: str, header: HeaderMatch, names: list[str], layout: Layout
) -> dict[str, str]:
    """``_src`` over ``relation`` whose columns are ``names`` (by position); returns canonical -> type."""
    layout.require_columns(header)
    select = [f"{row_sql} as _row"] + [
        f"{quote_identifier(names[header.positions[c.name]])} as {c.name}"
        if c.name in header.positions
        else f"cast(null as varchar) as {c.name}"
        for c in layout.columns
    ]
    con.execute(f"create or replace temp view _src as select {', '.join(select)} from {relation}")
    types = dict(con.execute("select column_name, column_type from (describe _src)").fetchall())
    return {c.name: types[c.name] for c in layout.columns}


# ---------- Parquet


@contextmanager
def _open_parquet(con: duckdb.DuckDBPyConnection, path: Path, layout: Layout) -> Iterator[OpenedFile]:
    relation = f"read_parquet({quote_literal(str(path))}, file_row_number = true)"
    try:
        names = [r[0] for r in con.execute(f"describe select * from read_parquet({quote_literal(str(path))})").fetchall()]
    except duckdb.Error as error:
        raise FileStructureError(f"not a readable Parquet file: {_first_line(error)}") from None
    header = layout.match_header_row(names)
    types = _create_view(con, relation, "file_row_number + 1", header, names, layout)
    yield OpenedFile(layout.formats[".parquet"], header, types)


# ---------- CSV


@contextmanager
def _open_csv(con: duckdb.DuckDBPyConnection, path: Path, layout: Layout) -> Iterator[OpenedFile]:
    with open(path, "rb") as handle:
        prefix = handle.read(_PREFIX_BYTES)
        more = handle.read(1) != b""
    if more and b"\n" in prefix:
        prefix = prefix[: prefix.rindex(b"\n") + 1]
    try:
        text, encoding = decode_text(prefix)
    except TextEncodingError as error:
        raise FileStructureError(str(error)) from None
    rows = csv.reader(io.StringIO(text))
    header = layout.find_header_row(_first_rows(rows))
    with warehouse.scratch_folder(con) as scratch:
        readable = path if encoding in ("utf-8", "utf-8-sig") else _transcode(path, encoding, scratch / "utf8.csv")
        names = [f"c{i}" for i in range(len(header.headers))]
        relation = (
            f"read_csv({quote_literal(str(readable))}, header = true, skip = {header.row_index}, all_varchar = true, "
            f"delim = ',', quote = '\"', escape = '\"', names = [{', '.join(quote_literal(n) for n in names)}], "
            f"null_padding = true)"
        )
        types = _create_view(con, relation, "cast(null as bigint)", header, names, layout)
        try:
            con.execute("select count(*) from (select * from _src limit 1)").fetchall()
        except duckdb.Error as error:
            raise FileStructureError(f"not a readable CSV file: {_first_line(error)}") from None
        try:
            _copy_rows(con, readable.stat().st_size, scratch, first_row=header.row_index + 2)
            if readable != path:
                readable.unlink()  # the copy has every cell of it
            yield OpenedFile(layout.formats[".csv"], header, types, encoding)
        finally:
            with contextlib.suppress(duckdb.Error):  # an aborted transaction drops it with the rollback
                con.execute("drop table if exists _csv_rows")


def _copy_rows(con: duckdb.DuckDBPyConnection, size: int, scratch: Path, *, first_row: int) -> None:
    """Replace ``_src`` (over the text of a CSV of ``size`` bytes) by a view over a copy of its rows,
    numbered by their order in the file from ``first_row`` (the line of the first record): the temporary
    table ``_csv_rows``, or ``scratch/records.parquet`` for a file larger than :data:`IN_MEMORY_COPY_MAX_BYTES`."""
    (ordered,) = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    con.execute("set preserve_insertion_order = true")  # the rows are numbered by their order in the copy
    try:
        if size <= IN_MEMORY_COPY_MAX_BYTES:
            con.execute("create or replace temp table _csv_rows as select * exclude (_row) from _src")
            # the rowids of the rows one statement appends are consecutive, in the order of its output
            (first_rowid,) = con.execute("select coalesce(min(rowid), 0) from _csv_rows").fetchone()
            numbered = f"select rowid - {first_rowid} + {first_row} as _row, * from _csv_rows"
        else:
            copy = quote_literal(str(scratch / "records.parquet"))
            con.execute(f"copy (select * exclude (_row) from _src) to {copy} (format parquet, compression snappy)")
            numbered = (
                f"select file_row_number + {first_row} as _row, * exclude (file_row_number) "
                f"from read_parquet({copy}, file_row_number = true)"
            )
    finally:
        con.execute(f"set preserve_insertion_order = {str(ordered).lower()}")
    con.execute(f"create or replace temp view _src as {numbered}")


def _first_rows(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    for index, row in enumerate(rows):
        if index >= MAX_HEADER_ROW:
            return
        yield row


def _transcode(source: Path, encoding: str, target: Path) -> Path:
    """Re-encode a text file to UTF-8 in chunks (strict: a byte that does not decode fails the file)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with open(source, "rb") as reader, open(target, "w", encoding="utf-8", newline="") as writer:
        while chunk := reader.read(_CHUNK_BYTES):
            try:
                writer.write(decoder.decode(chunk))
            except UnicodeDecodeError as error:
                raise FileStructureError(
                    f"byte {offset + error.start} is not {encoding} (the first megabyte looked like {encoding})"
                ) from None
            offset += len(chunk)
        writer.write(decoder.decode(b"", final=True))
    return target


# ---------- XLSX


@contextmanager
def _open_xlsx(con: duckdb.DuckDBPyConnection, path: Path, layout: Layout) -> Iterator[OpenedFile]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError and XML errors for broken files
        raise FileStructureError(f"not a readable XLSX workbook: {type(error).__name__}: {error}") from None
    try:
        if layout.sheet not in workbook.sheetnames:
            raise FileStructureError(
                f"no sheet named {layout.sheet} (the reporting template's sheet); "
                f"sheets: {', '.join(workbook.sheetnames)}"
            )
        sheet = workbook[layout.sheet]
        rows = [tuple(_cell_text(v) for v in row) for row in sheet.iter_rows(min_row=1, values_only=True)]
    except FileStructureError:
        raise
    except Exception as error:  # a damaged sheet fails while its rows are read
        raise FileStructureError(f"sheet {layout.sheet} cannot be read: {type(error).__name__}: {error}") from None
    finally:
        workbook.close()
    header = layout.find_header_row(rows)
    width = len(header.headers)
    data = {"_row": [], **{f"c{i}": [] for i in range(width)}}
    for excel_row, cells in enumerate(rows[header.row_index + 1 :], start=header.row_index + 2):
        cells = (tuple(cells) + (None,) * width)[:width]
        filled = [c for c in cells if c is not None and c.strip()]
        if not filled or (len(filled) == 1 and filled[0].strip().startswith(_NOTE_PREFIXES)):
            continue  # blank spacer rows and notes below the table
        data["_row"].append(excel_row)
        for i, value in enumerate(cells):
            data[f"c{i}"].append(value)
    table = pa.table({k: pa.array(v, pa.int64() if k == "_row" else pa.string()) for k, v in data.items()})
    con.register("_xlsx_rows", table)
    try:
        types = _create_view(con, "_xlsx_rows", "_row", header, [f"c{i}" for i in range(width)], layout)
        yield OpenedFile(layout.formats[".xlsx"], header, types)
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction drops it with the rollback
            con.unregister("_xlsx_rows")


def _cell_text(value: object) -> str | None:
    """An Excel cell as the text a person sees: 500112.0 -> '500112', TRUE -> 'true'."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0]


def describe_file_failure(attempt: LoadAttempt) -> Callable[[Exception], str | None]:
    """How the loaders of tabular files name a file's failure (see :func:`ingestion.audit.record_failure`):
    a :class:`FileStructureError` or an OS error as it is, an error of DuckDB's (a CSV line it cannot parse,
    I/O) as ``cannot be read: ...``; anything else is no failure of the file's (None: it propagates)."""

    def describe(error: Exception) -> str | None:
        if not isinstance(error, FileStructureError | duckdb.Error | OSError):
            return None
        text = f"cannot be read: {_duckdb_problem(error)}" if isinstance(error, duckdb.Error) else str(error).strip()
        return f"{attempt.source_file}: {text[:1000]}"

    return describe


_CSV_ERROR_LINE = re.compile(r"CSV Error on Line: (\d+)")


def _duckdb_problem(error: duckdb.Error) -> str:
    """What DuckDB says went wrong, in one line: for a CSV line it cannot parse, the line and why
    (``CSV error on line 30002: Expected Number of Columns: 18 Found: 19``), not the advice that follows;
    otherwise the first line of its message."""
    lines = [line.strip() for line in str(error).strip().splitlines()]
    where = next((m for m in map(_CSV_ERROR_LINE.search, lines) if m), None)
    if where is not None:
        before_advice = lines[: next((i for i, line in enumerate(lines) if line.startswith("Possible ")), len(lines))]
        why = [line for line in before_advice if line][-1]
        if not why.startswith("Original Line:") and _CSV_ERROR_LINE.search(why) is None:
            return f"CSV error on line {where.group(1)}: {why}"
    return lines[0] if lines and lines[0] else type(error).__name__


def files_table(name: str, formats: str, rows_table: str) -> Table:
    """The table of one row per loaded file of a tabular kind (``raw.enterprise_files``,
    ``raw.register_files``): the file, its format and what became of its rows."""
    return Table(name, (
        Column("load_id", "varchar", not_null=True, primary_key=True),
        Column("source_file", "varchar", "path relative to LANDING_DIR", not_null=True),
        Column("sha256", "varchar", "of the file's bytes", not_null=True),
        Column("format", "varchar", formats, not_null=True),
        Column("encoding", "varchar", "csv only: utf-8, utf-8-sig or gb18030"),
        Column("header_language", "varchar", "zh (template headers) or en (bulk extract headers)", not_null=True),
        Column("rows_read", "bigint", "data rows in the file", not_null=True),
        Column("rows_loaded", "bigint", f"rows in {rows_table} from this load", not_null=True),
        Column("rows_quarantined", "bigint", "rows in audit.quarantine (stage load) from this load", not_null=True),
        Column("duplicate_rows_collapsed", "bigint", "exact copies of a loaded row, dropped", not_null=True),
        Column("loaded_at", "timestamp", not_null=True),
    ))


def insert_file_row(
    con: duckdb.DuckDBPyConnection, table: Table, attempt: LoadAttempt, opened: OpenedFile, rows_read: int, collapsed: int
) -> None:
    """The row of :func:`files_table` ``table`` for a file loaded by ``attempt``."""
    row = {
        "load_id": attempt.load_id,
        "source_file": attempt.source_file,
        "sha256": attempt.sha256,
        "format": attempt.format,
        "encoding": opened.encoding,
        "header_language": opened.header.language,
        "rows_read": rows_read,
        "rows_loaded": attempt.rows_loaded,
        "rows_quarantined": attempt.rows_quarantined,
        "duplicate_rows_collapsed": collapsed,
        "loaded_at": attempt.loaded_at,
    }
    table.insert(con, {column: [value] for column, value in row.items()})
