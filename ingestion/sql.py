"""SQL text every loader builds: quoting, and a cell as trimmed text with the missing-value markers as NULL."""

from __future__ import annotations

from ingestion.values import MISSING_MARKER

#: Characters trimmed from both ends of a text cell (ideographic and no-break spaces included).
TRIM = " \t\r\n\u3000\u00a0"
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def is_typed_number(source_type: str) -> bool:
    source_type = source_type.upper()
    return source_type in INTEGER_TYPES + ("DOUBLE", "FLOAT") or source_type.startswith("DECIMAL")


def text_sql(raw: str, source_type: str = "VARCHAR") -> str:
    """A cell as trimmed text, NULL for the missing markers; whole numbers of typed sources without '.0'."""
    source_type = source_type.upper()
    if source_type in INTEGER_TYPES:
        return f"cast({raw} as varchar)"
    if is_typed_number(source_type):
        return f"case when {raw} = trunc({raw}) then cast(cast({raw} as hugeint) as varchar) else cast({raw} as varchar) end"
    trimmed = f"trim(cast({raw} as varchar), '{TRIM}')"
    return f"case when regexp_full_match({trimmed}, {quote_literal(MISSING_MARKER)}) then null else {trimmed} end"
