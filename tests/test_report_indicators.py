"""The indicator report: what each target shows, from the marts of a published serving database."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from ingestion.periods import parse_period
from serving.charts import format_number, nice_ticks
from serving.publish import publish_serving_database
from serving.report import ReportError, build_indicator_report, period_position
from tests.browser import Element, parse_elements
from tests.serving_fixtures import TRACKED, build_marts_db, policy_targets


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    build_marts_db(root / "warehouse.duckdb")
    publish_serving_database(root / "warehouse.duckdb", root / "serving.duckdb", "run-report")
    summary = build_indicator_report(root / "serving.duckdb", root / "reports" / "indicators.html")
    assert summary["status_counts"] == {"off_track": 2, "at_risk": 2, "on_track": 2, "met": 1, "no_data": 21}
    return Path(summary["path"])


@pytest.fixture(scope="module")
def html(report: Path) -> str:
    return report.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def elements(html: str) -> list[Element]:
    return parse_elements(html)


def card(html: str, target_id: str) -> str:
    match = re.search(rf'<article class="card[^"]*" id="{target_id}".*?</article>', html, re.S)
    assert match, f"no card for {target_id}"
    return match.group(0)


def chart_paths(card_html: str) -> dict[str, int]:
    """Number of points of each drawn series (data-series -> points in its path)."""
    return {
        e.attrs["data-series"]: len(re.findall(r"[ML]", e.attrs["d"]))
        for e in parse_elements(card_html)
        if e.tag == "path" and "data-series" in e.attrs and "d" in e.attrs
    }


def test_every_target_appears_once_as_a_card_or_a_no_data_row(elements: list[Element]):
    cards = [e.attrs["data-target"] for e in elements if e.tag == "article"]
    rows = [e.attrs["data-target"] for e in elements if e.tag == "tr" and "data-target" in e.attrs]
    assert sorted(cards) == sorted(TRACKED)
    assert sorted(cards + rows) == sorted(t["target_id"] for t in policy_targets())


def test_region_target_charts_its_series_the_nation_the_target_and_the_path(html: str):
    t22 = card(html, "T22")
    # 5 tracked years, 5 national years, the target diamond (4 corners) and the path from 2023 to 2025
    assert chart_paths(t22) == {"actual": 5, "national": 5, "target": 4, "path": 2}
    assert "2.46%" in t22 and "≥ 2.6%" in t22 and "+0.14 pp" in t22 and "研究与试验发展(R&amp;D)经费投入强度" in t22


def test_latest_figure_names_its_vintage_and_source_files(html: str):
    t22 = card(html, "T22")
    sources = re.findall(r"<li>(.*?)</li>", t22, re.S)
    assert [" ".join(re.sub(r"<[^>]+>", " ", s).split()) for s in sources] == [
        "R&amp;D intensity: released 2024-09-30 (final), releases/cq/chongqing_innovation_indicators_2023.xlsx",
        "R&amp;D expenditure: released 2024-09-30 (final), releases/cq/chongqing_innovation_indicators_2023.xlsx",
        "Gross (regional) domestic product: released 2024-03-20 (final), releases/nbs_json/chongqing_gdp_2023.json",
    ]


def test_soe_target_uses_annual_figures_only_and_no_national_line(html: str):
    t01 = card(html, "T01")
    # 2022-2024 annual; the 2024Q2 figure has another frequency than the latest (annual) one
    assert chart_paths(t01) == {"actual": 3, "target": 4}  # met: no path left to walk
    assert "submissions of Municipal SOEs 市属国企 (<code>marts.soe_innovation</code>)" in t01
    assert "已达成 · Met" in t01


def test_count_target_is_drawn_as_progress_towards_the_count(html: str):
    t14 = card(html, "T14")
    (bar,) = [e for e in parse_elements(t14) if e.attrs.get("data-series") == "progress"]
    assert float(bar.attrs["width"]) == pytest.approx(558 * 12 / 30, abs=0.1)
    assert "重庆城市交通开发投资（集团）有限公司" in t14


def test_summary_counts_targets_by_status(elements: list[Element], html: str):
    tiles = [e.attrs["data-status"] for e in elements if e.tag == "div" and "data-status" in e.attrs]
    assert tiles == ["off_track", "at_risk", "on_track", "met", "no_data"]
    counts = re.findall(r'data-status="(\w+)"><div class="n">(\d+)</div>', html)
    assert counts == [("off_track", "2"), ("at_risk", "2"), ("on_track", "2"), ("met", "1"), ("no_data", "21")]
    assert "run <code>run-report</code>" in html


def test_page_is_self_contained_utf8_with_no_external_resources(elements: list[Element], html: str):
    assert elements[0] == Element("html", {"lang": "zh-CN"})
    assert Element("meta", {"charset": "utf-8"}) in elements
    loaded = [e for e in elements if e.tag in {"script", "img", "iframe", "link", "object", "embed", "source"}]
    assert loaded == []
    assert "url(" not in html and "@import" not in html


def test_report_refuses_a_database_without_target_tracking(tmp_path: Path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    with pytest.raises(ReportError, match=f"{db} has no marts.target_tracking"):
        build_indicator_report(db, tmp_path / "indicators.html")
    assert not (tmp_path / "indicators.html").exists()


@pytest.mark.parametrize(
    ("label", "position"), [("2022", 2022.0), ("2022Q3", 2021.75), ("2022Q4", 2022.0), ("2022-06", 2021.5)]
)
def test_period_position_is_the_end_of_the_period_in_years(label: str, position: float):
    assert period_position(parse_period(label)) == position


def test_axis_ticks_are_round_numbers_covering_the_data():
    assert nice_ticks(1.99, 2.6) == [1.8, 2.0, 2.2, 2.4, 2.6]
    assert nice_ticks(160, 220) == [160, 180, 200, 220]
    assert nice_ticks(2.8, 10.7) == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]


def test_numbers_are_formatted_for_people():
    assert [format_number(v) for v in (45000.0, 2.6, 2.456, -2.9, 0.0, None)] == ["45,000", "2.6", "2.46", "−2.9", "0", "–"]


def test_without_target_observations_the_series_come_from_the_mart_columns_the_seeds_name(tmp_path: Path):
    build = build_marts_db(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(build))
    con.execute("drop table marts.target_observations")
    con.close()
    page = Path(build_indicator_report(build, tmp_path / "indicators.html")["path"]).read_text(encoding="utf-8")

    assert chart_paths(card(page, "T22")) == {"actual": 5, "national": 5, "target": 4, "path": 2}  # marts.rd_intensity
    assert chart_paths(card(page, "T03")) == {"actual": 3, "target": 4, "path": 2}  # marts.soe_innovation, ALL, annual
    assert chart_paths(card(page, "T17")) == {"actual": 4, "national": 4, "target": 4}  # deadline passed: no path
