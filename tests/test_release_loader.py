"""load_releases: one transaction per file, failures isolated and retried, re-runs idempotent, vintages kept;
map_releases: the records of every load mapped from the current seeds, so an alias added later applies."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from core import settings
from core.warehouse import write_connection
from ingestion.audit import AUDIT_DDL
from ingestion.releases import loader
from ingestion.releases.loader import load_releases
from ingestion.releases.mapping import map_releases
from tests.test_release_bulletin_xlsx import workbook_bytes

FIXTURES = Path(__file__).parent / "fixtures" / "releases"
SHIPPED_LANDING = settings.REPO_ROOT / "data" / "landing"
RD = "研究与试验发展(R&D)经费支出(亿元)"


def sidecar(fmt: str = "nbs_export", release_date: str = "2024-09-20", status: str = "final") -> str:
    return (
        f"format: {fmt}\npublisher: test publisher\ntitle: test release\nrelease_date: {release_date}\n"
        f"status: {status}\nurl: http://example.invalid/\nretrieved: 2026-11-20\n"
    )


def export(rows: str, indicator: str = RD) -> bytes:
    return f"数据库：分省年度数据\r\n指标：{indicator}\r\n时间：2020年\r\n地区,2020年\r\n{rows}数据来源：国家统计局\r\n".encode("gb18030")


def put(landing: Path, relative: str, data: bytes, meta: str | None) -> Path:
    path = landing / "releases" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if meta is not None:
        Path(f"{path}.meta.yml").write_text(meta, encoding="utf-8")
    return path


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    (tmp_path / "landing" / "releases").mkdir(parents=True)
    return tmp_path / "landing"


@pytest.fixture
def con(landing: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with write_connection(settings.warehouse_db_path(), setup=AUDIT_DDL) as connection:
        yield connection


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_shipped_sample_loads_without_quarantine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    with write_connection(settings.warehouse_db_path(), setup=AUDIT_DDL) as con:
        summary = load_releases(con, SHIPPED_LANDING)
        assert (summary.files_loaded, summary.files_failed, summary.rows_loaded, summary.rows_quarantined) == (22, 0, 216, 0)
        mapping = map_releases(con)
        assert (mapping.rows_mapped, mapping.rows_quarantined) == (175, 0)  # 41 cells without a figure (…, empty)
        assert rows(con, "select count(*) from audit.quarantine") == [(0,)]
        assert rows(
            con,
            """select f.source_file, o.value, o.published_decimals from mapped.release_observations o join raw.release_files f using (load_id)
               where o.region_code = 'CN-CQ' and o.period = '2020' and o.indicator_code in ('gdp', 'rd_expenditure')
               order by o.indicator_code, f.source_file""",
        ) == [
            ("releases/nbs_json/chongqing_gdp_2020_first_release.json", 25002.79, 2),
            ("releases/nbs_json/chongqing_gdp_revised_2018_2020.json", 25041.43, 2),
            ("releases/cq/chongqing_innovation_indicators_2018_2021.xlsx", 526.8, 1),
            ("releases/nbs/rd_expenditure_by_province_2020.csv", 526.8, 1),
        ]
        assert rows(
            con,
            """select o.value, o.published_decimals, o.value_raw, f.release_date::varchar, f.status from mapped.release_observations o
               join raw.release_files f using (load_id) where region_code = 'CN' and indicator_code = 'rd_intensity' and period = '2020'""",
        ) == [(2.4, 2, "2.40", "2021-09-22", "final")]
        assert rows(
            con, "select value, unit_multiplier from mapped.release_observations where region_code = 'CN' and indicator_code = 'gdp' and period = '2020'"
        ) == [(1015986.0, 1.0)]
        assert rows(con, "select encoding, count(*) from raw.release_files group by all order by all") == [
            ("gb18030", 3), ("utf-8", 16), ("utf-8-sig", 1), (None, 2)
        ]


def test_unmapped_region_is_quarantined_with_its_raw_record_and_the_rest_loads(con, landing):
    put(landing, "nbs/rd.csv", export("重庆市,526.8\r\n火星省,12.5\r\n西藏自治区,…\r\n"), sidecar())
    summary = load_releases(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (3, 0)
    assert rows(con, "select row_number, region_raw, value_raw from raw.release_observations order by 1") == [
        (5, "重庆市", "526.8"), (6, "火星省", "12.5"), (7, "西藏自治区", "…")
    ]
    mapping = map_releases(con)
    assert (mapping.rows_mapped, mapping.rows_quarantined, dict(mapping.reasons)) == (1, 1, {"unmapped region '火星省'": 1})
    (quarantined,) = rows(con, "select source_file, row_number, reason, stage, record from audit.quarantine")
    assert quarantined[:4] == ("releases/nbs/rd.csv", 6, "unmapped region '火星省'", "mapping")
    assert json.loads(quarantined[4]) == {
        "region_raw": "火星省", "indicator_raw": RD, "unit_raw": None, "period_raw": "2020年", "value_raw": "12.5"
    }
    assert rows(con, "select source_file, format, rows_loaded, rows_quarantined, status, error from audit.load_log") == [
        ("releases/nbs/rd.csv", "nbs_export", 3, 0, "loaded", None)
    ]


def test_an_alias_added_after_loading_turns_the_quarantined_row_into_a_figure_without_reloading(con, landing, tmp_path):
    """README step 4: add the missing alias to ref_region_aliases.csv and re-run."""
    seeds = tmp_path / "seeds"
    shutil.copytree(settings.SEEDS_DIR, seeds)
    put(landing, "nbs/rd.csv", export("重庆市,526.8\r\n寧夏回族自治區,70.4\r\n"), sidecar())
    load_releases(con, landing)
    map_releases(con, seeds)
    assert rows(con, "select source_file, row_number, reason from audit.quarantine") == [
        ("releases/nbs/rd.csv", 6, "unmapped region '寧夏回族自治區'")
    ]
    assert rows(con, "select region_code from mapped.release_observations") == [("CN-CQ",)]

    with open(seeds / "ref_region_aliases.csv", "a", encoding="utf-8") as handle:
        handle.write("寧夏回族自治區,CN-NX\n")
    assert load_releases(con, landing).attempts == []
    mapping = map_releases(con, seeds)

    assert (mapping.rows_mapped, mapping.rows_quarantined) == (2, 0)
    assert rows(con, "select region_code, indicator_code, period, value, region_raw from mapped.release_observations order by 1") == [
        ("CN-CQ", "rd_expenditure", "2020", 526.8, "重庆市"), ("CN-NX", "rd_expenditure", "2020", 70.4, "寧夏回族自治區")
    ]
    assert rows(con, "select count(*) from audit.quarantine") == [(0,)]
    assert rows(con, "select count(*), count(distinct load_id) from audit.load_log") == [(1, 1)]


def test_an_indicator_alias_added_after_loading_maps_every_file_loaded_before(con, landing, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(settings.SEEDS_DIR, seeds)
    put(landing, "a/rd.csv", export("重庆市,526.8\r\n", indicator="R&D内部支出(亿元)"), sidecar())
    put(landing, "b/rd.csv", export("四川省,1055.3\r\n", indicator="R&D内部支出(亿元)"), sidecar(release_date="2021-09-23"))
    load_releases(con, landing)
    assert map_releases(con, seeds).reasons == {"unmapped indicator 'R&D内部支出(亿元)'": 2}

    with open(seeds / "ref_indicator_aliases.csv", "a", encoding="utf-8") as handle:
        handle.write("R&D内部支出,rd_expenditure\n")
    mapping = map_releases(con, seeds)

    assert (mapping.rows_mapped, mapping.rows_quarantined) == (2, 0)
    assert rows(con, "select region_code, indicator_code, value from mapped.release_observations order by 1") == [
        ("CN-CQ", "rd_expenditure", 526.8), ("CN-SC", "rd_expenditure", 1055.3)
    ]


def test_a_region_alias_added_after_loading_applies_to_the_titles_of_tables_loaded_before(con, landing, tmp_path):
    """A bulletin table names its region only in its title: the title is kept and searched on every run."""
    seeds = tmp_path / "seeds"
    shutil.copytree(settings.SEEDS_DIR, seeds)
    table = workbook_bytes([["2022年渝市科技创新主要指标"], ["指标", "2022年"], ["高新技术企业数(家)", 6348], ["地区生产总值(亿元)", "…"]])
    put(landing, "cq/b.xlsx", table, sidecar("bulletin_xlsx"))
    summary = load_releases(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    assert map_releases(con, seeds).reasons == {
        "no region named in the table's rows, columns or the title '2022年渝市科技创新主要指标' "
        "or the sidecar title 'test release' or the sidecar publisher 'test publisher'": 1
    }
    assert rows(con, "select source_file, row_number from audit.quarantine") == [("releases/cq/b.xlsx", 3)]

    with open(seeds / "ref_region_aliases.csv", "a", encoding="utf-8") as handle:
        handle.write("渝市,CN-CQ\n")
    assert load_releases(con, landing).attempts == []
    assert (map_releases(con, seeds).rows_mapped, rows(con, "select count(*) from audit.quarantine")) == (1, [(0,)])
    assert rows(con, "select region_raw, region_code, indicator_code, period, value from mapped.release_observations") == [
        ("渝市", "CN-CQ", "hightech_enterprises", "2022", 6348.0)
    ]


def test_mapping_rows_are_rebuilt_on_every_run_and_only_for_current_loads(con, landing):
    put(landing, "nbs/rd.csv", export("火星省,12.5\r\n"), sidecar())
    load_releases(con, landing)
    map_releases(con)
    map_releases(con)
    assert rows(con, "select row_number, reason, stage from audit.quarantine") == [(5, "unmapped region '火星省'", "mapping")]
    con.execute("update audit.load_log set status = 'withdrawn'")  # stands in for audit.current_loads
    assert (map_releases(con).rows_quarantined, rows(con, "select count(*) from audit.quarantine")) == (0, [(0,)])


def test_failed_files_are_logged_while_others_load_and_earlier_loads_stay(con, landing):
    put(landing, "a/good.csv", export("重庆市,526.8\r\n"), sidecar())
    assert load_releases(con, landing).files_loaded == 1
    put(landing, "b/no_sidecar.csv", export("北京市,2326.6\r\n"), None)
    put(landing, "b/unknown_format.csv", export("北京市,2326.6\r\n"), sidecar(fmt="excel"))
    truncated = export("北京市,2326.6\r\n天津市,485.0\r\n")
    put(landing, "b/truncated.csv", truncated[: truncated.index("天津市".encode("gb18030")) + 8], sidecar())
    put(landing, "c/also_good.json", (FIXTURES / "easyquery_quarters_and_months.json").read_bytes(), sidecar("nbs_easyquery_json"))

    summary = load_releases(con, landing)

    assert (summary.files_skipped, summary.files_loaded, summary.files_failed) == (1, 1, 3)
    assert rows(con, "select source_file, status, error, format from audit.load_log where status = 'failed' order by source_file") == [
        ("releases/b/no_sidecar.csv", "failed", "releases/b/no_sidecar.csv: no sidecar no_sidecar.csv.meta.yml next to the file", None),
        ("releases/b/truncated.csv", "failed",
         "releases/b/truncated.csv line 6: truncated: the last row ends without a line break and no 注/数据来源 line follows the table",
         "nbs_export"),
        ("releases/b/unknown_format.csv", "failed",
         "releases/b/unknown_format.csv.meta.yml: sidecar field 'format' is 'excel'; "
         "expected one of nbs_export, nbs_easyquery_json, sdmx_csv, bulletin_xlsx", None),
    ]
    assert rows(con, "select source_file from raw.release_files order by 1") == [("releases/a/good.csv",), ("releases/c/also_good.json",)]
    map_releases(con)
    assert rows(con, "select region_code, indicator_code, period, value from mapped.release_observations order by all") == [
        ("CN-CQ", "gdp", "2022Q1", 6281.59),
        ("CN-CQ", "gdp", "2022Q3", 21124.5),
        ("CN-CQ", "industrial_va_growth", "2022-09", 6.2),
        ("CN-CQ", "rd_expenditure", "2020", 526.8),
    ]


def test_failed_file_is_retried_on_the_next_run(con, landing):
    path = put(landing, "nbs/rd.csv", export("重庆市,526.8\r\n"), None)
    assert load_releases(con, landing).files_failed == 1
    Path(f"{path}.meta.yml").write_text(sidecar(), encoding="utf-8")
    summary = load_releases(con, landing)
    assert (summary.files_loaded, summary.files_failed, summary.files_skipped) == (1, 0, 0)
    assert rows(con, "select status from audit.load_log order by loaded_at") == [("failed",), ("loaded",)]


def test_second_run_over_the_same_files_loads_nothing(con, landing):
    shutil.copytree(SHIPPED_LANDING / "releases", landing / "releases", dirs_exist_ok=True)
    first = load_releases(con, landing)
    counts = rows(con, "select (select count(*) from audit.load_log), (select count(*) from raw.release_observations)")
    second = load_releases(con, landing)
    assert (first.files_loaded, second.files_loaded, second.files_skipped, second.attempts) == (22, 0, 22, [])
    assert rows(con, "select (select count(*) from audit.load_log), (select count(*) from raw.release_observations)") == counts


def test_changed_file_or_sidecar_is_a_new_load_next_to_the_old_one(con, landing):
    path = put(landing, "nbs/rd.csv", export("重庆市,526.8\r\n"), sidecar())
    load_releases(con, landing)
    path.write_bytes(export("重庆市,526.9\r\n"))
    assert load_releases(con, landing).files_loaded == 1
    Path(f"{path}.meta.yml").write_text(sidecar(status="revised"), encoding="utf-8")
    assert load_releases(con, landing).files_loaded == 1
    map_releases(con)
    assert rows(
        con,
        """select f.status, o.value from raw.release_files f join mapped.release_observations o using (load_id)
           order by f.loaded_at""",
    ) == [("final", 526.8), ("final", 526.9), ("revised", 526.9)]
    assert rows(con, "select status, note from audit.load_log order by loaded_at") == [
        ("loaded", None),
        ("withdrawn", "replaced by new content of the same file"),
        ("loaded", None),
        ("withdrawn", "replaced by new content of the same file"),
        ("loaded", None),
    ]
    assert rows(con, "select f.status, f.sha256 = l.sha256 from audit.current_loads l join raw.release_files f using (load_id)") == [
        ("revised", True)
    ]


def test_revision_with_later_release_date_is_kept_next_to_the_older_vintage(con, landing):
    put(landing, "cq/gdp_2020_first.json", (SHIPPED_LANDING / "releases/nbs_json/chongqing_gdp_2020_first_release.json").read_bytes(),
        sidecar("nbs_easyquery_json", "2021-03-18", "preliminary"))
    revision = "数据库：分省年度数据\r\n地区：重庆市\r\n时间：2020年\r\n指标,2020年\r\n地区生产总值(亿元),\"25,041.04注1\"\r\n注1：修订。\r\n数据来源：重庆市统计局\r\n"
    put(landing, "cq/gdp_2020_revised.csv", revision.encode("gb18030"), sidecar("nbs_export", "2021-12-30", "revised"))
    assert load_releases(con, landing).files_loaded == 2
    map_releases(con)
    assert rows(
        con,
        """select f.release_date::varchar, f.status, o.value, o.published_decimals, o.note from mapped.release_observations o
           join raw.release_files f using (load_id) where o.region_code = 'CN-CQ' and o.indicator_code = 'gdp' and o.period = '2020'
           order by f.release_date""",
    ) == [("2021-03-18", "preliminary", 25002.79, 2, None), ("2021-12-30", "revised", 25041.04, 2, "注1")]
    assert rows(con, "select notes from raw.release_files where source_file like '%revised%'") == [("注1：修订。\n数据来源：重庆市统计局",)]


def test_a_failure_while_writing_rolls_back_that_file_only(con, landing, monkeypatch):
    put(landing, "a/first.csv", export("重庆市,526.8\r\n"), sidecar())
    put(landing, "b/second.csv", export("北京市,2326.6\r\n火星省,1\r\n"), sidecar())
    real_insert = loader._insert_records

    def fail_on_second(connection, load_id, records):
        real_insert(connection, load_id, records)
        if records[0].region_raw == "北京市":
            raise duckdb.ConstraintException("simulated failure after the rows were inserted")

    monkeypatch.setattr(loader, "_insert_records", fail_on_second)
    summary = load_releases(con, landing)
    assert (summary.files_loaded, summary.files_failed) == (1, 1)
    assert summary.attempts[1].error == (
        "releases/b/second.csv: unexpected ConstraintException: simulated failure after the rows were inserted"
    )
    assert rows(con, "select source_file from raw.release_files") == [("releases/a/first.csv",)]
    assert rows(con, "select region_raw from raw.release_observations") == [("重庆市",)]


def test_a_sidecar_format_that_does_not_fit_the_file_kind_fails_the_file(con, landing):
    put(landing, "x/table.xlsx", b"PK\x03\x04", sidecar("sdmx_csv"))
    summary = load_releases(con, landing)
    assert [attempt.error for attempt in summary.attempts] == [
        "releases/x/table.xlsx: the sidecar says format sdmx_csv, whose files are .csv, not .xlsx"
    ]


def test_a_build_database_harmonized_at_load_time_is_refused_with_what_to_do(con, landing):
    con.execute(
        "create schema if not exists raw; "
        "create table raw.release_observations (load_id varchar, row_number bigint, region_code varchar)"
    )
    with pytest.raises(RuntimeError) as error:
        load_releases(con, landing)
    assert str(error.value) == (
        f"{settings.warehouse_db_path()}: raw.release_observations has the layout of an older version (harmonized at "
        "load time); delete the build database warehouse.duckdb and run again: it is rebuilt from LANDING_DIR"
    )
