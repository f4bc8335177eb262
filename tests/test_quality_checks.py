"""The suites as Dagster asset checks (orchestration/checks.py) and the quality report.

A failed error-level check on a mart blocks what is downstream of it; its result carries the observed
value and the unexpected count, lands in audit.quality_results and in the Data Docs report, which
renders offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from playwright.sync_api import Page, expect

from core import settings
from expectations import SUITES, build_quality_report
from orchestration.assets.dbt import warehouse_dbt_models
from orchestration.checks import QUALITY_CHECKS, QUALITY_REPORT_KEY, quality_report, suites_check
from orchestration.resources import warehouse_resource
from tests.browser import open_offline
from tests.test_expectations_suites import build_clean_warehouse
from tests.test_quality_report_overview import parse

RD_INTENSITY = dg.AssetKey(["marts", "rd_intensity"])


@pytest.fixture
def warehouse_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    settings.warehouse_dir().mkdir(parents=True)
    build_clean_warehouse(settings.warehouse_db_path())
    return settings.warehouse_dir()


def _checks_on(asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    """The step of the suites on ``asset_key`` alone (the code location's steps check more assets)."""
    return suites_check("quality_test", [s for s in SUITES if dg.AssetKey(list(s.asset_key)) == asset_key])


def _pipeline(statement: str | None, published: list[str]) -> list[dg.AssetsDefinition]:
    """A stand-in for dbt's rd_intensity mart (optionally broken by ``statement``) and a publisher after it."""

    @dg.asset(key=RD_INTENSITY)
    def rd_intensity() -> None:
        if statement:
            con = duckdb.connect(str(settings.warehouse_db_path()))
            con.execute(statement)
            con.close()

    @dg.asset(deps=[rd_intensity])
    def serving() -> None:
        published.append("serving")

    return [rd_intensity, serving]


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_failed_error_check_on_a_mart_blocks_downstream_assets(warehouse_dir: Path) -> None:
    published: list[str] = []
    assets = _pipeline("update marts.rd_intensity set rd_intensity_pct = 45 where region_code = 'CN-CQ'", published)

    result = dg.materialize([*assets, _checks_on(RD_INTENSITY)], raise_on_error=False, resources={"warehouse": warehouse_resource()})

    evaluations = _evaluations(result)
    assert {name for name, e in evaluations.items() if not e.passed} == {
        "rd_intensity__quality_errors", "rd_intensity__quality_warnings"
    }
    errors = evaluations["rd_intensity__quality_errors"]
    assert errors.severity == dg.AssetCheckSeverity.ERROR
    assert errors.description.startswith("1 of ")
    assert errors.description.endswith(" error-level expectations failed: rd_intensity_pct_in_range (1 of 2 rows unexpected)")
    (failure,) = errors.metadata["failed_expectations"].value
    assert failure["expectation"] == "rd_intensity_pct_in_range"
    assert failure["unexpected_count"] == 1
    assert failure["observed_value"] == "1 of 2 rows unexpected"
    assert failure["examples"] == [45.0]
    warnings = evaluations["rd_intensity__quality_warnings"]
    assert warnings.severity == dg.AssetCheckSeverity.WARN
    assert [f["expectation"] for f in warnings.metadata["failed_expectations"].value] == ["rd_intensity_pct_plausible"]
    assert published == []
    assert not result.success


def test_passing_checks_let_downstream_assets_run(warehouse_dir: Path) -> None:
    published: list[str] = []

    result = dg.materialize([*_pipeline(None, published), _checks_on(RD_INTENSITY)], raise_on_error=False, resources={"warehouse": warehouse_resource()})

    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert published == ["serving"]


def test_a_failed_warning_check_does_not_block(warehouse_dir: Path) -> None:
    published: list[str] = []
    assets = _pipeline("update marts.rd_intensity set published_rd_intensity_pct = 7.9 where region_code = 'CN-BJ'", published)

    result = dg.materialize([*assets, _checks_on(RD_INTENSITY)], raise_on_error=False, resources={"warehouse": warehouse_resource()})

    evaluations = _evaluations(result)
    assert evaluations["rd_intensity__quality_errors"].passed
    assert not evaluations["rd_intensity__quality_warnings"].passed
    assert evaluations["rd_intensity__quality_warnings"].description.endswith(
        "warn-level expectations failed: published_rd_intensity_pct_plausible (1 of 2 rows unexpected)"
    )
    assert published == ["serving"]


def test_check_results_are_recorded_and_reported(warehouse_dir: Path) -> None:
    assets = _pipeline("update marts.rd_intensity set reconciles = false where region_code = 'CN-CQ'", [])

    result = dg.materialize([*assets, _checks_on(RD_INTENSITY)], raise_on_error=False, resources={"warehouse": warehouse_resource()})

    con = duckdb.connect(str(settings.warehouse_db_path()), read_only=True)
    try:
        rows = con.execute(
            "select run_id, suite, count(*), count(*) filter (where not passed) from audit.quality_results group by all"
        ).fetchall()
        failures = con.execute(
            "select suite, expectation, observed_value from audit.quality_results where blocking and not passed"
        ).fetchall()
    finally:
        con.close()
    expectations = len(next(s for s in SUITES if s.name == "marts.rd_intensity").expectations)
    assert rows == [(result.run_id, "marts.rd_intensity", expectations, 1)]
    assert [(suite, name, json.loads(observed)) for suite, name, observed in failures] == [
        ("marts.rd_intensity", "reconciles", "1 of 2 rows unexpected")
    ]
    pages = list((warehouse_dir / "reports" / "quality" / "validations" / "marts" / "rd_intensity").rglob("*.html"))
    assert len(pages) == 1 and result.run_id in str(pages[0])
    assert "reconciles" in pages[0].read_text(encoding="utf-8")
    index = parse(warehouse_dir / "reports" / "quality" / "index.html")  # opens with the run's summary
    assert index.ids.index("run-overview") < index.ids.index("summary-blocking-checks") < index.ids.index("section-1")
    assert [row[:3] for row in index.tables["summary-blocking-checks"][1:]] == [
        ["marts.rd_intensity", "reconciles", "1 of 2 rows unexpected"]
    ]
    # run, suites, expectations, failed, blocking failed
    assert [[r[0], *r[3:7]] for r in index.tables["runs"][1:]] == [[result.run_id, "1", str(expectations), "1", "1"]]


def test_every_suite_has_an_errors_and_a_warnings_check_in_one_of_two_steps() -> None:
    """Blocking: the errors check of a suite on marts. The suites that read what dbt writes run after the build;
    the others (the loads) do not depend on it, so they are reported when the build fails."""
    loads, build = QUALITY_CHECKS
    assert (loads.node_def.name, build.node_def.name) == ("quality_of_loads", "quality_of_build")
    dbt_keys = set(warehouse_dbt_models.keys)
    specs = {(spec.asset_key, spec.name): spec for checks in QUALITY_CHECKS for spec in checks.check_specs}
    assert len(specs) == sum(len(checks.check_specs) for checks in QUALITY_CHECKS)  # each in one step
    for suite in SUITES:
        severities = {e.severity for e in suite.expectations}
        asset_key = dg.AssetKey(list(suite.asset_key))
        assert {name for key, name in specs if key == asset_key and name.startswith(suite.table_name + "__")} == {
            suite.check_name(s) for s in severities
        }
        for severity in severities:
            spec = specs[(asset_key, suite.check_name(severity))]
            assert spec.blocking == (suite.asset_key[0] == "marts" and severity == "error")
            assert spec.metadata["expectations"] == [e.name for e in suite.expectations if e.severity == severity]
    for spec in loads.check_specs:
        assert spec.asset_key not in dbt_keys and not {d.asset_key for d in spec.additional_deps} & dbt_keys
    mapped = {spec.name: spec for spec in build.check_specs if spec.asset_key == dg.AssetKey(["mapped", "release_observations"])}
    assert {d.asset_key for d in mapped["release_observations__quality_errors"].additional_deps} == {
        dg.AssetKey(["reference", "ref_indicators"]), dg.AssetKey(["reference", "ref_regions"])
    }


def test_a_step_validates_only_its_selected_suites(warehouse_dir: Path) -> None:
    checks = suites_check("quality_test", [s for s in SUITES if s.name in ("marts.rd_intensity", "marts.patents_per_10k")])
    patents = dg.AssetKey(["marts", "patents_per_10k"])

    @dg.multi_asset(specs=[dg.AssetSpec(RD_INTENSITY), dg.AssetSpec(patents)])
    def marts() -> Iterator[dg.MaterializeResult]:
        yield dg.MaterializeResult(asset_key=RD_INTENSITY)
        yield dg.MaterializeResult(asset_key=patents)

    selected = [k for k in checks.check_keys if k.asset_key == RD_INTENSITY]
    result = dg.materialize(
        [marts, checks], selection=dg.AssetSelection.assets(marts).without_checks() | dg.AssetSelection.checks(*selected),
        resources={"warehouse": warehouse_resource()},
    )

    assert {(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()} == {(k.asset_key, k.name) for k in selected}
    con = duckdb.connect(str(settings.warehouse_db_path()), read_only=True)
    try:
        assert con.execute("select distinct suite from audit.quality_results").fetchall() == [("marts.rd_intensity",)]
    finally:
        con.close()


def test_quality_report_asset_depends_on_every_checked_asset() -> None:
    assert quality_report.key == QUALITY_REPORT_KEY
    assert set(quality_report.asset_deps[QUALITY_REPORT_KEY]) == {dg.AssetKey(list(s.asset_key)) for s in SUITES}


def test_report_shows_every_suite_offline(warehouse_dir: Path, tmp_path: Path, page: Page) -> None:
    db = settings.warehouse_db_path()
    con = duckdb.connect(str(db))
    con.execute("update marts.rd_intensity set rd_intensity_pct = 45 where region_code = 'CN-CQ'")
    con.close()
    site = tmp_path / "quality"

    results = build_quality_report(db, site)
    log = open_offline(page, site / "index.html")

    assert [r.suite for r in results if not r.passed] == ["marts.rd_intensity"]
    assert log.problems() == []  # no script error or console message, nothing fetched from a CDN
    rows = page.locator("tr[data-href]")
    expect(rows.first).to_be_visible()
    links = sorted(rows.evaluate_all("els => els.map(e => e.dataset.href)"))
    validations = [link for link in links if link.startswith("validations/")]
    suites = [link for link in links if link.startswith("expectations/")]
    assert len(validations) == len(suites) == len(SUITES)
    for suite in SUITES:
        assert f"expectations/{suite.name.replace('.', '/')}.html" in suites
        assert any(link.endswith(f"/{suite.name}.html") for link in validations)
    page = site / next(link for link in validations if link.endswith("/marts.rd_intensity.html"))
    assert "[error, blocking] rd_intensity_pct within 0.0 .. 10.0" in page.read_text(encoding="utf-8")


def test_quality_report_asset_rebuilds_the_report_from_every_suite(warehouse_dir: Path) -> None:
    result = dg.materialize([quality_report], resources={"warehouse": warehouse_resource()})

    (materialization,) = result.asset_materializations_for_node(quality_report.op.name)
    assert materialization.metadata["suites"].value == len(SUITES)
    assert materialization.metadata["suites_failed"].value == 0
    assert (warehouse_dir / "reports" / "quality" / "index.html").is_file()
    assert (warehouse_dir / "gx" / "great_expectations.yml").is_file()  # GX's own files stay under WAREHOUSE_DIR
    pages = list((warehouse_dir / "reports" / "quality" / "validations").rglob("*.html"))
    assert len(pages) == len(SUITES)
    assert all(result.run_id in str(page) for page in pages)


def test_report_reuses_the_check_results_of_its_run_and_keeps_one_page_per_suite(warehouse_dir: Path) -> None:
    from expectations import run_and_report

    db = settings.warehouse_db_path()
    site = warehouse_dir / "reports" / "quality"

    def set_growth(value: float) -> None:
        con = duckdb.connect(str(db))
        con.execute(f"update marts.industrial_va_growth set industrial_va_growth_pct = {value}")
        con.close()

    def pages(suite: str) -> list[str]:  # the run name of each page of the suite
        return sorted(p.relative_to(site).parts[3] for p in (site / "validations" / "marts" / suite).rglob("*.html"))

    set_growth(-150)
    assert not run_and_report(db, ["marts.industrial_va_growth"], run_name="run-1")[0].passed
    set_growth(6.4)
    # run-1's own check result is reused, not validated again
    assert [r.suite for r in build_quality_report(db, run_name="run-1") if not r.passed] == ["marts.industrial_va_growth"]

    assert run_and_report(db, ["marts.industrial_va_growth"], run_name="run-2")[0].passed
    assert pages("industrial_va_growth") == ["run-2"]  # the page of run-1 is gone


def test_a_suites_stored_results_leave_no_folders_behind(warehouse_dir: Path) -> None:
    """Each run keeps the suite's latest result only, and the folders of the results it replaces go with them
    (empty ones left by older code included): listing the store does not grow with the number of runs."""
    from expectations import run_and_report

    db = settings.warehouse_db_path()
    stored = warehouse_dir / "gx" / "uncommitted" / "validations" / "marts" / "industrial_va_growth"

    def folders() -> list[tuple[str, ...]]:  # (run name,) and (run name, run time) of each folder of the suite
        return sorted(p.relative_to(stored).parts for p in stored.rglob("*") if p.is_dir())

    run_and_report(db, ["marts.industrial_va_growth"], run_name="run-1")
    (stored / "run-0" / "20260101T000000.000000Z").mkdir(parents=True)  # as older code left them
    run_and_report(db, ["marts.industrial_va_growth"], run_name="run-2")
    run_and_report(db, ["marts.industrial_va_growth"], run_name="run-3")

    ((run, run_time),) = [f for f in folders() if len(f) == 2]
    assert run == "run-3" and folders() == [("run-3",), ("run-3", run_time)]
    assert [p.name for p in (stored / "run-3" / run_time).iterdir()] == ["marts.industrial_va_growth.json"]


def test_report_reuses_an_earlier_result_while_nothing_the_suite_reads_changed(
    warehouse_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A suite this run did not validate keeps the result of the run that did, if none of its inputs
    materialized since (the caller says when they last did) and the suite is still written the same way."""
    from datetime import datetime, timedelta

    from expectations import run_and_report
    from expectations.spec import Suite

    db = settings.warehouse_db_path()
    growth = "marts.industrial_va_growth"

    def set_growth(value: float) -> None:
        con = duckdb.connect(str(db))
        con.execute(f"update {growth} set industrial_va_growth_pct = {value}")
        con.close()

    def failed(run_name: str, since: datetime) -> list[str]:
        return [r.suite for r in build_quality_report(db, run_name=run_name, unchanged_since={growth: since}) if not r.passed]

    set_growth(-150)
    (checked,) = [r.checked_at for r in run_and_report(db, [growth], run_name="run-1")]
    set_growth(6.4)  # behind the report's back: the run-1 result stands while the inputs are said unchanged
    assert failed("run-2", checked - timedelta(seconds=1)) == [growth]
    assert failed("run-3", datetime.now() + timedelta(seconds=1)) == []  # an input materialized after: validated again
    set_growth(-150)
    monkeypatch.setattr(Suite, "digest", lambda self: "another suite")
    assert failed("run-4", checked - timedelta(seconds=1)) == [growth]  # run-3's result is of other expectations


def test_a_report_of_results_all_kept_is_not_rebuilt_unless_its_pages_differ(warehouse_dir: Path, tmp_path: Path) -> None:
    """When every suite keeps a stored result and the site holds exactly their pages (written by the check
    steps), only the run overview is written again; a page of a suite that no longer exists makes it rebuild."""
    from datetime import datetime, timedelta

    db, site = settings.warehouse_db_path(), tmp_path / "quality"
    build_quality_report(db, site, run_name="run-1")
    since = {suite.name: datetime.now() - timedelta(days=1) for suite in SUITES}
    page = next((site / "validations" / "marts" / "rd_intensity").rglob("*.html"))
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*.html") if p.name != "index.html"}

    build_quality_report(db, site, run_name="run-2", unchanged_since=since)

    assert {p: p.stat().st_mtime_ns for p in site.rglob("*.html") if p.name != "index.html"} == before
    assert 'id="run-overview"' in (site / "index.html").read_text(encoding="utf-8")
    stale = site / "validations" / "marts" / "retired_mart" / "run-0" / "page.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("<html></html>", encoding="utf-8")

    build_quality_report(db, site, run_name="run-3", unchanged_since=since)

    assert not stale.exists() and page.exists()
    assert {p for p in site.rglob("*.html") if p.name != "index.html"} == set(before)


def test_a_report_with_some_suites_validated_again_builds_only_their_pages(warehouse_dir: Path, tmp_path: Path) -> None:
    """A suite whose inputs changed is validated and its pages built; the others' pages stay as written."""
    from datetime import datetime, timedelta

    db, site = settings.warehouse_db_path(), tmp_path / "quality"
    build_quality_report(db, site, run_name="run-1")
    since = {suite.name: datetime.now() - timedelta(days=1) for suite in SUITES if suite.name != "marts.rd_intensity"}
    before = {p: p.stat().st_mtime_ns for p in (site / "validations").rglob("*.html")}

    build_quality_report(db, site, run_name="run-2", unchanged_since=since)

    after = {p: p.stat().st_mtime_ns for p in (site / "validations").rglob("*.html")}
    (validated,) = set(after) - set(before)
    assert {"rd_intensity", "run-2"} <= set(validated.relative_to(site).parts)
    assert set(before) - set(after) == {p for p in before if "rd_intensity" in p.parts}  # its run-1 page is gone
    assert {p: t for p, t in after.items() if p != validated} == {p: t for p, t in before.items() if p in after}
    assert len(after) == len(SUITES)
    assert 'id="run-overview"' in (site / "index.html").read_text(encoding="utf-8")


def test_validating_leaves_the_reports_gx_configuration_alone_and_saves_a_suite_when_it_changed(
    warehouse_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Suites are validated in an ephemeral context: the file context's YAML gets no datasource, and a suite
    is saved into it (for its page) only when what it checks changed."""
    from expectations import run_and_report
    from expectations.spec import Suite

    db, name = settings.warehouse_db_path(), "marts.rd_intensity"
    run_and_report(db, [name], run_name="run-1")
    saved = warehouse_dir / "gx" / "expectations" / "marts" / "rd_intensity.json"
    first = saved.stat().st_mtime_ns
    run_and_report(db, [name], run_name="run-2")

    assert "type: duckdb" not in (warehouse_dir / "gx" / "great_expectations.yml").read_text(encoding="utf-8")
    assert saved.stat().st_mtime_ns == first
    monkeypatch.setattr(Suite, "digest", lambda self: "another suite")
    run_and_report(db, [name], run_name="run-3")
    assert saved.stat().st_mtime_ns != first


def test_a_suites_page_is_rendered_again_only_when_the_suite_or_what_renders_it_changed(
    warehouse_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each validation writes its result's page; the page of its suite is written when the suite changed, when
    the page does not carry the suite's mark (a page of older code), or when what renders pages changed."""
    from expectations import report, run_and_report
    from expectations.spec import Suite

    db, name = settings.warehouse_db_path(), "marts.rd_intensity"
    page = report.report_dir() / "expectations" / "marts" / "rd_intensity.html"

    def written() -> int:
        return page.stat().st_mtime_ns

    run_and_report(db, [name], run_name="run-1")
    first = written()
    assert "<!-- suite-digest: " in page.read_text(encoding="utf-8")[:512]
    run_and_report(db, [name], run_name="run-2")
    assert written() == first
    assert any("run-2" in p.parts for p in (report.report_dir() / "validations" / "marts" / "rd_intensity").rglob("*.html"))

    monkeypatch.setattr(Suite, "digest", lambda self: "another suite")
    run_and_report(db, [name], run_name="run-3")
    assert written() != first
    second = written()
    page.write_text(page.read_text(encoding="utf-8").replace("<!-- suite-digest: ", "<!-- ", 1), encoding="utf-8")
    run_and_report(db, [name], run_name="run-4")
    assert "<!-- suite-digest: " in page.read_text(encoding="utf-8")[:512] and written() != second
    third = written()
    monkeypatch.setattr(report, "_rendering", lambda: "other page views")
    run_and_report(db, [name], run_name="run-5")
    assert written() != third
    assert "rd_intensity" in page.read_text(encoding="utf-8")


def test_every_suite_has_known_inputs_and_those_of_one_kind_are_not_another_kinds() -> None:
    from orchestration.checks import suite_inputs
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    inputs = {suite.name: suite_inputs(suite, graph) for suite in SUITES}
    assert all(inputs.values()), [name for name, keys in inputs.items() if not keys]
    assert inputs["raw.enterprise_submissions"] == {dg.AssetKey(["raw", "enterprise_submissions"])}
    assert dg.AssetKey(["reference", "ref_regions"]) in inputs["mapped.release_observations"]  # a code set's seed
    assert dg.AssetKey(["marts", "dim_indicator"]) in inputs["marts.fct_indicator_values"]  # a table its SQL names
    # the quarantine a load-log suite joins is written by every load and mapping
    assert {k.to_user_string() for k in inputs["audit.load_log.enterprise"]} >= {
        "raw/releases", "mapped/enterprise_rejected_rows", "mapped/release_observations"}


def test_unchanged_since_is_the_latest_materialization_of_a_suites_inputs() -> None:
    from datetime import datetime

    from orchestration.checks import suite_inputs, unchanged_since
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    instance = dg.DagsterInstance.ephemeral()
    suite = next(s for s in SUITES if s.name == "mapped.release_observations")
    keys = sorted(suite_inputs(suite, graph), key=lambda k: k.to_user_string())
    for key in keys[:-1]:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
    assert suite.name not in unchanged_since(instance, graph)  # an input never materialized: cannot vouch
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=keys[-1]))
    latest = instance.get_latest_materialization_event(keys[-1]).timestamp

    assert unchanged_since(instance, graph)[suite.name] == datetime.fromtimestamp(latest)


def test_the_report_compiles_its_page_templates_once_per_process(warehouse_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GX makes a new Jinja environment per page build; the report's views share compiled templates."""
    from expectations import docs_views, run_and_report

    compiled: list[str] = []
    dump = docs_views.COMPILED_TEMPLATES.dump_bytecode
    monkeypatch.setattr(docs_views.COMPILED_TEMPLATES, "dump_bytecode", lambda bucket: compiled.append(bucket.key) or dump(bucket))
    monkeypatch.setattr(docs_views.COMPILED_TEMPLATES, "_code", {})
    db = settings.warehouse_db_path()

    run_and_report(db, ["marts.rd_intensity"], run_name="run-1")
    first = len(compiled)
    run_and_report(db, ["marts.patents_per_10k"], run_name="run-1")

    assert first > 10 and len(compiled) == first  # the second page build compiled nothing
