"""Reading the bytes of a text release (CSV, JSON) with errors that name the file."""

from __future__ import annotations

import csv
import io

from ingestion.encoding import TextEncodingError, decode_text
from ingestion.releases.records import ReleaseFileError


def decode_release(data: bytes, source_file: str) -> tuple[str, str]:
    """:func:`ingestion.encoding.decode_text`, raising a :class:`ReleaseFileError` for the file."""
    try:
        return decode_text(data)
    except TextEncodingError as error:
        raise ReleaseFileError(source_file, str(error)) from None


def csv_records(text: str, source_file: str) -> list[tuple[int, list[str]]]:
    """The records of a CSV text, each with the line number it ends on (1-based)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            records.append((reader.line_num, cells))
    except csv.Error as error:
        problem = f"not a readable CSV: {error}"
        if str(error) == "unexpected end of data":  # what the strict reader says at the end of the text inside quotes
            problem = "truncated or an unclosed quote: the file ends inside a quoted field"
        raise ReleaseFileError(source_file, problem, location=f"line {reader.line_num}") from None
    return records
