"""Raw release records -> region code, indicator code, canonical unit and period, or a quarantine reason.

Every mapping is data: the dbt seeds ``ref_region_aliases``, ``ref_indicator_aliases``,
``ref_indicators`` and ``ref_units`` (read from :data:`core.settings.SEEDS_DIR`), looked up after
:func:`normalize_key` (NFKC, so full-width brackets and letters match; trimmed; case-insensitive; the
spaces tables use to align Chinese names, ``北  京``, ignored).

Rules, in the order a record meets them (all failures of a record are reported together):

- value: a missing marker skips the record (no figure is not an error); otherwise it must be a number;
- region: the raw text must be a region alias (name, GB/T 2260 code or ISO code);
- indicator: the raw text, or the text without a trailing ``(unit)`` / ``（unit）``, must be an indicator
  alias; a unit in the name wins over a unit given separately (a bulletin's ``单位：`` row is a default);
- a region or indicator label that is not an alias as written is tried once more without what tables put
  around a name: a list marker before it (``其中：``, ``一、``, ``（一）``, ``1.``) and a footnote mark after
  it (``重庆市①``, ``...(%)注1``); that mark becomes part of the note of every value of the row;
- unit: must be in ``ref_units`` with the indicator's dimension; the value is converted to the
  indicator's canonical unit: ``multiplier = unit_scale * 10**UNIT_MULT / indicator_scale``;
- period: any spelling :func:`core.periods.parse_period` accepts;
- a table that names a dimension only in its title (``bulletin_xlsx``, whose records leave it empty) gets
  it from :class:`TableTitles`: the region, indicator and year, and a unit the records give nowhere;
- a (region, indicator, period) given twice in one file keeps the first and quarantines the repeat.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from core import settings
from core.periods import WHOLE_YEAR_IN_TEXT, YEAR_IN_TEXT, PeriodError, parse_period
from ingestion.audit import QuarantinedRow
from ingestion.releases.records import RawObservation
from ingestion.values import NumberError, PublishedNumber, parse_published_number, split_footnote

_TRAILING_PARENS = re.compile(r"^(?P<name>.*?)\s*[(（](?P<unit>[^()（）]*)[)）]\s*$")
#: A parenthesized unit in a title, after NFKC: "(亿元)", "(单位:亿元)".
_PARENTHESIZED = re.compile(r"\((?:\s*(?:计量)?单位\s*:)?\s*(?P<unit>[^():]+?)\s*\)")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_INTEGER = re.compile(r"^[+-]?\d+$")
#: What a table puts before a row label: 其中：, 一、, （一）, 1. or 1、
_LIST_MARKER = re.compile(r"^(?:其中\s*[：:]|[一二三四五六七八九十]+\s*、|[(（]\s*[一二三四五六七八九十\d]+\s*[)）]|\d+\s*[.、．])\s*")
#: A space that does not separate two Latin letters or digits ("北 京", "2022 年", "(R&D) 经费").
_ALIGNMENT_SPACE = re.compile(r"(?<![A-Za-z0-9]) | (?![A-Za-z0-9])")
#: A Latin alias that is a name (chongqing, inner mongolia, gdp), not a code (cn-cq, 500000, rd_expenditure).
_LATIN_NAME = re.compile(r"^[a-z][a-z ]+[a-z]$")


_Target = TypeVar("_Target")


def normalize_key(text: str) -> str:
    """The lookup form of a name or code: NFKC, whitespace collapsed, alignment spaces dropped, case-folded."""
    collapsed = " ".join(unicodedata.normalize("NFKC", text).split())
    return _ALIGNMENT_SPACE.sub("", collapsed).casefold()


@dataclass(frozen=True)
class Indicator:
    code: str
    dimension: str  # ref_indicators.unit_dimension, e.g. currency_cny
    scale: Decimal  # how many base units one canonical unit is (100 million yuan: 100000000)


@dataclass(frozen=True)
class Unit:
    name: str
    dimension: str
    scale: Decimal  # in base units of its dimension (万元: 10000)


@dataclass(frozen=True)
class ReferenceData:
    """The alias tables of the seeds as lookups keyed by :func:`normalize_key`."""

    regions: dict[str, str]  # alias -> region_code
    indicators: dict[str, Indicator]  # alias -> indicator
    units: dict[str, Unit]  # unit -> unit
    spellings: dict[str, str] = field(default_factory=dict)  # alias key -> the alias as the seed writes it

    @classmethod
    def from_seeds(cls, seeds_dir: Path) -> ReferenceData:
        canonical = {
            row["indicator_code"]: Indicator(row["indicator_code"], row["unit_dimension"], Decimal(row["unit_scale"]))
            for row in _read_seed(seeds_dir / "ref_indicators.csv")
        }
        indicators: dict[str, Indicator] = {}
        spellings: dict[str, str] = {}
        for row in _read_seed(seeds_dir / "ref_indicator_aliases.csv"):
            if row["indicator_code"] not in canonical:
                raise ValueError(
                    f"ref_indicator_aliases.csv: alias {row['alias']!r} names unknown indicator {row['indicator_code']!r}"
                )
            _add_alias(indicators, row["alias"], canonical[row["indicator_code"]], "ref_indicator_aliases.csv")
            spellings.setdefault(normalize_key(row["alias"]), row["alias"].strip())
        regions: dict[str, str] = {}
        for row in _read_seed(seeds_dir / "ref_region_aliases.csv"):
            _add_alias(regions, row["alias"], row["region_code"], "ref_region_aliases.csv")
            spellings.setdefault(normalize_key(row["alias"]), row["alias"].strip())
        units: dict[str, Unit] = {}
        for row in _read_seed(seeds_dir / "ref_units.csv"):
            _add_alias(units, row["unit"], Unit(row["unit"], row["unit_dimension"], Decimal(row["unit_scale"])), "ref_units.csv")
        return cls(regions, indicators, units, spellings)

    def region_code(self, raw: str | None) -> str | None:
        return self.regions.get(normalize_key(raw)) if raw else None

    def indicator(self, raw: str | None) -> Indicator | None:
        return self.indicators.get(normalize_key(raw)) if raw else None

    def unit(self, raw: str | None) -> Unit | None:
        return self.units.get(normalize_key(raw)) if raw else None

    def region_names_in(self, text: str) -> dict[str, str]:
        """Region codes named in ``text`` (a title, a publisher), each with its longest name found there."""
        return self._names_in(text, self.regions)

    def indicator_names_in(self, text: str) -> dict[str, str]:
        """Indicator codes named in ``text`` (a title), each with its longest name found there."""
        return {indicator.code: alias for indicator, alias in self._names_in(text, self.indicators).items()}

    def units_in(self, text: str) -> list[str]:
        """The known units written in parentheses in ``text`` (``...经费支出（亿元）``, ``(单位：万人)``)."""
        found = []
        for match in _PARENTHESIZED.finditer(unicodedata.normalize("NFKC", text)):
            if self.unit(match["unit"]) is not None and match["unit"].strip() not in found:
                found.append(match["unit"].strip())
        return found

    def _names_in(self, text: str, lookup: dict[str, _Target]) -> dict[_Target, str]:
        """The targets of the aliases that are names (Chinese, or Latin words) occurring in ``text``.

        A name inside a longer name found at the same place does not count (发明专利拥有量 inside
        每万人口发明专利拥有量, 重庆 inside 重庆市). Each target comes with its longest name, as the seed spells it.
        """
        key = normalize_key(text)
        spans: list[tuple[int, int, str, _Target]] = []
        for alias, target in lookup.items():
            if _CJK.search(alias):
                pattern = re.escape(alias)
            elif _LATIN_NAME.match(alias):
                pattern = rf"(?<![a-z0-9_]){re.escape(alias)}(?![a-z0-9_])"
            else:
                continue
            spans.extend((m.start(), m.end(), alias, target) for m in re.finditer(pattern, key))
        found: dict[_Target, str] = {}
        for start, end, alias, target in spans:
            if any(s <= start and end <= e and e - s > end - start for s, e, _, _ in spans):
                continue
            if len(alias) > len(found.get(target, "")):
                found[target] = alias
        return {target: self.spellings.get(alias, alias) for target, alias in found.items()}


def _read_seed(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _add_alias(lookup: dict, alias: str, target: object, seed: str) -> None:
    key = normalize_key(alias)
    if key in lookup and lookup[key] != target:
        raise ValueError(f"{seed}: {alias!r} maps to two different targets")
    lookup[key] = target


def load_reference(seeds_dir: Path = settings.SEEDS_DIR) -> ReferenceData:
    """The reference data of the seeds directory, read afresh (well under a millisecond) so edits apply at once."""
    return ReferenceData.from_seeds(seeds_dir)


@dataclass(frozen=True)
class TableTitles:
    """Where a table names the dimension its rows and columns do not give (``bulletin_xlsx``).

    Sources, in order: the table's own title, the sidecar's title, and for the region also the sidecar's
    publisher (a provincial bureau's communiqué names its region, if not in the table's title, in the
    release title or as its publisher: ``重庆市统计局``, ``Chongqing Municipal Bureau of Statistics``; the
    ``National Bureau of Statistics of China`` names the nation). The first source that names any region
    (indicator, year) must name exactly one: a value whose table names none, or several, is quarantined
    with the reason, not mapped by a guess. Regions and indicators are found by their alias names (a name
    inside a longer name found at the same place does not count); a year must be a whole year (``2022年``,
    not ``2022年1-9月``); the unit is the one known unit in parentheses in the table's title, if any.
    """

    table: str  # "" for an untitled table
    sidecar_title: str | None = None
    publisher: str | None = None

    def complete(self, reference: ReferenceData) -> _TitleNames:
        """What the titles name, found once for all the records of the table."""
        region = self._named("region", lambda text: sorted(set(reference.region_names_in(text).values())), publisher=True)
        indicator = self._named("indicator", lambda text: sorted(set(reference.indicator_names_in(text).values())))
        year = self._named("year", _whole_years)
        units = reference.units_in(self.table)
        return _TitleNames(region, indicator, year, units[0] if len(units) == 1 else None)

    def _named(self, what: str, find: Callable[[str], list[str]], *, publisher: bool = False) -> _Found:
        """The one ``what`` the first source that names any names, or why there is none."""
        searched = []
        for where, text in self._sources(publisher):
            if not text:
                continue
            try:
                found = find(text)
            except _PartYear:
                return _Found(None, f"{where} {text!r} names no whole year (2022年)")
            if len(found) == 1:
                return _Found(found[0], None)
            if found:
                return _Found(None, f"{where} {text!r} names several {what}s ({', '.join(found)}), the table needs one")
            searched.append(f"{where} {text!r}")
        return _Found(None, f"no {what} named in the table's rows, columns or {' or '.join(searched) or 'title'}")

    def _sources(self, publisher: bool) -> Iterator[tuple[str, str]]:
        yield "the title", self.table
        yield "the sidecar title", self.sidecar_title or ""
        if publisher:
            yield "the sidecar publisher", self.publisher or ""


class _PartYear(Exception):
    """A text that names one year, and only a part of it (``2022年1-9月``)."""


def _whole_years(text: str) -> list[str]:
    """The years ``text`` names; when it names one, it must name it whole."""
    years = sorted(set(YEAR_IN_TEXT.findall(text)))
    if len(years) == 1 and (whole := WHOLE_YEAR_IN_TEXT.search(text)) is None:
        raise _PartYear(text)
    return [whole.group()] if len(years) == 1 else years


@dataclass(frozen=True)
class _Found:
    name: str | None  # as the title writes it (a year as 2022年)
    problem: str | None  # why there is none: the quarantine reason of a record that needs it


@dataclass(frozen=True)
class _TitleNames:
    region: _Found
    indicator: _Found
    year: _Found
    unit: str | None

    def fill(self, record: RawObservation) -> tuple[RawObservation, dict[str, str]]:
        """The record with what it leaves empty taken from the titles, and for each field they cannot
        fill, why (the field's quarantine reason)."""
        filled: dict[str, str] = {}
        unnamed: dict[str, str] = {}
        for field_name, found in (("region_raw", self.region), ("indicator_raw", self.indicator), ("period_raw", self.year)):
            if getattr(record, field_name) is None:
                if found.name is None:
                    unnamed[field_name] = found.problem or ""
                else:
                    filled[field_name] = found.name
        if record.unit_raw is None and self.unit is not None:
            filled["unit_raw"] = self.unit
        return (replace(record, **filled) if filled else record), unnamed


@dataclass(frozen=True)
class Observation:
    """A harmonized observation: one row of ``mapped.release_observations``."""

    raw: RawObservation
    region_code: str
    indicator_code: str
    period: str
    value: float  # in the indicator's canonical unit
    unit_multiplier: float
    published_decimals: int
    note: str | None


@dataclass
class Harmonized:
    observations: list[Observation] = field(default_factory=list)
    quarantined: list[QuarantinedRow] = field(default_factory=list)
    missing: int = 0  # cells with no figure, skipped


def harmonize(records: Iterable[RawObservation], reference: ReferenceData, titles: TableTitles | None = None) -> Harmonized:
    """Map every record of one file, or quarantine it with the reasons it failed; skip missing values.

    ``titles``: the file's :class:`TableTitles`, for a format whose records leave the dimension its
    table's title names empty; without it, an empty field is unmapped like any other.
    """
    result = Harmonized()
    first_row: dict[tuple[str, str, str], int] = {}
    named = titles.complete(reference) if titles is not None else None
    for record in records:
        record, unnamed = named.fill(record) if named is not None else (record, {})
        reasons: list[str] = []
        try:
            number = parse_published_number(record.value_raw)
        except NumberError as error:
            number, reasons = None, [str(error)]
        else:
            if number is None:
                result.missing += 1
                continue
        region_code, region_mark = _find_label(reference.region_code, record.region_raw)
        if region_code is None:
            reasons.append(unnamed.get("region_raw") or f"unmapped region {record.region_raw!r}")
        if "indicator_raw" in unnamed:
            reasons.append(unnamed["indicator_raw"])
            indicator, multiplier, indicator_mark = None, None, None
        else:
            indicator, multiplier, indicator_mark = _indicator_and_multiplier(record, reference, reasons)
        try:
            period = str(parse_period(record.period_raw))
        except PeriodError as error:
            period = None
            reasons.append(unnamed.get("period_raw") or str(error))
        if not reasons:
            assert number is not None and region_code and indicator and multiplier is not None and period
            key = (region_code, indicator.code, period)
            if key in first_row:
                reasons.append(f"duplicate observation {key}: first given at row {first_row[key]}")
            else:
                first_row[key] = record.row_number
                notes = [n for n in (record.note, number.note, region_mark, indicator_mark) if n]
                result.observations.append(_observation(record, number, region_code, indicator, period, multiplier, notes))
                continue
        result.quarantined.append(QuarantinedRow(record.row_number, "; ".join(reasons), record.as_record()))
    return result


def _find_label(find: Callable[[str], _Target | None], raw: str | None) -> tuple[_Target | None, str | None]:
    """``find(raw)``, else ``find`` of the label without its list marker and footnote mark, with that mark."""
    if not raw:
        return None, None
    if (found := find(raw)) is not None:
        return found, None
    label, mark = split_footnote(_LIST_MARKER.sub("", raw.strip()))
    return (find(label), mark) if label != raw else (None, None)


def _named_indicator(reference: ReferenceData, raw: str) -> tuple[Indicator, str | None] | None:
    """The indicator ``raw`` names, with the unit in its trailing parentheses (``None``: no unit in the name)."""
    if (indicator := reference.indicator(raw)) is not None:
        return indicator, None
    if (match := _TRAILING_PARENS.match(raw)) and (indicator := reference.indicator(match["name"])) is not None:
        return indicator, match["unit"]
    return None


def _indicator_and_multiplier(
    record: RawObservation, reference: ReferenceData, reasons: list[str]
) -> tuple[Indicator | None, Decimal | None, str | None]:
    """The indicator, the multiplier to its canonical unit and the label's footnote mark; appends a reason on failure."""
    named, mark = _find_label(lambda raw: _named_indicator(reference, raw), record.indicator_raw)
    if named is None:
        reasons.append(f"unmapped indicator {record.indicator_raw!r}")
        return None, None, None
    indicator, unit_in_name = named
    unit_text = (unit_in_name if unit_in_name is not None else record.unit_raw or "").strip()
    if not unit_text:
        reasons.append(f"no unit given for indicator {indicator.code} ({indicator.dimension})")
        return indicator, None, mark
    unit = reference.unit(unit_text)
    if unit is None:
        reasons.append(f"unknown unit {unit_text!r} for indicator {indicator.code} (not in ref_units)")
        return indicator, None, mark
    if unit.dimension != indicator.dimension:
        reasons.append(f"unit {unit_text!r} ({unit.dimension}) does not fit indicator {indicator.code} ({indicator.dimension})")
        return indicator, None, mark
    power = 0
    if record.unit_mult is not None and record.unit_mult.strip():
        if not _INTEGER.match(record.unit_mult.strip()):
            reasons.append(f"unparseable UNIT_MULT {record.unit_mult!r}: expected a power of ten")
            return indicator, None, mark
        power = int(record.unit_mult)
    return indicator, unit.scale * Decimal(10) ** power / indicator.scale, mark


def _observation(
    record: RawObservation,
    number: PublishedNumber,
    region_code: str,
    indicator: Indicator,
    period: str,
    multiplier: Decimal,
    notes: list[str],
) -> Observation:
    return Observation(
        raw=record,
        region_code=region_code,
        indicator_code=indicator.code,
        period=period,
        value=float(number.value * multiplier),
        unit_multiplier=float(multiplier),
        published_decimals=number.decimals,
        note="; ".join(notes) or None,
    )
