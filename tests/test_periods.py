"""Period rules have one Python home (``core/periods.py``) and one SQL home (``dbt_project/macros/periods.sql``),
and they agree: both run on the same labels (every spelling the format description allows, cumulative
spans and bad labels) and give the same frequency, year, quarter or month, last day and end in years, or
both refuse the label."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from core.periods import CANONICAL_REGEX, Period, PeriodError, parse_period
from core.settings import REPO_ROOT
from expectations import spec

#: Label -> its canonical form, or None when it is no period.
LABELS: dict[str, str | None] = {
    # years
    "2022": "2022", "2022年": "2022", "2022年度": "2022", "2022-A1": "2022", " 2022 年 ": "2022", "２０２２年": "2022",
    "1900": "1900", "2099": "2099",
    # quarters, NBS letter codes included
    "2022Q3": "2022Q3", "2022-Q3": "2022Q3", "2022 Q3": "2022Q3", "2022q3": "2022Q3", "2022年第三季度": "2022Q3",
    "2022年三季度": "2022Q3", "2022年3季度": "2022Q3", "2022年第一季度": "2022Q1", "2022A": "2022Q1", "2022B": "2022Q2",
    "2022D": "2022Q4", "2022Q4": "2022Q4",
    # months
    "2022-09": "2022-09", "2022-9": "2022-09", "202209": "2022-09", "2022M09": "2022-09", "2022M9": "2022-09",
    "2022-M09": "2022-09", "2022年9月": "2022-09", "2022年09月": "2022-09", "2022-01": "2022-01", "2022-12": "2022-12",
    "2024-02": "2024-02",
    # cumulative spans are not periods of their own
    "2022年1-9月": None, "2022年1—9月": None, "2022年上半年": None, "2022年1-3季度": None, "2022年前三季度": None,
    # bad labels
    "2022-13": None, "2022-00": None, "202213": None, "2022年13月": None, "2022Q5": None, "2022Q0": None, "2022E": None,
    "2022-A2": None, "1899": None, "2100": None, "0000": None, "22": None, "": None, "period": None,
}


def _python(label: str) -> Period | None:
    try:
        return parse_period(label)
    except PeriodError:
        return None


def _sql(labels: list[str]) -> dict[str, tuple]:
    """The macros of periods.sql on each label, as the quality suites render them (spec.period_sql)."""
    macros = ("period_frequency", "period_year", "period_number", "period_end_date", "period_end_year")
    columns = ", ".join(spec.period_sql(m, "label") for m in macros)
    with duckdb.connect() as con:
        rows = con.execute(f"select label, {columns} from unnest(?::varchar[]) as t(label)", [labels]).fetchall()
    return {label: tuple(rest) for label, *rest in rows}


@pytest.mark.parametrize(("label", "canonical"), LABELS.items())
def test_python_parses_every_spelling_to_its_canonical_label(label: str, canonical: str | None):
    period = _python(label)
    assert (str(period) if period else None) == canonical
    if period is not None:
        assert parse_period(str(period)) == period


def test_python_and_sql_agree_on_every_label_and_canonical_form():
    labels = sorted(set(LABELS) | {c for c in LABELS.values() if c})
    sql = _sql(labels)
    disagreements = []
    for label in labels:
        period = _python(label)
        canonical = period is not None and str(period) == label
        expected = (period.frequency, period.year, period.number, period.end, period.end_year) if canonical else (None,) * 5
        if sql[label] != expected:
            disagreements.append((label, expected, sql[label]))
    assert disagreements == []


def test_the_canonical_regex_accepts_exactly_the_canonical_labels_in_python_and_duckdb():
    labels = sorted(set(LABELS) | {c for c in LABELS.values() if c})
    with duckdb.connect() as con:
        in_duckdb = dict(con.execute(
            "select label, regexp_full_match(label, ?) from unnest(?::varchar[]) as t(label)", [CANONICAL_REGEX, labels]
        ).fetchall())
    for label in labels:
        period = _python(label)
        canonical = period is not None and str(period) == label
        assert (bool(re.fullmatch(CANONICAL_REGEX, label)), in_duckdb[label]) == (canonical, canonical), label


@pytest.mark.parametrize(
    ("label", "end", "end_year"),
    [("2022", dt.date(2022, 12, 31), 2022.0), ("2022Q3", dt.date(2022, 9, 30), 2021.75),
     ("2022Q4", dt.date(2022, 12, 31), 2022.0), ("2022-06", dt.date(2022, 6, 30), 2021.5),
     ("2024-02", dt.date(2024, 2, 29), 2023 + 2 / 12)],
)
def test_a_period_ends_on_its_last_day_and_at_its_share_of_the_year(label: str, end: dt.date, end_year: float):
    assert (parse_period(label).end, parse_period(label).end_year) == (end, end_year)


def test_the_quality_suites_use_the_two_homes():
    assert spec.PERIOD_REGEX == CANONICAL_REGEX
    assert spec.period_end_sql("o.period") == spec.period_sql("period_end_date", "o.period")
    # GX fills {batch} into a query with str.format: a brace of the macros would break the query
    assert "{" not in spec.period_end_sql("o.period") and "}" not in spec.period_end_sql("o.period")
    assert "period_end_date" in (REPO_ROOT / "dbt_project/macros/periods.sql").read_text(encoding="utf-8")


def test_no_other_module_spells_out_a_canonical_period():
    """A regex or SQL pattern for quarters (``Q[1-4]``) or months (``0[1-9]``) outside the two homes is a
    third copy of the rules."""
    homes = {REPO_ROOT / "core/periods.py", REPO_ROOT / "dbt_project/macros/periods.sql"}
    copies = []
    for folder in ("core", "ingestion", "expectations", "serving", "orchestration", "tools", "dbt_project"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".sql") and path not in homes and "target" not in path.parts:
                if re.search(r"Q\[1-4\]|0\[1-9\]", path.read_text(encoding="utf-8")):
                    copies.append(str(Path(path).relative_to(REPO_ROOT)))
    assert copies == []
