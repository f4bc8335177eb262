"""The one definition of a register date: ``2024-06-30``, ``2024/6/30`` or ``2024年6月30日``.

Full-width digits are read as digits (NFKC), and an Excel date cell (read as ``2024-06-30T00:00:00``) is
its day. Anything else, or a day the calendar does not have (``2024-02-30``), is a :class:`DateError`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})-(\d{1,2})|/(\d{1,2})/(\d{1,2})|年(\d{1,2})月(\d{1,2})日)")
_MIDNIGHT = re.compile(r"[T ]00:00(?::00(?:\.0+)?)?$")
ACCEPTED = "2024-06-30, 2024/6/30 or 2024年6月30日"


class DateError(ValueError):
    """Text that is not a register date."""


def parse_date(text: str) -> date:
    """The day ``text`` names; raises :class:`DateError` saying what is accepted."""
    cleaned = _MIDNIGHT.sub("", unicodedata.normalize("NFKC", text).strip())
    match = _DATE.fullmatch(cleaned)
    if match is None:
        raise DateError(f"is not a date ({ACCEPTED})")
    year, *parts = match.groups()
    month, day = (int(p) for p in parts if p is not None)
    try:
        return date(int(year), month, day)
    except ValueError as error:
        raise DateError(f"is not a day of the calendar ({error})") from None
