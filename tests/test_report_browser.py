"""The indicator report and the dbt docs rendered in headless Chromium from file://: charts drawn, every
model listed, nothing blank, no console errors.

See tests/browser.py for what is checked and how (DOM dump, screenshot, Chromium's console log).
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

from serving.publish import publish_serving_database
from serving.report import build_indicator_report
from tests import browser
from tests.serving_fixtures import TRACKED, build_marts_db

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = browser.chromium()  # installs Debian's chromium once when it is missing
    if binary is None:
        pytest.skip(browser.install_failure_reason())
    return binary


@pytest.fixture(scope="module")
def rendering(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> browser.Rendering:
    root = tmp_path_factory.mktemp("report-browser")
    build_marts_db(root / "warehouse.duckdb")
    publish_serving_database(root / "warehouse.duckdb", root / "serving.duckdb", "run-browser")
    page = Path(build_indicator_report(root / "serving.duckdb", root / "reports" / "indicators.html")["path"])
    return browser.render(page, root / "chromium")


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([-\d.]+),([-\d.]+)", d)]


def test_every_target_with_data_has_a_rendered_chart_with_data(rendering: browser.Rendering):
    charts = [e for e in rendering.elements if e.tag == "svg" and "chart" in e.attrs.get("class", "")]
    assert len(charts) == len(TRACKED)
    actual = [e for e in rendering.elements if e.tag == "path" and e.attrs.get("data-series") == "actual"]
    assert len(actual) == len(TRACKED) - 1  # T14 counts new patents: a progress bar
    for path in actual:
        points = path_points(path.attrs["d"])
        assert len(points) == int(path.attrs["data-points"]) >= 2
        assert len({y for _, y in points}) > 1, f"flat line drawn: {path.attrs['d']}"
        assert all(0 <= x <= 560 and 0 <= y <= 250 for x, y in points)  # inside the chart's viewBox


def test_page_renders_without_console_errors_or_failed_resources(rendering: browser.Rendering):
    assert rendering.console == []


def test_screenshot_is_not_blank(rendering: browser.Rendering):
    assert rendering.screenshot.stat().st_size > 50_000
    assert browser.distinct_scanlines(rendering.screenshot) > 500


def test_console_check_catches_script_errors_and_missing_resources(chromium: str, tmp_path: Path):
    """The console check can fail: a broken page reports its errors."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="stylesheet" href="missing.css"></head>'
        "<body><p>x</p><script>undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    console = sorted(browser.render(page, tmp_path / "chromium").console)
    assert len(console) == 2
    assert console[0].startswith("Uncaught ReferenceError: undefinedFunction is not defined")
    assert console[1].startswith(f"resource failed to load: <link> {tmp_path.as_uri()}/missing.css")


def test_blank_page_screenshot_is_recognised_as_blank(chromium: str, tmp_path: Path):
    page = tmp_path / "blank.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>', encoding="utf-8")
    assert browser.distinct_scanlines(browser.render(page, tmp_path / "chromium").screenshot) <= 10


def test_rendered_sources_are_plain_links_and_every_chart_has_its_csv(rendering: browser.Rendering):
    links = [e.attrs for e in rendering.elements if e.tag == "a"]
    sources = [a["href"] for a in links if a["href"].startswith("http")]
    assert sources and all(a.get("rel") == "noopener noreferrer" for a in links if a["href"].startswith("http"))
    downloads = [a for a in links if "data-csv" in a]
    assert sorted(a["data-csv"] for a in downloads) == sorted(TRACKED)
    for link in downloads:
        assert link["download"].startswith(link["data-csv"] + "_") and link["download"].endswith(".csv")
        text = unquote(link["href"].removeprefix("data:text/csv;charset=utf-8,"))
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        assert rows[0] == ["series", "period", "value", "unit"] and len(rows) >= 3
        assert all(float(row[2]) == float(row[2]) for row in rows[1:])  # every value is a number


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


def test_dbt_docs_open_from_disk_with_every_model_and_source(chromium: str, dbt_docs_site: Path, tmp_path: Path):
    manifest = json.loads((dbt_docs_site / "manifest.json").read_text(encoding="utf-8"))
    # the page alone, nothing next to it: it must not need manifest.json or catalog.json (a file:// page
    # cannot fetch them)
    page = tmp_path / "dbt-docs" / "index.html"
    page.parent.mkdir()
    shutil.copy2(dbt_docs_site / "index.html", page)

    rendering = browser.render(page, tmp_path / "chromium")

    assert rendering.console == []
    listed = {e.attrs["data-nav-unique-id"] for e in rendering.elements if "data-nav-unique-id" in e.attrs}
    models = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] in ("model", "seed")}
    assert len(models) > 40 and models <= listed
    assert set(manifest["sources"]) <= listed
    assert browser.distinct_scanlines(rendering.screenshot) > 200
