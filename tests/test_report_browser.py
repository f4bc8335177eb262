"""The indicator report and the dbt docs opened in Debian's chromium from file:// (pytest-playwright): charts
drawn, every model listed, no console message, no script error, no failed request, nothing fetched from off
the machine.

See tests/browser.py for how the browser is found and what a page's log records.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import dagster as dg
import pytest
from playwright.sync_api import Page, expect

from serving.publish import publish_serving_database
from serving.report import build_indicator_report
from tests.browser import PageLog, open_offline, sizes
from tests.serving_fixtures import TRACKED, build_marts_db

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report-browser")
    build_marts_db(root / "warehouse.duckdb")
    publish_serving_database(root / "warehouse.duckdb", root / "serving.duckdb", "run-browser")
    return Path(build_indicator_report(root / "serving.duckdb", root / "reports" / "indicators.html")["path"])


@pytest.fixture
def shown(page: Page, report: Path) -> PageLog:
    return open_offline(page, report)


def csv_rows(href: str) -> list[list[str]]:
    """The rows of a chart's ``data:text/csv`` link (UTF-8 with a byte order mark, for Excel)."""
    text = unquote(href.removeprefix("data:text/csv;charset=utf-8,"))
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([-\d.]+),([-\d.]+)", d)]


def test_page_renders_offline_without_console_messages_errors_or_requests(shown: PageLog):
    assert shown.problems() == []


def test_every_target_with_data_has_a_chart_drawn_with_its_series(page: Page, shown: PageLog):
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(len(TRACKED))
    assert all(width > 100 and height > 20 for width, height in sizes(charts))
    actual = page.locator('path[data-series="actual"]')
    expect(actual).to_have_count(len(TRACKED) - 1)  # T14 counts new patents: a progress bar
    assert all(width > 0 and height > 0 for width, height in sizes(actual))  # a line, not a point or nothing
    for d, count in actual.evaluate_all("els => els.map(e => [e.getAttribute('d'), e.dataset.points])"):
        points = path_points(d)
        assert len(points) == int(count) >= 2
        assert len({y for _, y in points}) > 1, f"flat line drawn: {d}"
        assert all(0 <= x <= 560 and 0 <= y <= 250 for x, y in points)  # inside the chart's viewBox
    for target_id in TRACKED:
        expect(page.locator(f"article#{target_id} svg.chart")).to_be_visible()


def test_every_chart_s_csv_downloads_from_the_page_and_sources_are_plain_links(page: Page, shown: PageLog):
    sources = page.locator('a[href^="http"]')
    expect(sources).not_to_have_count(0)
    assert set(sources.evaluate_all("els => els.map(e => e.rel)")) == {"noopener noreferrer"}
    downloads = page.locator("a[data-csv]")
    links = downloads.evaluate_all("els => els.map(e => [e.dataset.csv, e.getAttribute('download'), e.href])")
    assert sorted(target for target, _, _ in links) == sorted(TRACKED)
    for target, filename, href in links:
        assert filename.startswith(target + "_") and filename.endswith(".csv")
        rows = csv_rows(href)
        assert rows[0] == ["series", "period", "value", "unit"] and len(rows) >= 3
        assert all(float(row[2]) == float(row[2]) for row in rows[1:])  # every value is a number
    # a reader's click saves the file under its name, with the same rows
    with page.expect_download() as clicked:
        downloads.first.click()
    _, filename, href = links[0]
    assert clicked.value.suggested_filename == filename
    saved = Path(clicked.value.path()).read_text(encoding="utf-8-sig")
    assert list(csv.reader(io.StringIO(saved))) == csv_rows(href)


BROKEN_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="stylesheet" href="missing.css">'
    '<script src="https://cdn.example.org/chart.js"></script></head>'
    '<body><svg class="chart" width="0" height="0"></svg><script>console.log("hello"); undefinedFunction();</script>'
    "</body></html>"
)


def test_a_broken_page_shows_each_of_its_problems(page: Page, tmp_path: Path):
    """The checks above can fail: a missing file, a CDN script, console output, a script error and a chart
    drawn at no size are each reported."""
    broken = tmp_path / "broken.html"
    broken.write_text(BROKEN_PAGE, encoding="utf-8")

    log = open_offline(page, broken)

    assert log.external_requests == ["https://cdn.example.org/chart.js"]
    assert [r.split(": ")[0] for r in log.failed_requests] == [f"{tmp_path.as_uri()}/missing.css"]
    assert sorted(log.console) == [  # chromium logs each failed resource too
        "error: Failed to load resource: net::ERR_BLOCKED_BY_CLIENT.Inspector (https://cdn.example.org/chart.js:0)",
        f"error: Failed to load resource: net::ERR_FILE_NOT_FOUND ({tmp_path.as_uri()}/missing.css:0)",
        f"log: hello ({broken.as_uri()}:0)",
    ]
    assert log.script_errors == ["ReferenceError: undefinedFunction is not defined"]
    assert sizes(page.locator("svg.chart")) == [(0, 0)]


@pytest.fixture(scope="module")
def dbt_docs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dbt docs as the pipeline's ``reports/dbt_docs`` asset publishes them (into an empty warehouse)."""
    from orchestration.assets.dbt import dbt_docs, warehouse_dbt_models
    from orchestration.resources import build_resources

    root = tmp_path_factory.mktemp("dbt-docs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_DIR", str(root / "warehouse"))
        mp.setenv("LANDING_DIR", str(root / "landing"))
        result = dg.materialize(
            [warehouse_dbt_models, dbt_docs],
            selection=[dbt_docs.key],
            resources=build_resources(),
            instance=dg.DagsterInstance.ephemeral(),
        )
    assert result.success
    return root / "warehouse" / "reports" / "dbt-docs"


#: Two quirks of dbt's own page, URLs it never fills in, which chromium asks for and cannot find: its navigation
#: icons are bound with ``src="{{ getIcon(...) }}"`` instead of AngularJS's ``ng-src`` (asked for before Angular
#: fills them in), and its favicon link still reads ``${require('./assets/favicons/favicon.ico')}``.
UNFILLED_URLS = re.compile(r"/%7B%7B%20getIcon\(|/\$%7Brequire\('\./assets/favicons/")


def test_dbt_docs_open_from_disk_with_every_model_and_source(page: Page, dbt_docs_site: Path, tmp_path: Path):
    manifest = json.loads((dbt_docs_site / "manifest.json").read_text(encoding="utf-8"))
    # the page alone, nothing next to it: it must not need manifest.json or catalog.json (a file:// page
    # cannot fetch them)
    docs = tmp_path / "dbt-docs" / "index.html"
    docs.parent.mkdir()
    shutil.copy2(dbt_docs_site / "index.html", docs)

    log = open_offline(page, docs)

    expect(page.get_by_role("heading", name="Welcome!")).to_be_visible()
    for source_name in sorted({source["source_name"] for source in manifest["sources"].values()}):
        expect(page.get_by_text(source_name, exact=True).filter(visible=True).first).to_be_visible()
    listed = page.locator("[data-nav-unique-id]")
    ids = set(listed.evaluate_all("els => els.map(e => e.dataset.navUniqueId)"))
    models = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] in ("model", "seed")}
    assert len(models) > 40 and models <= ids
    assert set(manifest["sources"]) <= ids
    assert [p for p in log.problems() if not UNFILLED_URLS.search(p)] == []
