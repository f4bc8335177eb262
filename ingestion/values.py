"""Published numbers as they appear in statistical tables: missing markers, footnote marks, separators.

A cell holds one of three things:

- a *missing marker* (empty, ``…``, ``...``, ``—``, ``-`` and their doubled or full-width variants, and the
  ``NaN`` SDMX writers put in an empty ``OBS_VALUE``): the bureau published no figure. That is not an error: :func:`parse_published_number` returns ``None``.
- a number, possibly with thousands separators (``1,015,986``), full-width digits, a typographic minus
  (``−3.5``, U+2212, as typeset bulletins print negative growth), and a footnote mark glued
  to its end (``2326.6注1``, ``2326.6*``, ``2326.6注``, ``2326.6①``): the mark is stripped and kept as the
  note. The number of decimals as published (``2.40`` -> 2) is kept, for reconciling ratios.
- anything else: :class:`NumberError`, which the loaders turn into a quarantine reason.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

#: The missing-value markers of every format (FORMATS.md: an empty cell, ``…``, ``...``, ``—``, ``-``): ellipses
#: and dashes of any length, ASCII or full-width, or nothing. One regular expression over a trimmed cell that
#: Python and DuckDB (RE2) both read: :func:`parse_published_number` here, ``ingestion.sql.text_sql`` for the
#: submissions and registers.
MISSING_MARKER = r"…+|⋯+|(?:\.|．){3,}|[-—–―─－−]+|"
#: In a published figure also ``NaN``, which SDMX writers put in an empty ``OBS_VALUE`` (in a submission's
#: amount it is a number the rules reject). Matched after NFKC, which makes … into ... and － into -.
_MISSING = re.compile(rf"^(?:{MISSING_MARKER}|(?i:nan))$")
#: One footnote mark at the end of the text: 注, 注1, 注12, *, **, †, ‡, ①..⑳, ❶..❿, superscript ¹²³.
_FOOTNOTE = re.compile(r"(?:注\d*|[*＊†‡]+|[\u2460-\u2473\u2776-\u277f]+|[\u00b9\u00b2\u00b3\u2070-\u2079]+)$")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?$")
_SPACES = re.compile(r"[\s\u3000\u00a0]+")


class NumberError(ValueError):
    """A cell that is neither a number nor a missing marker."""


@dataclass(frozen=True)
class PublishedNumber:
    value: Decimal
    decimals: int  # digits after the decimal point as published: "2.40" -> 2, "1,015,986" -> 0
    note: str | None = None  # the footnote mark that was glued to the number, e.g. "注1"


def parse_published_number(raw: object) -> PublishedNumber | None:
    """Parse one published figure; ``None`` when the cell is a missing marker.

    Accepts text, ``int``, ``float`` (shortest repr, so 526.8 stays 526.8) and ``Decimal``. Raises
    :class:`NumberError` with the rule that failed, e.g. ``unparseable number '12..3'``.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise NumberError(f"unparseable number {raw!r}: a boolean")
    if isinstance(raw, int | float | Decimal):
        text = number_text(raw)
    else:
        text = str(raw)
    text, note = split_footnote(_SPACES.sub("", text))
    number = unicodedata.normalize("NFKC", text).replace("\u2212", "-")  # full-width digits, signs, commas, dots
    if _MISSING.match(number):
        return None
    parsed = _NUMBER.match(number)
    if not parsed:
        raise NumberError(f"unparseable number {str(raw).strip()!r}")
    fraction = parsed["fraction"] or ""
    return PublishedNumber(Decimal(number.replace(",", "")), len(fraction), note)


def split_footnote(text: str) -> tuple[str, str | None]:
    """``text`` without the footnote marks glued to its end, and the marks (``'2326.6注1'`` -> ``('2326.6', '注1')``).

    Marks are split off before any NFKC, which would turn a circled ① or a superscript ¹ into a plain digit.
    A text that is nothing but a mark is left alone.
    """
    marks: list[str] = []
    text = text.rstrip()
    while (match := _FOOTNOTE.search(text)) and match.start() > 0:
        marks.insert(0, match.group())
        text = text[: match.start()].rstrip()
    return text, "".join(marks) or None


def number_text(number: int | float | Decimal, decimals: int | None = None) -> str:
    """Positional text of a number (526.8 -> '526.8', 1e-05 -> '0.00001'), to ``decimals`` digits if given.

    Floats are taken at their shortest repr, so a spreadsheet's 526.8 is not 526.79999999999995.
    """
    if isinstance(number, float):
        if not math.isfinite(number):
            raise NumberError(f"unparseable number {number!r}")
        number = Decimal(repr(number))
    number = Decimal(number)
    if decimals is not None:  # as a spreadsheet displays it: half away from zero
        number = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return format(number, "f")
