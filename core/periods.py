"""Reporting periods in every spelling the sources use, normalized to one canonical form.

Canonical forms: ``2022`` (year), ``2022Q3`` (quarter), ``2022-09`` (month). Accepted spellings:

- years: ``2022``, ``2022年``, ``2022年度``, SDMX ``2022-A1``
- quarters: ``2022Q3``, ``2022-Q3``, ``2022 Q3``, ``2022年第三季度``, ``2022年三季度``, ``2022年3季度``, and the
  NBS portal's letter codes ``2022A``..``2022D`` (first to fourth quarter)
- months: ``2022-09``, ``2022-9``, ``202209``, ``2022M09``, SDMX ``2022-M09``, ``2022年9月``, ``2022年09月``

Whitespace anywhere in a label is ignored (``2022 年``, ``2022年 第三季度``). Cumulative spans such as
``2022年1-9月`` or ``2022年上半年`` are not periods of their own and are rejected.

This is the Python home of the period rules; ``dbt_project/macros/periods.sql`` is the SQL home, which
reads canonical labels only (the mapping step writes nothing else). ``tests/test_periods.py`` runs both
on the same labels and requires the same answers.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

#: A canonical label, anchored (Python ``re`` and DuckDB/RE2 read it alike): what :func:`parse_period`
#: returns as ``str``, and the only labels the SQL macros accept.
CANONICAL_REGEX = r"^(?:19|20)[0-9]{2}(?:Q[1-4]|-(?:0[1-9]|1[0-2]))?$"

#: A year written anywhere in a text (a column heading, a table's title): ``2022`` in ``2022年1-9月``.
YEAR_IN_TEXT = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
#: ``2022年`` naming the whole year in a text, not ``2022年1-9月``, ``2022年第三季度`` or ``2022年上半年``.
WHOLE_YEAR_IN_TEXT = re.compile(
    r"(?<!\d)(?P<year>(?:19|20)\d{2})年(?!\s*(?:\d{1,2}\s*(?:[-~—至到]\s*\d{1,2}\s*)?月|第?[一二三四1-4]季度|[上下]半年))"
)

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("year", re.compile(rf"^{_YEAR}(?:年(?:度)?|-A1)?$")),
    ("quarter", re.compile(rf"^{_YEAR}\s*-?\s*Q(?P<q>[1-4])$", re.IGNORECASE)),
    ("quarter", re.compile(rf"^{_YEAR}年第?(?P<q>[一二三四1-4])季度$")),
    ("quarter_letter", re.compile(rf"^{_YEAR}(?P<letter>[A-D])$")),
    ("month", re.compile(rf"^{_YEAR}-(?P<m>\d{{1,2}})$")),
    ("month", re.compile(rf"^{_YEAR}M?(?P<m>\d{{2}})$", re.IGNORECASE)),
    ("month", re.compile(rf"^{_YEAR}-?M(?P<m>\d{{1,2}})$", re.IGNORECASE)),
    ("month", re.compile(rf"^{_YEAR}年(?P<m>\d{{1,2}})月$")),
]


class PeriodError(ValueError):
    """A period that is not a year, quarter or month in a known spelling."""


@dataclass(frozen=True)
class Period:
    year: int
    frequency: str  # "A" (annual), "Q" (quarterly) or "M" (monthly)
    number: int | None = None  # quarter 1-4 or month 1-12

    def __str__(self) -> str:
        if self.frequency == "A":
            return str(self.year)
        if self.frequency == "Q":
            return f"{self.year}Q{self.number}"
        return f"{self.year}-{self.number:02d}"

    @property
    def end_year(self) -> float:
        """Where the period ends, in years: 2022 -> 2022.0, 2022Q3 -> 2021.75, 2022-06 -> 2021.5, so that
        a target "by 2025" sits at 2025.0 and a distance in years is a plain difference."""
        if self.frequency == "A":
            return float(self.year)
        parts = 4 if self.frequency == "Q" else 12
        return self.year - 1 + (self.number or parts) / parts

    @property
    def end(self) -> date:
        """The last day of the period (a release about it cannot be published before)."""
        month = {"A": 12, "Q": 3 * (self.number or 0), "M": self.number or 0}[self.frequency]
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def shift(self, steps: int) -> Period:
        """The period ``steps`` periods of the same frequency later (earlier when negative)."""
        if self.frequency == "A":
            return Period(self.year + steps, "A")
        per_year = _PER_YEAR[self.frequency]
        index = self.year * per_year + (self.number or 1) - 1 + steps
        return Period(index // per_year, self.frequency, index % per_year + 1)

    def steps_to(self, later: Period) -> int:
        """How many periods ``later`` (same frequency) comes after this one."""
        if later.frequency != self.frequency:
            raise ValueError(f"{self} and {later} are of different frequencies")
        per_year = _PER_YEAR[self.frequency]
        return (later.year - self.year) * per_year + (later.number or 1) - (self.number or 1)

    @classmethod
    def containing(cls, day: date, frequency: str) -> Period:
        """The period of ``frequency`` (``A``, ``Q`` or ``M``) that ``day`` falls in."""
        if frequency == "A":
            return cls(day.year, "A")
        return cls(day.year, frequency, (day.month - 1) // (12 // _PER_YEAR[frequency]) + 1)


#: Periods per year of each frequency.
_PER_YEAR = {"A": 1, "Q": 4, "M": 12}


def parse_period(text: object) -> Period:
    """Parse one period label; raises :class:`PeriodError` naming the label when it is not one."""
    label = "".join(str(text).split()) if text is not None else ""
    label = label.translate(str.maketrans("０１２３４５６７８９－", "0123456789-"))
    for kind, pattern in _PATTERNS:
        match = pattern.match(label)
        if not match:
            continue
        year = int(match["year"])
        if kind == "year":
            return Period(year, "A")
        if kind == "quarter":
            return Period(year, "Q", _CN_DIGITS[match["q"]])
        if kind == "quarter_letter":
            return Period(year, "Q", "ABCD".index(match["letter"]) + 1)
        month = int(match["m"])
        if 1 <= month <= 12:
            return Period(year, "M", month)
    raise PeriodError(f"unparseable period {label!r}: expected a year (2022), quarter (2022Q3) or month (2022-09)")
