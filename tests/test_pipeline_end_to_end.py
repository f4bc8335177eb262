"""The whole pipeline on the shipped data, then again with new files: what `make run` promises."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from core import settings
from ingestion.values import parse_published_number
from orchestration.run import failure_lines
from tests.conftest import PipelineRun, run_pipeline

pytestmark = pytest.mark.slow

CONTRACT_TABLES = {
    "marts.dim_region",
    "marts.dim_indicator",
    "marts.fct_indicator_vintages",
    "marts.fct_indicator_values",
    "marts.rd_intensity",
    "marts.patents_per_10k",
    "marts.industrial_va_growth",
    "marts.soe_innovation",
    "marts.target_tracking",
    "marts.recognitions_in_force",
    "marts.target_sources",
    "marts.dim_target",
    "marts.dim_plan",
    "marts.dim_unit",
    "marts.dim_release",
    "audit.load_log",
    "audit.quarantine",
}


def releases_in(landing: Path) -> list[Path]:
    """The statistical releases of a landing folder: one sidecar (``<file>.meta.yml``) next to each."""
    return sorted((landing / "releases").rglob("*.meta.yml"))


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_pipeline_run_succeeds(pipeline: PipelineRun):
    failures = [e.step_key for e in pipeline.events if e.is_step_failure]
    assert failures == []
    assert pipeline.success


def test_the_checks_of_the_loads_run_after_the_dbt_build_whose_wait_imports_great_expectations(pipeline: PipelineRun):
    started = [e.step_key for e in pipeline.events if e.event_type_value == "STEP_START"]
    assert started.index("warehouse_dbt_models") < started.index("quality_of_loads") < started.index("reports__quality")


def test_published_rd_intensity_reconciles_for_china_and_chongqing(pipeline: PipelineRun):
    rows = query(
        pipeline.build_db,
        """select region_code, year, published_rd_intensity_pct, published_release_date::varchar,
                  round(asof_rd_intensity_pct, 4), reconciles
           from marts.rd_intensity where reconciles is not null order by region_code, year""",
    )
    assert [(r[0], r[1], Decimal(str(r[2])), r[3], r[4], r[5]) for r in rows] == [
        ("CN", 2019, Decimal("2.23"), "2021-09-22", 2.2348, True),
        ("CN", 2020, Decimal("2.4"), "2021-09-22", 2.4009, True),
        ("CN", 2021, Decimal("2.44"), "2022-08-31", 2.4444, True),
        ("CN", 2022, Decimal("2.54"), "2023-09-18", 2.5436, True),
        ("CN", 2023, Decimal("2.65"), "2024-10-02", 2.6462, True),
        # 526.8 / 25002.79, the GDP first released (2021-03-18); the revision of 2021-12-30 came later
        ("CN-CQ", 2020, Decimal("2.11"), "2021-09-22", 2.107, True),
        ("CN-CQ", 2022, Decimal("2.36"), "2025-04-30", 2.3571, True),
    ]
    (cq_2020,) = query(
        pipeline.build_db,
        "select rd_expenditure, gdp, round(rd_intensity_pct, 4) from marts.rd_intensity where region_code = 'CN-CQ' and year = 2020",
    )
    assert cq_2020 == (526.8, 25041.43, 2.1037)  # the latest ratio is on the revised GDP: 2.10


def test_every_published_rd_intensity_reconciles_as_of_its_own_release_day(pipeline: PipelineRun):
    """Each release of an R&D intensity (not only the latest), against the R&D expenditure and GDP known on
    its release day: the same inputs `rd_intensity.asof_rd_intensity_pct` uses, recomputed per vintage."""
    rows = query(
        pipeline.build_db,
        """with v as (select * from marts.fct_indicator_vintages where not is_withdrawn),
           known_then as (
               select p.region_code, p.period, p.release_date, p.value as published, p.published_decimals,
                      (select value from v where v.region_code = p.region_code and v.period = p.period
                          and v.indicator_code = 'rd_expenditure' and v.release_date <= p.release_date
                          order by v.release_date desc limit 1) as rd,
                      (select value from v where v.region_code = p.region_code and v.period = p.period
                          and v.indicator_code = 'gdp' and v.release_date <= p.release_date
                          order by v.release_date desc limit 1) as gdp
               from v p where p.indicator_code = 'rd_intensity')
           select region_code, period, release_date::varchar, published,
                  round(100 * rd / gdp, published_decimals) = published as reconciles
           from known_then where rd is not null and gdp is not null order by region_code, period, release_date""",
    )
    assert rows == [
        ("CN", "2019", "2021-09-22", 2.23, True),
        ("CN", "2020", "2021-09-22", 2.4, True),
        ("CN", "2021", "2022-08-31", 2.44, True),
        ("CN", "2022", "2023-09-18", 2.54, True),
        ("CN", "2023", "2024-10-02", 2.65, True),
        ("CN-CQ", "2020", "2021-09-22", 2.11, True),
        ("CN-CQ", "2022", "2023-09-18", 2.36, True),  # NBS provincial table, on the GDP of 2023-03-17
        ("CN-CQ", "2022", "2025-04-30", 2.36, True),  # Chongqing's own 2022-2024 table
    ]


def test_every_shipped_release_loads_without_quarantine(pipeline: PipelineRun):
    rows = query(
        pipeline.build_db,
        "select status, count(*), sum(rows_quarantined) from audit.load_log where kind = 'releases' group by status",
    )
    assert rows == [("loaded", len(releases_in(pipeline.landing_dir)), 0)]


def test_every_run_maps_the_loaded_records_from_the_seeds_before_dbt(pipeline: PipelineRun):
    mapped = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in pipeline.events
        if e.is_step_materialization and e.asset_key.path[0] == "mapped"
    }
    # every release record maps but those whose cell holds a missing-value marker (…), nothing is quarantined
    release_values = [v for (v,) in query(pipeline.build_db, "select value_raw from raw.release_observations")]
    (release_rows_loaded,) = query(
        pipeline.build_db, "select sum(rows_loaded) from audit.load_log where kind = 'releases' and status = 'loaded'"
    )[0]
    assert len(release_values) == release_rows_loaded
    release_figures = len([v for v in release_values if parse_published_number(v) is not None])
    assert 0 < release_figures < len(release_values)
    # every enterprise row loaded maps but the four with an unknown code, every register row but the one of
    # an unknown kind (the template's row 8)
    (enterprise_rows, register_rows) = query(
        pipeline.build_db, "select (select count(*) from raw.enterprise_submissions), (select count(*) from raw.register_records)"
    )[0]
    assert mapped == {
        "mapped/release_observations": {"rows_mapped": release_figures, "rows_quarantined": 0, "quarantined_by_reason": {}},
        "mapped/enterprise_rejected_rows": {
            "rows_mapped": enterprise_rows - 4, "rows_quarantined": 4,
            "quarantined_by_reason": {
                "unknown_industry_code: 'C9999' is not a GB/T 4754-2017 class (letter + 4 digits, e.g. C3670) in ref_industry_codes": 2,
                "unknown_district_code: '510104' is not a district or county of Chongqing (GB/T 2260, ref_chongqing_districts)": 2,
            },
        },
        "mapped/register_kinds": {
            "rows_mapped": register_rows - 1, "rows_quarantined": 1,
            "quarantined_by_reason": {
                "unknown_kind: '未知类别' is neither a code nor a Chinese name of ref_recognition_kinds": 1,
            },
        },
    }
    assert query(
        pipeline.build_db,
        """select (select count(*) from mapped.release_observations), (select count(*) from marts.fct_indicator_vintages),
                  (select count(*) from intermediate.int_enterprise_submissions_accepted)""",
    ) == [(release_figures, release_figures, enterprise_rows - 4)]
    assert query(
        pipeline.build_db,
        "select row_number, stage from audit.quarantine where reason like 'unknown%' order by 1",
    ) == [(8, "mapping"), (122, "mapping"), (254, "mapping"), (1362, "mapping"), (1401, "mapping")]


def test_every_contract_table_is_served_read_only_to_another_process(pipeline: PipelineRun):
    script = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True);"
        "print('\\n'.join(s + '.' + t for s, t in con.execute("
        "'select table_schema, table_name from information_schema.tables').fetchall()))"
    )
    out = subprocess.run([sys.executable, "-c", script, str(pipeline.serving_db)], capture_output=True, text=True, check=True)
    assert CONTRACT_TABLES <= set(out.stdout.split())


def test_the_raw_enterprise_suite_keeps_its_counts_of_every_load_in_the_build_and_no_tier_publishes_them(
    pipeline: PipelineRun,
):
    build = pipeline.warehouse_dir / "warehouse.duckdb"
    (covered,) = query(build, "select loads::varchar from quality.load_counts where suite = 'raw.enterprise_submissions'")
    assert json.loads(covered[0]) == dict(query(build, "select load_id, count(*) from raw.enterprise_submissions group by all"))
    for served in [pipeline.serving_db, *pipeline.warehouse_dir.glob("*/**/serving.duckdb")]:
        assert query(served, "select count(*) from duckdb_tables() where schema_name = 'quality'") == [(0,)], served


def test_reports_are_written(pipeline: PipelineRun):
    reports = pipeline.warehouse_dir / "reports"
    assert (reports / "quality" / "index.html").stat().st_size > 0
    assert (reports / "indicators.html").stat().st_size > 0
    assert (reports / "dbt-docs" / "index.html").stat().st_size > 0


def test_the_dbt_docs_show_the_sql_the_build_compiled_and_parse_nothing_again(pipeline: PipelineRun):
    """The docs step takes the compiled SQL of the run's `dbt build` (no second compilation) and its
    parse state (dbt's event I024, "Unable to do partial parsing", would mean a full parse again)."""
    manifest = json.loads((pipeline.warehouse_dir / "reports" / "dbt-docs" / "manifest.json").read_text(encoding="utf-8"))
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert len(models) > 40 and all(node.get("compiled_code") for node in models)
    # dbt writes no log file of its own: what it printed is the run's stdout that Dagster keeps, the docs
    # command's after the build's
    (run_stdout,) = [
        text for path in (pipeline.warehouse_dir.parent / "dagster_home" / "storage").glob("*/compute_logs/*.out")
        if "Catalog written to" in (text := path.read_text(encoding="utf-8"))
    ]
    docs_said = run_stdout[run_stdout.rindex("Running with dbt=") :]
    assert "Catalog written to" in docs_said and "Unable to do partial parsing" not in docs_said
    assert not list((pipeline.warehouse_dir / "dbt").glob("*/*/dbt.log"))


def test_every_policy_target_has_a_tracking_row(pipeline: PipelineRun):
    tracked = [t for (t,) in query(pipeline.build_db, "select target_id from marts.target_tracking order by 1")]
    assert tracked == sorted(t["target_id"] for t in _seed("policy_targets"))


def _seed(name: str) -> list[dict[str, str]]:
    with open(settings.SEEDS_DIR / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _targets_with_an_input_and_a_start() -> set[str]:
    """From the seeds: targets whose indicator ref_target_indicators maps to a measure, except `new_count`
    targets with neither a baseline year nor a first year of their plan (nothing to count new items from)."""
    mapped = {row["indicator"] for row in _seed("ref_target_indicators") if row["measure"]}
    starts = {row["plan"] for row in _seed("ref_policy_plans") if row["first_year"]}
    return {
        t["target_id"]
        for t in _seed("policy_targets")
        if t["indicator"] in mapped and (t["kind"] != "new_count" or t["baseline_year"] or t["plan"] in starts)
    }


def test_shipped_registers_feed_every_register_target(pipeline: PipelineRun):
    kinds = {row["indicator"] for row in _seed("ref_target_indicators") if row["source_model"] == "recognitions"}
    register_targets = tuple(sorted(t["target_id"] for t in _seed("policy_targets") if t["indicator"] in kinds))
    rows = dict(query(
        pipeline.build_db,
        f"select target_id, latest_period from marts.target_tracking where target_id in {register_targets} order by 1",
    ))
    # every plan has a first year (ref_policy_plans), so the new_count targets T06-T08 count from it too
    assert sorted(t for t, period in rows.items() if period is None) == sorted(set(register_targets) - _targets_with_an_input_and_a_start())
    (latest_year,) = query(
        pipeline.build_db,
        "select max(greatest(year(recognized_on), coalesce(year(revoked_on), 0)))::varchar from raw.register_records",
    )[0]
    assert rows["T16"] == latest_year and rows["T19"] == "2022"  # T19's target year is 2022
    # T16: the transport group's overseas invention patents from the plan's first year (2025) on, as loaded
    (t16,) = query(pipeline.build_db, "select latest_value from marts.target_tracking where target_id = 'T16'")[0]
    (loaded,) = query(
        pipeline.build_db,
        """select count(distinct record_id) from raw.register_records
           where kind in ('overseas_invention_patent', '境外发明专利授权') and group_name = '重庆城市交通开发投资（集团）有限公司'
             and year(recognized_on) >= 2025 and revoked_on is null""",
    )[0]
    assert t16 == loaded > 0
    (loads,) = query(pipeline.build_db, "select count(*) from audit.current_loads where kind = 'registers'")[0]
    assert loads == len([p for p in (settings.REPO_ROOT / "data" / "landing" / "registers").rglob("*") if p.suffix in (".csv", ".xlsx")])


def test_shipped_data_tracks_every_target_whose_input_is_shipped_and_never_meets_one_early(pipeline: PipelineRun):
    rows = dict(query(
        pipeline.build_db,
        "select target_id, status from marts.target_tracking where latest_value is not null order by target_id",
    ))
    # the targets without a figure are those of an indicator no shipped input feeds (T18, T20, T27, T28:
    # README, "Targets without data")
    expected = _targets_with_an_input_and_a_start()
    assert sorted(rows) == sorted(expected)
    assert len(expected) >= 24
    # the region targets' years (2022, 2025) have passed and their figures are not published yet
    assert {t: rows[t] for t in ("T17", "T22", "T23", "T24", "T26")} == dict.fromkeys(
        ("T17", "T22", "T23", "T24", "T26"), "awaiting_data"
    )
    assert query(
        pipeline.build_db,
        "select latest_period, latest_value from marts.target_tracking where target_id = 'T23'",
    ) == [("2023", 7.15)]
    # met only on the whole target year's figure: never on an older one, never on a year not over yet
    assert query(
        pipeline.build_db,
        """select count(*) from marts.target_tracking
           where status = 'met' and (cast(left(judged_period, 4) as integer) <> target_year or target_year >= year(reporting_date))""",
    ) == [(0,)]


def test_a_bi_tool_labels_every_target_and_figure_from_the_serving_database_alone(pipeline: PipelineRun):
    """Everything a chart of a target needs, read from serving.duckdb only: names, unit, plan, issuer,
    quote, and for the published figures their indicator and release (publisher, title, date, link)."""
    labelled = query(
        pipeline.serving_db,
        """select t.target_id, d.name_en, d.name_zh, u.label_en, u.label_zh, p.plan, p.issuer, d.quote,
                  i.name_en as indicator_name
           from marts.target_tracking t
           join marts.dim_target d using (target_id)
           join marts.dim_unit u on u.unit = t.unit
           join marts.dim_plan p on p.plan = d.plan
           join marts.dim_indicator i on i.indicator_code = t.indicator_code
           order by t.target_id""",
    )
    assert [r[0] for r in labelled] == sorted(t["target_id"] for t in _seed("policy_targets"))
    assert all(all(value for value in row) for row in labelled), [r for r in labelled if not all(r)]
    assert next(r for r in labelled if r[0] == "T22")[:5] == ("T22", "R&D intensity", "研究与试验发展(R&D)经费投入强度", "% of GDP", "占GDP比重%")
    sources = query(
        pipeline.serving_db,
        """select s.indicator_code, r.publisher, r.title, r.release_date::varchar, r.url
           from marts.target_sources s
           join marts.fct_indicator_values v using (region_code, indicator_code, period)
           join marts.dim_release r on r.load_id = v.load_id
           where s.target_id = 'T22' order by s.position""",
    )
    assert sources == [
        ("rd_intensity", "Chongqing Municipal Bureau of Statistics", "2022-2024年重庆市科技创新主要指标", "2025-04-30", "http://kjj.cq.gov.cn/"),
        ("rd_expenditure", "Chongqing Municipal Bureau of Statistics", "2022-2024年重庆市科技创新主要指标", "2025-04-30", "http://kjj.cq.gov.cn/"),
        ("gdp", "National Bureau of Statistics of China (provincial data)", "分省年度数据：重庆市", "2023-03-17",
         "https://data.stats.gov.cn/easyquery.htm?cn=E0103"),
    ]


REVISED_CQ_RELEASE = (
    "数据库：分省年度数据\r\n"
    "地区：重庆市\r\n"
    "时间：2020年\r\n"
    "指标,2020年\r\n"
    '地区生产总值(亿元),"25,041.04注1"\r\n'
    "年末常住人口(万人),3208.93\r\n"
    "注1：根据第四次全国经济普查结果修订（测试数据）。\r\n"
    "数据来源：重庆市统计局\r\n"
)
REVISED_CQ_SIDECAR = """format: nbs_export
publisher: Chongqing Municipal Bureau of Statistics (test fixture)
title: 重庆市2020年地区生产总值修订（测试数据）
release_date: 2021-12-30
status: revised
url: http://tjj.cq.gov.cn/
retrieved: 2026-11-20
"""


@pytest.fixture(scope="module")
def rerun(pipeline: PipelineRun, tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """A copy of the first run's warehouse, run again: once unchanged, then with a GB18030 revision."""
    root = tmp_path_factory.mktemp("rerun")
    landing, warehouse = root / "landing", root / "warehouse"
    shutil.copytree(pipeline.landing_dir, landing)
    warehouse.mkdir()
    shutil.copy2(pipeline.build_db, warehouse / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LANDING_DIR", str(landing))
        mp.setenv("WAREHOUSE_DIR", str(warehouse))
        unchanged = run_pipeline()
        assert unchanged.success
        revision = landing / "releases" / "cq" / "chongqing_gdp_2020_revised.csv"
        revision.write_bytes(REVISED_CQ_RELEASE.encode("gb18030"))
        Path(f"{revision}.meta.yml").write_text(REVISED_CQ_SIDECAR, encoding="utf-8")
        # A BI-style reader queries serving.duckdb in another process for the whole run that republishes it.
        stop = root / "stop-reader"
        reader = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("serving_reader.py")), str(warehouse / "serving.duckdb"),
             "--out", str(root / "reads.jsonl"), "--max-queries", "5000", "--max-seconds", "300",
             "--stop-file", str(stop)]
        )
        started = time.monotonic()
        try:
            revised = run_pipeline(narrow=True)  # as `make run` does when only landing files changed
        finally:
            stop.touch()
            reader.wait(timeout=60)
        assert revised.success
    return PipelineRun(landing, warehouse, revised.success, revised.all_events, time.monotonic() - started, revised)


def test_reader_during_a_pipeline_run_sees_only_whole_publications(rerun: PipelineRun):
    reads = [json.loads(line) for line in (rerun.landing_dir.parent / "reads.jsonl").read_text().splitlines()]
    assert reads and [r for r in reads if "error" in r or not r["consistent"]] == []
    # it saw the publication before the run and the one the run made, in that order
    run_ids = list(dict.fromkeys(r["run_id"] for r in reads))
    assert len(run_ids) == 2


def test_a_new_release_file_is_ingested_alone_and_builds_only_what_is_downstream_of_releases(rerun: PipelineRun):
    """One new file: one ingest run over its partition, then only the assets downstream of raw/releases."""
    assert rerun.result.ingested == {"releases": {"releases/cq/chongqing_gdp_2020_revised.csv"}}
    (ingest, build) = rerun.result.runs
    assert ingest.job_def.name == "ingest_releases" and build.job_def.name == "warehouse_job"
    assert {e.partition for e in ingest.get_asset_materialization_events()} == {"releases/cq/chongqing_gdp_2020_revised.csv"}
    built = {e.asset_key.to_user_string() for e in build.get_asset_materialization_events()}
    assert {"mapped/release_observations", "marts/fct_indicator_vintages", "marts/target_tracking",
            "serving/serving_database", "reports/indicator_report"} <= built
    # nothing of the enterprise submissions or the registers is rebuilt
    assert not {"mapped/enterprise_rejected_rows", "mapped/register_kinds", "marts/fct_enterprise_submission_history",
                "marts/recognitions_in_force"} & built
    assert "reports/dbt_docs" not in built  # they describe the dbt project, which did not change


def test_second_run_without_new_files_loads_nothing(pipeline: PipelineRun, rerun: PipelineRun):
    before = query(pipeline.build_db, "select count(*) from audit.load_log")[0][0]
    after_rerun = query(
        rerun.build_db, "select count(*) from audit.load_log where source_file <> 'releases/cq/chongqing_gdp_2020_revised.csv'"
    )[0][0]
    assert after_rerun == before
    # every release of the landing folder, the revision included, loaded once
    assert query(rerun.build_db, "select count(*) from raw.release_files")[0][0] == len(releases_in(rerun.landing_dir))


def test_revision_supersedes_latest_value_and_keeps_every_vintage(rerun: PipelineRun):
    vintages = query(
        rerun.build_db,
        """select value, release_date::varchar, status from marts.fct_indicator_vintages
           where region_code = 'CN-CQ' and indicator_code = 'gdp' and period = '2020' order by release_date, loaded_at""",
    )
    # the shipped revision (25041.43) and the test's revision of the same day, loaded later, which wins
    assert vintages == [
        (25002.79, "2021-03-18", "preliminary"), (25041.43, "2021-12-30", "revised"), (25041.04, "2021-12-30", "revised"),
    ]
    latest = query(
        rerun.build_db,
        "select value from marts.fct_indicator_values where region_code = 'CN-CQ' and indicator_code = 'gdp' and period = '2020'",
    )
    assert latest == [(25041.04,)]
    (row,) = query(
        rerun.build_db,
        """select gdp, round(rd_intensity_pct, 4), round(asof_rd_intensity_pct, 4), reconciles
           from marts.rd_intensity where region_code = 'CN-CQ' and year = 2020""",
    )
    # The latest ratio uses the revised GDP; the published 2.11 still reconciles against what was known then.
    assert row == (25041.04, 2.1037, 2.107, True)


BROKEN_RELEASE = (
    "数据库：分省年度数据\r\n"
    "指标：研究与试验发展(R&D)经费投入强度(%)\r\n"
    "时间：2019年\r\n"
    "地区,2019年\r\n"
    "重庆市,45.00\r\n"
    "数据来源：国家统计局（测试数据：错误的数值）\r\n"
)


def test_a_broken_release_blocks_publication_until_it_is_corrected(
    rerun: PipelineRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(rerun.landing_dir, landing)
    shutil.copytree(rerun.warehouse_dir, warehouse, ignore=shutil.ignore_patterns("*.lock"))
    # Chongqing 2019: no other release of it, and no R&D expenditure to reconcile it with, so the value range
    # check is what catches it
    broken = landing / "releases" / "nbs" / "rd_intensity_2019_broken.csv"
    broken.write_text(BROKEN_RELEASE, encoding="utf-8")
    Path(f"{broken}.meta.yml").write_text(REVISED_CQ_SIDECAR.replace("2021-12-30", "2023-09-18"), encoding="utf-8")
    served_before = (warehouse / "serving.duckdb").read_bytes()
    monkeypatch.setenv("LANDING_DIR", str(landing))
    monkeypatch.setenv("WAREHOUSE_DIR", str(warehouse))

    result = run_pipeline()

    failed = {
        (e.asset_check_evaluation_data.asset_key.to_user_string(), e.asset_check_evaluation_data.check_name)
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    }
    assert ("marts/fct_indicator_values", "fct_indicator_values__quality_errors") in failed
    # what `make run` prints: the check, and the expectation that failed with what it observed
    errors = "check failed: marts/fct_indicator_values / fct_indicator_values__quality_errors: "
    (line,) = [line for line in failure_lines(result) if line.startswith(errors)]
    assert line.startswith(errors + "1 of ")
    assert "error-level expectations failed: value_in_range_rd_intensity (1 of " in line
    assert not result.success
    assert (warehouse / "serving.duckdb").read_bytes() == served_before
    report = (warehouse / "reports" / "quality" / "index.html").read_text(encoding="utf-8")
    assert "'_validation_success_text': 'Failed', 'asset_name': 'marts.fct_indicator_values'" in report

    broken.unlink()  # the bad file taken out of the landing folder
    Path(f"{broken}.meta.yml").unlink()
    corrected = run_pipeline()

    assert corrected.success
    assert (warehouse / "serving.duckdb").read_bytes() != served_before
    assert query(
        warehouse / "serving.duckdb",
        "select value, is_withdrawn from marts.fct_indicator_vintages where source_file = ?",
        [broken.relative_to(landing).as_posix()],
    ) == [(45.0, True)]
