"""The indicator report: what each target shows, from the marts of a published serving database."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pytest

import serving
from core import settings
from serving.charts import format_number, nice_ticks
from serving.publish import publish_serving_database
from serving.report import ReportError, build_indicator_report
from tests.html_elements import Element, parse_elements
from tests.serving_fixtures import TRACKED, build_marts_db, policy_targets


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    build_marts_db(root / "warehouse.duckdb")
    publish_serving_database(root / "warehouse.duckdb", root / "serving.duckdb", "run-report")
    summary = build_indicator_report(root / "serving.duckdb", root / "reports" / "indicators.html")
    assert summary["status_counts"] == {
        "off_track": 1, "at_risk": 1, "awaiting_data": 2, "on_track": 3, "met": 0, "confidential": 0,
        "no_data": len(policy_targets()) - len(TRACKED),  # every seed target the fixture gives no figure
    }
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


CQ_URL = "http://tjj.cq.gov.cn/zwgk_233/fdzdgknr/tjxx/sjjd_55469/202409/t20240930.html"
GDP_URL = "https://data.stats.gov.cn/easyquery.htm?cn=E0103"


def test_latest_figure_names_the_publisher_title_release_date_and_link_of_its_releases(html: str):
    t22 = card(html, "T22")
    sources = re.findall(r"<li>(.*?)</li>", t22, re.S)
    assert [" ".join(re.sub(r"<[^>]+>", " ", s).split()) for s in sources] == [
        "R&amp;D intensity: Chongqing Municipal Bureau of Statistics, “2023年重庆市科技创新主要指标”, released 2024-09-30 (final), " + CQ_URL,
        "R&amp;D expenditure: Chongqing Municipal Bureau of Statistics, “2023年重庆市科技创新主要指标”, released 2024-09-30 (final), " + CQ_URL,
        "Gross (regional) domestic product: National Bureau of Statistics of China (provincial data), “分省年度数据：重庆市”, released 2024-03-20 (final), " + GDP_URL,
    ]
    links = [e.attrs["href"] for e in parse_elements(t22) if e.tag == "a" and not e.attrs["href"].startswith("data:")]
    assert links == [CQ_URL, CQ_URL, GDP_URL]
    assert "releases/cq/" not in t22  # sources are named by publisher, not by internal file path


def test_every_chart_has_axis_titles_with_its_unit(html: str):
    t22 = card(html, "T22")
    titles = {e.attrs["data-axis"] for e in parse_elements(t22) if e.tag == "text" and "data-axis" in e.attrs}
    assert titles == {"x", "y"}
    assert ">% of GDP 占GDP比重%</text>" in t22 and ">Year (periods placed at their end) 年份</text>" in t22
    assert "data-axis=\"x\"" in card(html, "T14") and "count since the plan&#x27;s start</text>" in card(html, "T14")


def csv_of(card_html: str) -> list[list[str]]:
    (link,) = [e for e in parse_elements(card_html) if e.tag == "a" and "data-csv" in e.attrs]
    prefix = "data:text/csv;charset=utf-8,"
    assert link.attrs["href"].startswith(prefix) and link.attrs["download"].endswith(".csv")
    text = unquote(link.attrs["href"][len(prefix):])
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_every_chart_s_data_downloads_as_csv_from_the_page(html: str, elements: list[Element]):
    assert len([e for e in elements if e.tag == "a" and "data-csv" in e.attrs]) == len(TRACKED)
    rows = csv_of(card(html, "T22"))
    assert rows[0] == ["series", "period", "value", "unit"]
    assert rows[1] == ["Chongqing 重庆市", "2019", "1.99", "% of GDP 占GDP比重%"]
    assert rows[5] == ["Chongqing 重庆市", "2023", "2.46", "% of GDP 占GDP比重%"]
    assert [r[0] for r in rows[6:11]] == ["China 全国"] * 5
    assert rows[-1] == ["target (>=)", "2025", "2.6", "% of GDP 占GDP比重%"]
    assert csv_of(card(html, "T14"))[1:] == [
        ["重庆城市交通开发投资（集团）有限公司", "2023", "5.0", "count 个"],
        ["重庆城市交通开发投资（集团）有限公司", "2024", "12.0", "count 个"],
        ["target (>=)", "2027", "30.0", "count 个"],
    ]


def test_regions_are_named_as_the_published_dim_region_names_them(tmp_path: Path):
    build = build_marts_db(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(build))
    con.execute("update marts.dim_region set name_en = 'Chungking' where region_code = 'CN-CQ'")
    con.close()
    publish_serving_database(build, tmp_path / "serving.duckdb", "run-names")
    page = Path(build_indicator_report(tmp_path / "serving.duckdb", tmp_path / "indicators.html")["path"])
    t22 = card(page.read_text(encoding="utf-8"), "T22")
    assert {row[0] for row in csv_of(t22)[1:-1]} == {"Chungking 重庆市", "China 全国"}
    assert '<span class="key">Chungking 重庆市</span>' in t22 and '<span class="key key-national">China 全国</span>' in t22


def test_a_target_beyond_its_value_reads_exceeded_by_not_a_negative_pace(html: str):
    t01 = card(html, "T01")
    assert "Exceeded by 超出</dt><dd>1.1 pp</dd>" in t01
    assert "none 无需" in t01 and "−1.1" not in t01 and "Gap 差距" not in t01


def test_age_staleness_and_awaiting_data_are_said_on_the_card(html: str):
    t22 = card(html, "T22")
    assert "已发布" not in t22 and "待发布数据 · Awaiting data" in t22
    assert "2023, 2.92 years old on 2026-12-01 — stale" in " ".join(t22.split())
    assert "The target year 2025 has passed and its figure is not published yet" in t22
    assert "Status judged on" not in t22  # nothing is judged while awaiting
    t03 = " ".join(card(html, "T03").split())
    assert 'data-stale="false"' in t03 and "2024, 1.92 years old" in t03 and "Status judged on 判定依据: 2024." in t03


def test_targets_without_data_say_what_input_would_feed_them(html: str):
    row = re.search(r'<tr data-target="T18">.*?</tr>', html, re.S).group(0)
    assert "工业投资增长" in row and "not yet in ref_indicator_aliases" in row
    row = re.search(r'<tr data-target="T06">.*?</tr>', html, re.S).group(0)
    assert "Recognitions register (format 6): kind white_list_platform" in row


def test_soe_target_uses_annual_figures_only_and_no_national_line(html: str):
    t01 = card(html, "T01")
    # 2022-2024 annual; the 2024Q2 figure has another frequency than the latest (annual) one
    assert chart_paths(t01) == {"actual": 3, "target": 4, "path": 2}  # not met before 2026: the path stays
    assert "submissions of Municipal SOEs 市属国企 (<code>marts.soe_innovation</code>)" in t01
    assert "进展顺利 · On track" in t01


def test_count_target_is_drawn_as_progress_towards_the_count(html: str):
    t14 = card(html, "T14")
    (bar,) = [e for e in parse_elements(t14) if e.attrs.get("data-series") == "progress"]
    assert float(bar.attrs["width"]) == pytest.approx(558 * 12 / 30, abs=0.1)
    assert "重庆城市交通开发投资（集团）有限公司" in t14


def test_summary_counts_targets_by_status(elements: list[Element], html: str):
    tiles = [e.attrs["data-status"] for e in elements if e.tag == "div" and "data-status" in e.attrs]
    assert tiles == ["off_track", "at_risk", "awaiting_data", "on_track", "met", "no_data"]
    counts = re.findall(r'data-status="(\w+)"><div class="n">(\d+)</div>', html)
    assert counts == [
        ("off_track", "1"), ("at_risk", "1"), ("awaiting_data", "2"), ("on_track", "3"), ("met", "0"),
        ("no_data", str(len(policy_targets()) - len(TRACKED))),
    ]
    assert "run <code>run-report</code>" in html


def test_page_is_self_contained_utf8_with_no_external_resources(elements: list[Element], html: str):
    assert elements[0] == Element("html", {"lang": "zh-CN"})
    assert Element("meta", {"charset": "utf-8"}) in elements
    loaded = [e for e in elements if e.tag in {"script", "img", "iframe", "link", "object", "embed", "source"}]
    assert loaded == []
    # links are plain links a reader follows (sources) or downloads (chart data): nothing is fetched to show the page
    assert {e.attrs["href"].split(":")[0] for e in elements if e.tag == "a"} == {"http", "https", "data", "dbt-docs/index.html", "quality/index.html"}
    assert "url(" not in html and "@import" not in html


def test_report_reads_the_serving_database_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    build_marts_db(tmp_path / "warehouse.duckdb")
    publish_serving_database(tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb", "run-alone")
    targets = len(policy_targets())
    monkeypatch.setattr(settings, "SEEDS_DIR", tmp_path / "no-seeds-here")  # no repository file is read
    assert not list(Path(serving.__file__).parent.glob("*.csv"))
    page = build_indicator_report(tmp_path / "serving.duckdb", tmp_path / "indicators.html")
    assert page["targets"] == targets and page["charts"] == len(TRACKED)


def test_report_refuses_a_database_without_target_labels(tmp_path: Path):
    build = build_marts_db(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(build))
    con.execute("drop table marts.dim_target")
    con.close()
    with pytest.raises(ReportError, match="has no marts.dim_target"):
        build_indicator_report(build, tmp_path / "indicators.html")


def test_report_refuses_a_database_without_target_tracking(tmp_path: Path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    with pytest.raises(ReportError, match=f"{db} has no marts.target_tracking"):
        build_indicator_report(db, tmp_path / "indicators.html")
    assert not (tmp_path / "indicators.html").exists()


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
    # what only the build database has is never read, even when the published mart is missing
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_target_observations as "
        "select 'T22' as target_id, '2024' as period, 2024.0 as period_end_year, 9.9 as value"
    )
    con.close()
    page = Path(build_indicator_report(build, tmp_path / "indicators.html")["path"]).read_text(encoding="utf-8")

    assert chart_paths(card(page, "T22")) == {"actual": 5, "national": 5, "target": 4, "path": 2}  # marts.rd_intensity
    assert chart_paths(card(page, "T03")) == {"actual": 3, "target": 4, "path": 2}  # marts.soe_innovation, ALL, annual
    assert chart_paths(card(page, "T17")) == {"actual": 4, "national": 4, "target": 4}  # deadline passed: no path


def test_a_register_target_names_the_registers_as_its_source_not_the_submissions(tmp_path: Path):
    build = build_marts_db(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(build))
    con.execute(
        """update marts.target_tracking set latest_value = 5, latest_period = '2026', gap = -2, exceeded_by = 2,
           status = 'on_track', judged_period = '2026', latest_age_years = 0, is_stale = false where target_id = 'T06'"""
    )
    con.execute("insert into marts.target_observations values ('T06', '2026', 2026.0, 5.0)")
    con.close()
    publish_serving_database(build, tmp_path / "serving.duckdb", "run-register")
    page = build_indicator_report(tmp_path / "serving.duckdb", tmp_path / "indicators.html")
    t06 = " ".join(card(Path(page["path"]).read_text(encoding="utf-8"), "T06").split())
    assert "counted by the warehouse from the recognitions registers 认定与成果登记 (holders in Municipal SOEs 市属国企;" in t06
    assert "marts.recognitions_in_force" in t06 and "soe_innovation" not in t06
