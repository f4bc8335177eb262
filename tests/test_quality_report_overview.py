"""The quality report's index opens with the run overview: the summary of the run (blocking checks first),
then the load log, the current quarantine with its reasons and raw records, and the history of runs.

The overview is written into a stand-in for GX's index page here (GX's own page: tests/test_quality_checks.py).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from expectations.overview import CONFIDENTIAL_EXAMPLE, write_run_overview
from tests.test_run_summary import RUN_STARTED_AT, build_audit_db

GX_INDEX = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>\n<nav class="navbar">GX</nav>'
    '<div class="col-md-10"><div id="section-1"><table id="gx-validations"><tr><td>GX</td></tr></table></div></div>'
    "</body></html>"
)


class _Page(HTMLParser):
    """The ids of the page's headings, sections and tables in document order, and each table's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.headings: dict[str, str] = {}
        self._table: str | None = None
        self._heading: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element_id = dict(attrs).get("id")
        if element_id and tag in {"section", "div", "table", "h2", "h3", "h4"}:
            self.ids.append(element_id)
        if tag == "table" and element_id:
            self._table = element_id
            self.tables[element_id] = []
        elif tag in {"h2", "h3", "h4"} and element_id:
            self._heading = element_id
            self.headings[element_id] = ""
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in {"td", "th"}:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag in {"h2", "h3", "h4"}:
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._heading:
            self.headings[self._heading] += data


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "quality"
    site.mkdir()
    (site / "index.html").write_text(GX_INDEX, encoding="utf-8")
    return site


def test_index_opens_with_the_summary_then_load_log_quarantine_and_runs(tmp_path: Path, site: Path) -> None:
    db = build_audit_db(tmp_path / "warehouse.duckdb")

    write_run_overview(db, "run-2", RUN_STARTED_AT, site)
    write_run_overview(db, "run-2", RUN_STARTED_AT, site)  # each check of a run writes it again: one overview

    page = parse(site / "index.html")
    assert page.ids == [
        "run-overview",
        "summary-blocking-checks-title", "summary-blocking-checks",
        "summary-failed-files-title", "summary-failed-files",
        "summary-quarantined-files-title", "summary-quarantined-files",
        "summary-events-title", "summary-events",
        "freshness-title", "freshness",
        "load-log-title", "load-log",
        "quarantine-title", "quarantine",
        "quarantine-sample-title", "quarantine-sample",
        "runs-title", "runs",
        "section-1", "gx-validations",
    ]
    assert page.headings["summary-blocking-checks-title"] == "Publishing stopped by 1 blocking check"
    assert page.tables["summary-blocking-checks"] == [
        ["suite", "expectation", "observed", "expected", "what to do"],
        ["marts.rd_intensity", "rd_intensity_pct_in_range", "1 of 2 rows unexpected",
         "rd_intensity_pct within 0.0 .. 10.0. R&D intensity is a share of GDP; no economy spends over 10 % of GDP on "
         "R&D.",
         "see suite marts.rd_intensity in the quality report for the offending rows, correct or remove the landing "
         "file they come from (or the reference data) and run `make run` again; the last published data stays in "
         "place until then"],
    ]
    assert page.tables["summary-failed-files"] == [
        ["file", "reason", "what to do"],
        ["releases/nbs/bad.csv", "release_date 2031-01-01 is after today (2026-11-21)",
         "fix the file or its sidecar (bad.csv.meta.yml) and run `make run` again"],
    ]
    fix_the_file = "correct the file: its new version replaces this one at the next run"
    assert page.tables["summary-quarantined-files"] == [
        ["file", "rows quarantined", "reason", "rows", "example", "what to do"],
        ["releases/cq/gdp_2021.json", "4", "unmapped region", "3", "unmapped region '寧夏回族自治區'",
         "add the region name to dbt_project/seeds/ref_region_aliases.csv"],
        ["releases/cq/gdp_2021.json", "4", "unmapped indicator", "1", "unmapped indicator '研发经费内部支出'",
         "add the indicator label to dbt_project/seeds/ref_indicator_aliases.csv"],
        ["releases/cq/gdp_2021.json", "4", "unparseable number", "1", "unparseable number '1,2,3x'", fix_the_file],
        # the reasons of enterprise rows quote confidential values: the report points to the restricted tier
        ["enterprise/bulk_2024.csv", "2", "invalid_uscc", "1", CONFIDENTIAL_EXAMPLE, fix_the_file],
        ["enterprise/bulk_2024.csv", "2", "unknown_industry_code", "1", CONFIDENTIAL_EXAMPLE,
         "add the code to dbt_project/seeds/ref_industry_codes.csv if it is a GB/T 4754-2017 class"],
    ]
    assert page.tables["summary-events"] == [
        ["event", "file", "load", "note", "what to do"],
        ["withdrawn", "releases/old/population.csv", "L3", "removed from the landing folder",
         "its figures left the current marts (kept in the history, marked withdrawn); put the file back to restore "
         "them"],
        ["duplicate", "enterprise/copy of bulk_2024.csv", "D1", "same content as enterprise/bulk_2024.csv (load E1)",
         "nothing was loaded; remove the copy unless it is meant to be there"],
    ]
    assert page.tables["load-log"] == [
        ["file", "status", "at", "rows loaded", "rows quarantined at load", "rows quarantined now", "reason or note",
         "load"],
        ["enterprise/bulk_2024.csv", "loaded", "2026-11-20 10:00:06", "3", "2", "2", "", "E1"],
        ["enterprise/copy of bulk_2024.csv", "duplicate", "2026-11-21 09:00:04", "0", "0", "0",
         "same content as enterprise/bulk_2024.csv (load E1)", "D1"],
        ["enterprise/removed_since.xlsx", "failed", "2026-11-20 10:00:05", "0", "0", "0", "sheet 填报 not found", "F3"],
        ["releases/cq/gdp_2021.json", "loaded", "2026-11-20 10:00:01", "20", "1", "4", "", "L2"],
        ["releases/nbs/bad.csv", "failed", "2026-11-21 09:00:01", "0", "0", "0",
         "release_date 2031-01-01 is after today (2026-11-21)", "F4"],
        ["releases/nbs/fixed.csv", "loaded", "2026-11-21 09:00:02", "31", "0", "0", "", "L4"],
        ["releases/nbs/rd_intensity_2020.csv", "loaded", "2026-11-20 10:00:00", "32", "0", "0", "", "L1"],
        ["releases/old/population.csv", "withdrawn", "2026-11-21 09:00:03", "0", "0", "0",
         "removed from the landing folder", "L3"],
    ]
    assert page.headings["quarantine-title"] == "Current quarantine: 6 rows"
    assert page.tables["quarantine"] == [
        ["file", "rule", "reason", "rows"],
        # an enterprise row's reason quotes its values: the report points to the restricted tier instead
        ["enterprise/bulk_2024.csv", "invalid_uscc", CONFIDENTIAL_EXAMPLE, "1"],
        ["enterprise/bulk_2024.csv", "unknown_industry_code", CONFIDENTIAL_EXAMPLE, "1"],
        ["releases/cq/gdp_2021.json", "unmapped region", "unmapped region '寧夏回族自治區'", "3"],
        ["releases/cq/gdp_2021.json", "unmapped indicator", "unmapped indicator '研发经费内部支出'", "1"],
        ["releases/cq/gdp_2021.json", "unparseable number", "unparseable number '1,2,3x'", "1"],
    ]
    assert page.tables["quarantine-sample"][:3] == [
        ["file", "row", "stage", "reason", "record"],
        ["enterprise/bulk_2024.csv", "2", "mapping", CONFIDENTIAL_EXAMPLE, ""],
        ["enterprise/bulk_2024.csv", "3", "load", CONFIDENTIAL_EXAMPLE, ""],
    ]
    assert len(page.tables["quarantine-sample"]) == 1 + 6
    assert page.tables["runs"] == [
        ["run", "checked from", "checked until", "suites", "expectations", "failed", "blocking failed", "failures"],
        ["run-2", "2026-11-21 09:04:00", "2026-11-21 09:05:01", "3", "4", "3", "1",
         "marts.rd_intensity / rd_intensity_pct_in_range, marts.rd_intensity / rd_intensity_pct_plausible, "
         "raw.release_observations / key_unique"],
        ["run-1", "2026-11-20 10:05:00", "2026-11-20 10:05:00", "1", "1", "1", "1",
         "marts.industrial_va_growth / industrial_va_growth_pct_in_range"],
    ]


def test_everything_from_the_data_is_escaped(tmp_path: Path, site: Path) -> None:
    db = build_audit_db(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(db))
    con.execute(
        "insert into audit.quarantine (load_id, source_file, row_number, reason, record, quarantined_at, stage) values "
        "('L1', 'releases/nbs/rd_intensity_2020.csv', 3, 'unmapped region ''<img src=x onerror=alert(1)>''', "
        "'{\"region\": \"</code><script>alert(1)</script>\"}', timestamp '2026-11-21 09:00:06', 'mapping')"
    )
    con.close()

    write_run_overview(db, "run-2", RUN_STARTED_AT, site)

    html = (site / "index.html").read_text(encoding="utf-8")
    assert "<img" not in html and "<script>" not in html
    page = parse(site / "index.html")
    assert ["releases/nbs/rd_intensity_2020.csv", "unmapped region", "unmapped region '<img src=x onerror=alert(1)>'",
            "1"] in page.tables["quarantine"]
    assert ["releases/nbs/rd_intensity_2020.csv", "3", "mapping", "unmapped region '<img src=x onerror=alert(1)>'",
            '{"region": "</code><script>alert(1)</script>"}'] in page.tables["quarantine-sample"]


def test_without_a_build_database_the_overview_says_so(tmp_path: Path, site: Path) -> None:
    write_run_overview(tmp_path / "absent.duckdb", "run-2", RUN_STARTED_AT, site)

    page = parse(site / "index.html")
    assert page.ids[:4] == ["run-overview", "freshness-title", "freshness", "load-log-title"]
    assert page.tables["freshness"][1:] == page.tables["load-log"][1:] == [["none"]]
    assert f"no build database at {tmp_path / 'absent.duckdb'}: nothing was loaded yet" in (
        site / "index.html").read_text(encoding="utf-8")
