"""Release files nobody has seen yet: other years, provinces, periods and layouts of every format, loaded
end to end with exact values; malformed files fail with file, place and reason, and earlier loads stay."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

from ingestion.releases.loader import load_releases
from ingestion.releases.mapping import map_releases
from tests.test_release_bulletin_xlsx import workbook_bytes
from tests.test_release_loader import con, landing, put, rows, sidecar  # noqa: F401 (fixtures)

RD = "研究与试验发展(R&D)经费支出(亿元)"


def quarterly_export_gb18030() -> bytes:
    return (
        "数据库：分省季度数据\r\n指标：地区生产总值(亿元)\r\n时间：2022年\r\n地区,2022年第三季度,2022B,2022A,\r\n"
        '重庆市,"21,124.50",…,6281.59,\r\n四川省,"41,214.80",—,"12,512.60注1",\r\n'
        "注1：季度数据为累计值。,,,,\r\n数据来源：国家统计局,,,,\r\n"
    ).encode("gb18030")


def monthly_national_export_without_footer() -> bytes:
    return "数据库：月度数据\n时间：最近2个月\n指标,2022年9月,2022年8月\n规模以上工业增加值增长(%),6.3,4.2\n".encode()


def region_fixed_export() -> bytes:
    return (
        f"数据库：分省年度数据\n地区：北京市\n时间：最近3年\n指标,2022年,2021年,2020年\n{RD},2843.3,2629.3,\"2,326.6注1\"\n"
        "研究与试验发展(R&D)经费投入强度(%),6.83,6.53*,-\n注1：修订数。\n数据来源：国家统计局\n"
    ).encode()


def national_easyquery() -> bytes:
    """hgnd: no reg dimension anywhere."""
    datanodes = [
        {"data": {"data": 30782.9, "dotcount": 1, "hasdata": True, "strdata": "30782.9"},
         "wds": [{"wdcode": "zb", "valuecode": "A0J01"}, {"wdcode": "sj", "valuecode": "2022"}]},
        {"data": {"data": 0, "dotcount": 0, "hasdata": False, "strdata": ""},
         "wds": [{"wdcode": "sj", "valuecode": "2023"}, {"wdcode": "zb", "valuecode": "A0J01"}]},
    ]
    wdnodes = [
        {"wdcode": "sj", "nodes": [{"code": "2022", "cname": "2022年", "unit": ""}]},
        {"wdcode": "zb", "nodes": [{"code": "A0J01", "cname": "研究与试验发展(R&D)经费支出", "unit": "亿元"}]},
    ]
    return json.dumps({"returncode": 200, "returndata": {"datanodes": datanodes, "wdnodes": wdnodes}}, ensure_ascii=False).encode()


def provincial_monthly_easyquery() -> bytes:
    datanodes = [
        {"data": {"data": 6.2, "dotcount": 1, "hasdata": True, "strdata": "6.2"},
         "wds": [{"wdcode": "reg", "valuecode": "500000"}, {"wdcode": "zb", "valuecode": "A01"}, {"wdcode": "sj", "valuecode": "202209"}]},
        {"data": {"data": 6.3, "dotcount": 1, "hasdata": True, "strdata": ""},
         "wds": [{"wdcode": "zb", "valuecode": "A01"}, {"wdcode": "reg", "valuecode": "000000"}, {"wdcode": "sj", "valuecode": "202209"}]},
    ]
    wdnodes = [
        {"wdcode": "reg", "nodes": [{"code": "500000", "cname": "重庆市", "unit": ""}, {"code": "000000", "cname": "全国", "unit": ""}]},
        {"wdcode": "zb", "nodes": [{"code": "A01", "cname": "规模以上工业增加值增长", "unit": "%"}]},
    ]
    return json.dumps({"returncode": 200, "returndata": {"datanodes": datanodes, "wdnodes": wdnodes}}, ensure_ascii=False).encode("gb18030")


def sdmx_reordered_with_bom() -> bytes:
    text = (
        "TIME_PERIOD,REF_AREA,INDICATOR,OBS_VALUE,UNIT_MEASURE,UNIT_MULT,OBS_STATUS,COMMENT,DATAFLOW,DECIMALS\r\n"
        '2022,CN-SC,rd_expenditure,12150000,CNY,4,P,"preliminary, from the 2022 survey",DF,0\r\n'
        "2022-Q3,500000,gdp,21124.5,CNY,8,A,,DF,1\r\n"
        "2022-09,Chongqing,industrial_va_growth,6.2,PT,0,E,,DF,1\r\n"
        "2021,CN,rd_expenditure,2795630000000,CNY,0,B,,DF,0\r\n"
        "2022,CN,rd_intensity,,PT_GDP,0,,,DF,2\r\n"
    )
    return codecs.BOM_UTF8 + text.encode()


def district_bulletin() -> bytes:
    return workbook_bytes(
        [["2022年各地区研究与试验发展(R&D)经费支出"], ["单位：亿元"], ["地区", "2021年", "2022年"],
         ["重  庆", 603.8, 686.6], ["渝中区", 30.1, 33.2], ["注：2022年为快报数。"]],
        merge="A1:C1",
    )


def untitled_region_bulletin() -> bytes:
    return workbook_bytes(
        [["2022年科技创新主要指标"], ["指标", "单位", "绝对数", "比上年增长(%)"], ["高新技术企业数", "家", 6348, 18.8]]
    )


def test_unseen_variants_of_every_format_load_with_exact_values(con, landing):
    put(landing, "nbs/q.csv", quarterly_export_gb18030(), sidecar())
    put(landing, "nbs/m.csv", monthly_national_export_without_footer(), sidecar())
    put(landing, "nbs/bj.csv", region_fixed_export(), sidecar())
    put(landing, "json/hgnd.json", national_easyquery(), sidecar("nbs_easyquery_json"))
    put(landing, "json/fsyd.json", provincial_monthly_easyquery(), sidecar("nbs_easyquery_json"))
    put(landing, "sdmx/s.csv", sdmx_reordered_with_bom(), sidecar("sdmx_csv"))
    put(landing, "xlsx/districts.xlsx", district_bulletin(), sidecar("bulletin_xlsx"))
    put(landing, "xlsx/cq.xlsx", untitled_region_bulletin(),
        "format: bulletin_xlsx\npublisher: Chongqing Municipal Bureau of Statistics\ntitle: 科技创新统计公报\n"
        "release_date: 2023-03-20\nstatus: final\n")

    summary = load_releases(con, landing)
    mapping = map_releases(con)

    assert (summary.files_loaded, summary.files_failed, summary.rows_loaded, summary.rows_quarantined) == (8, 0, 29, 0)
    assert (mapping.rows_mapped, mapping.rows_quarantined) == (21, 3)  # and 5 cells without a figure
    assert rows(
        con,
        """select f.source_file, o.row_number, o.region_code, o.indicator_code, o.period, o.value,
                  o.published_decimals, o.obs_status, o.note
           from mapped.release_observations o join raw.release_files f using (load_id) order by all""",
    ) == [
        ("releases/json/fsyd.json", 1, "CN-CQ", "industrial_va_growth", "2022-09", 6.2, 1, None, None),
        ("releases/json/fsyd.json", 2, "CN", "industrial_va_growth", "2022-09", 6.3, 1, None, None),
        ("releases/json/hgnd.json", 1, "CN", "rd_expenditure", "2022", 30782.9, 1, None, None),
        ("releases/nbs/bj.csv", 5, "CN-BJ", "rd_expenditure", "2020", 2326.6, 1, None, "注1"),
        ("releases/nbs/bj.csv", 5, "CN-BJ", "rd_expenditure", "2021", 2629.3, 1, None, None),
        ("releases/nbs/bj.csv", 5, "CN-BJ", "rd_expenditure", "2022", 2843.3, 1, None, None),
        ("releases/nbs/bj.csv", 6, "CN-BJ", "rd_intensity", "2021", 6.53, 2, None, "*"),
        ("releases/nbs/bj.csv", 6, "CN-BJ", "rd_intensity", "2022", 6.83, 2, None, None),
        ("releases/nbs/m.csv", 4, "CN", "industrial_va_growth", "2022-08", 4.2, 1, None, None),
        ("releases/nbs/m.csv", 4, "CN", "industrial_va_growth", "2022-09", 6.3, 1, None, None),
        ("releases/nbs/q.csv", 5, "CN-CQ", "gdp", "2022Q1", 6281.59, 2, None, None),
        ("releases/nbs/q.csv", 5, "CN-CQ", "gdp", "2022Q3", 21124.5, 2, None, None),
        ("releases/nbs/q.csv", 6, "CN-SC", "gdp", "2022Q1", 12512.6, 2, None, "注1"),
        ("releases/nbs/q.csv", 6, "CN-SC", "gdp", "2022Q3", 41214.8, 2, None, None),
        ("releases/sdmx/s.csv", 2, "CN-SC", "rd_expenditure", "2022", 1215.0, 0, "P", "preliminary, from the 2022 survey"),
        ("releases/sdmx/s.csv", 3, "CN-CQ", "gdp", "2022Q3", 21124.5, 1, "A", None),
        ("releases/sdmx/s.csv", 4, "CN-CQ", "industrial_va_growth", "2022-09", 6.2, 1, "E", None),
        ("releases/sdmx/s.csv", 5, "CN", "rd_expenditure", "2021", 27956.3, 0, "B", None),
        ("releases/xlsx/cq.xlsx", 3, "CN-CQ", "hightech_enterprises", "2022", 6348.0, 0, None, None),
        ("releases/xlsx/districts.xlsx", 4, "CN-CQ", "rd_expenditure", "2021", 603.8, 1, None, None),
        ("releases/xlsx/districts.xlsx", 4, "CN-CQ", "rd_expenditure", "2022", 686.6, 1, None, None),
    ]
    assert rows(con, "select source_file, row_number, reason from audit.quarantine order by all") == [
        # a measure column of a 指标-rows table is read as a region column
        ("releases/xlsx/cq.xlsx", 3, "unmapped region '比上年增长(%)'"),
        ("releases/xlsx/districts.xlsx", 5, "unmapped region '渝中区'"),
        ("releases/xlsx/districts.xlsx", 5, "unmapped region '渝中区'"),
    ]
    assert rows(con, "select source_file, encoding, notes from raw.release_files where notes is not null or encoding like 'gb%' order by 1") == [
        ("releases/json/fsyd.json", "gb18030", None),
        ("releases/nbs/bj.csv", "utf-8", "注1：修订数。\n数据来源：国家统计局"),
        ("releases/nbs/q.csv", "gb18030", "注1：季度数据为累计值。\n数据来源：国家统计局"),
        ("releases/xlsx/districts.xlsx", None, "注：2022年为快报数。"),
    ]


def test_a_later_release_in_another_format_is_a_new_vintage_next_to_the_first(con, landing):
    put(landing, "sdmx/prelim.csv", sdmx_reordered_with_bom(), sidecar("sdmx_csv", "2023-01-17", "preliminary"))
    put(landing, "xlsx/final.xlsx", workbook_bytes([["2022年四川省科技创新主要指标"], ["指标", "2022年"], [RD, "1,215.0注1"]]),
        sidecar("bulletin_xlsx", "2023-09-18", "final"))
    assert load_releases(con, landing).files_loaded == 2
    map_releases(con)
    assert rows(
        con,
        """select f.release_date::varchar, f.status, o.value, o.published_decimals, o.note from mapped.release_observations o
           join raw.release_files f using (load_id)
           where o.region_code = 'CN-SC' and o.indicator_code = 'rd_expenditure' and o.period = '2022' order by f.release_date""",
    ) == [("2023-01-17", "preliminary", 1215.0, 0, "preliminary, from the 2022 survey"), ("2023-09-18", "final", 1215.0, 1, "注1")]


def test_malformed_files_of_every_format_fail_with_file_place_and_reason_and_earlier_loads_stay(con, landing):
    put(landing, "a/good.csv", region_fixed_export(), sidecar())
    assert load_releases(con, landing).files_loaded == 1
    before = rows(con, "select * from raw.release_observations order by all")

    export = quarterly_export_gb18030()
    put(landing, "b/cut_mid_row.csv", export[: export.index("四川省".encode("gb18030")) + 12], sidecar())
    put(landing, "b/cut_in_char.csv", export[: export.index("注1".encode("gb18030")) + 1], sidecar())
    put(landing, "b/cut.json", national_easyquery()[:-40], sidecar("nbs_easyquery_json"))
    put(landing, "b/no_unit.csv", "REF_AREA,INDICATOR,TIME_PERIOD,OBS_VALUE\nCN,gdp,2022,1\n".encode(), sidecar("sdmx_csv"))
    put(landing, "b/ragged.csv", sdmx_reordered_with_bom()[:-12], sidecar("sdmx_csv"))
    put(landing, "b/not_a_workbook.xlsx", b"PK\x03\x04", sidecar("bulletin_xlsx"))
    put(landing, "b/empty.csv", b"", sidecar())

    summary = load_releases(con, landing)

    assert (summary.files_skipped, summary.files_loaded, summary.files_failed) == (1, 0, 7)
    assert rows(con, "select error from audit.load_log where status = 'failed' order by source_file") == [
        ("releases/b/cut.json line 1 column 524: not valid JSON: Unterminated string starting at",),
        ("releases/b/cut_in_char.csv: truncated: the file ends inside a GB18030 character (byte 160 of 161)",),
        ("releases/b/cut_mid_row.csv line 6: truncated or an unclosed quote: the file ends inside a quoted field",),
        ("releases/b/empty.csv: the file is empty (0 bytes)",),
        ("releases/b/no_unit.csv line 1: header lacks UNIT_MEASURE; SDMX-CSV needs the columns "
         "REF_AREA,INDICATOR,UNIT_MEASURE,TIME_PERIOD,OBS_VALUE",),
        ("releases/b/not_a_workbook.xlsx: not a readable xlsx workbook (BadZipFile: File is not a zip file)",),
        ("releases/b/ragged.csv line 6: 5 fields, the header has 10 (ragged or truncated row)",),
    ]
    assert rows(con, "select * from raw.release_observations order by all") == before
    assert rows(con, "select count(*) from raw.release_files") == [(1,)]
    assert rows(con, "select count(*) from audit.quarantine") == [(0,)]
