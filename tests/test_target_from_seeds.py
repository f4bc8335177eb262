"""Adding an indicator with a policy target is an edit of the seeds alone: no code, and no reload.

A release of an indicator the warehouse does not know yet is loaded first: its rows wait in the
quarantine as unmapped. Then the indicator, its alias, a target and how it is tracked are added to a copy
of the seeds (the files the README's "Add an indicator with a policy target" lists, nothing else). The
mapping step and dbt, which run on every build, then track the target in ``marts.target_tracking``, and
the indicator report shows it with its names and unit, while no file is loaded again.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from core import settings
from core.warehouse import write_connection
from ingestion.audit import AUDIT_DDL
from ingestion.enterprise.tables import ENTERPRISE_DDL, MAPPED_ENTERPRISE_DDL
from ingestion.registers.tables import MAPPED_REGISTERS_DDL, REGISTERS_DDL
from ingestion.releases.loader import load_releases
from ingestion.releases.mapping import map_releases
from serving.publish import publish_serving_database
from serving.report import build_indicator_report
from tests.test_dbt_project import BuiltProject, run_in_project

pytestmark = pytest.mark.slow

INDICATOR = "technology_contract_turnover"
TARGET = "T99"
PLAN = "14th Five-Year Plan for Science and Technology Innovation in Chongqing (2021-2025)"
REPORTING_DATE = "2024-06-30"

RELEASE = (
    "数据库：分省年度数据\r\n"
    "指标：技术合同成交额(亿元)\r\n"
    "时间：最近3年\r\n"
    "地区,2023年,2022年,2021年\r\n"
    "全国,61475.7,47791.0,37294.3\r\n"
    "重庆市,800.0,650.0,500.0\r\n"
    "数据来源：国家统计局\r\n"
)
SIDECAR = (
    "format: nbs_export\npublisher: National Bureau of Statistics of China\ntitle: 分省年度数据：技术合同成交额\n"
    "release_date: 2024-03-01\nstatus: final\nurl: https://data.stats.gov.cn/toy\nretrieved: 2024-03-02\n"
)

#: The rows a user adds, per seed file (columns by name, so the test says what each one means).
SEED_ROWS: dict[str, dict[str, str]] = {
    "ref_indicators.csv": {
        "indicator_code": INDICATOR, "name_zh": "技术合同成交额", "name_en": "Turnover of technology contracts",
        "unit": "100 million yuan", "unit_dimension": "currency_cny", "unit_scale": "100000000",
        "description": "Turnover of the technology contracts registered in the year",
    },
    "ref_indicator_aliases.csv": {"alias": "技术合同成交额", "indicator_code": INDICATOR},
    "ref_target_indicators.csv": {
        "indicator": INDICATOR, "source_model": "indicator_series", "measure": INDICATOR, "note": "As published",
    },
    "ref_target_inputs.csv": {"indicator": INDICATOR, "input": "A release (formats 1-4) with Chongqing's 技术合同成交额"},
    "policy_targets.csv": {
        "target_id": TARGET, "plan": PLAN, "issuer": "Chongqing Municipal People's Government", "scope": "region",
        "geo": "CN-CQ", "indicator": INDICATOR, "comparator": ">=", "target_value": "1000", "unit": "100m_yuan",
        "target_year": "2025", "kind": "level", "source_doc": "toy.txt",
        "quote": "technology contracts worth over 100 billion yuan a year by 2025",
    },
}


def add_seed_rows(seeds: Path) -> None:
    for name, row in SEED_ROWS.items():
        with (seeds / name).open(encoding="utf-8") as handle:
            columns = next(csv.reader(handle))
        with (seeds / name).open("a", encoding="utf-8", newline="") as handle:
            csv.DictWriter(handle, columns, lineterminator="\n").writerow(row)


def raw_state(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """What loading wrote: every load attempt and every record as received."""
    return con.execute(
        """select (select list((load_id, status, loaded_at) order by load_id, loaded_at) from audit.load_log),
                  (select count(*) from raw.release_files),
                  (select list((load_id, row_number, indicator_raw, value_raw) order by load_id, row_number, period_raw)
                   from raw.release_observations)"""
    ).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    """A warehouse whose toy release was loaded before its indicator was in the seeds, then built after
    the seed edit (mapping and ``dbt build``) without loading anything again."""
    root = tmp_path_factory.mktemp("target_from_seeds")
    project, landing, warehouse_dir = root / "dbt_project", root / "landing", root / "warehouse"
    shutil.copytree(settings.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    release = landing / "releases" / "toy" / "technology_contracts.csv"
    release.parent.mkdir(parents=True)
    release.write_bytes(RELEASE.encode("gb18030"))
    Path(f"{release}.meta.yml").write_text(SIDECAR, encoding="utf-8")
    warehouse_dir.mkdir()
    seeds = project / "seeds"

    with write_connection(warehouse_dir / "warehouse.duckdb", setup=AUDIT_DDL) as con:
        for ddl in (ENTERPRISE_DDL, MAPPED_ENTERPRISE_DDL, REGISTERS_DDL, MAPPED_REGISTERS_DDL):
            con.execute(ddl)
        assert load_releases(con, landing).files_loaded == 1
        assert map_releases(con, seeds).reasons == {"unmapped indicator '技术合同成交额(亿元)'": 6}
        loaded = raw_state(con)

        add_seed_rows(seeds)

        assert load_releases(con, landing).attempts == []  # the file is not read again
        mapping = map_releases(con, seeds)  # the mapping step of every run
        assert (mapping.rows_mapped, mapping.rows_quarantined) == (6, 0)
        assert raw_state(con) == loaded

    # what the report reads, and every test of it and of the seeds (not those that need a mart left out)
    build = run_in_project(
        project, warehouse_dir, "dbt", "build", "--profiles-dir", ".", "--vars", f"{{reporting_date: {REPORTING_DATE}}}",
        "--select", "+target_tracking", "+target_observations", "+dim_target", "+target_sources", "+indicator_series", "+dim_region",
        "--indirect-selection", "cautious",
    )
    assert build.returncode == 0, build.stdout[-3000:]
    return BuiltProject(project, warehouse_dir, build)


def test_the_target_added_to_the_seeds_is_tracked_on_the_release_loaded_before(built: BuiltProject):
    assert built.query(f"select * exclude (reporting_date) from marts.target_tracking where target_id = '{TARGET}'") == [(
        TARGET, INDICATOR, "CN-CQ", "region", ">=", 1000.0, 2025,
        800.0, "2023", 200.0, 100.0, "on_track", "2023", 0.5, False, None,  # +150 a year reaches 1,100 by 2025
        "技术合同成交额", "Turnover of technology contracts", "100m_yuan", "100 million yuan", "亿元",
    )]
    assert built.query(f"select period, value from marts.target_observations where target_id = '{TARGET}' order by period") == [
        ("2021", 500.0), ("2022", 650.0), ("2023", 800.0)
    ]


def test_the_target_is_labelled_and_sourced_from_the_seeds_and_the_release(built: BuiltProject):
    assert built.query(f"select plan, tracked_in, tracked_measure, input from marts.dim_target where target_id = '{TARGET}'") == [
        (PLAN, "indicator_series", INDICATOR, "A release (formats 1-4) with Chongqing's 技术合同成交额")
    ]
    assert built.query(f"select indicator_code, value, publisher, title, release_date::varchar from marts.target_sources where target_id = '{TARGET}'") == [
        (INDICATOR, 800.0, "National Bureau of Statistics of China", "分省年度数据：技术合同成交额", "2024-03-01")
    ]


def test_the_indicator_report_shows_the_new_target_with_its_names_unit_and_national_line(built: BuiltProject):
    folder = built.warehouse_dir
    publish_serving_database(folder / "warehouse.duckdb", folder / "serving.duckdb", "run-seeds")
    page = Path(build_indicator_report(folder / "serving.duckdb", folder / "indicators.html")["path"])
    card = re.search(rf'<article class="card[^"]*" id="{TARGET}".*?</article>', page.read_text(encoding="utf-8"), re.S)
    assert card, f"no card for {TARGET}"
    text = " ".join(re.sub(r"<[^>]+>", " ", card.group(0)).split())
    assert "技术合同成交额" in text and "Turnover of technology contracts" in text
    assert "100 million yuan 亿元" in text and "China 全国" in text
    assert "National Bureau of Statistics of China, “分省年度数据：技术合同成交额”, released 2024-03-01 (final)" in text
