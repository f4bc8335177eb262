"""nbs_export: the NBS portal's CSV download, both layouts, GB18030 or UTF-8."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.releases import nbs_export
from ingestion.releases.records import RawObservation, ReleaseFileError

FIXTURES = Path(__file__).parent / "fixtures" / "releases"
RD = "研究与试验发展(R&D)经费支出(亿元)"


def parse_fixture(name: str):
    return nbs_export.parse((FIXTURES / name).read_bytes(), f"releases/{name}")


def test_gb18030_export_with_footnotes_blanks_and_separators():
    parsed = parse_fixture("nbs_export_gb18030_footnotes.csv")
    assert parsed.encoding == "gb18030"
    assert parsed.notes == ["注1：北京市2020年数据按新口径修订（测试数据）。", "数据来源：国家统计局"]
    cells = [(o.row_number, o.region_raw, o.period_raw, o.value_raw) for o in parsed.observations]
    assert cells == [
        (5, "北京市", "2022年", "2843.3"),
        (5, "北京市", "2021年", "2629.3"),
        (5, "北京市", "2020年", "2326.6注1"),
        (6, "天津市", "2022年", "…"),
        (6, "天津市", "2021年", "574.3"),
        (6, "天津市", "2020年", "485.0*"),
        (7, "广东省", "2022年", "4,411.9"),
        (7, "广东省", "2021年", "4,002.2"),
        (7, "广东省", "2020年", "3,479.9"),
        (8, "重庆市", "2022年", "686.6"),
        (8, "重庆市", "2021年", "603.8"),
        (8, "重庆市", "2020年", "526.8①"),
        (9, "西藏自治区", "2022年", "——"),
        (9, "西藏自治区", "2021年", "—"),
        (9, "西藏自治区", "2020年", ""),
        (10, "火星省", "2022年", "1.0"),
        (10, "火星省", "2021年", "－"),
        (10, "火星省", "2020年", "..."),
    ]
    assert {(o.indicator_raw, o.unit_raw) for o in parsed.observations} == {(RD, None)}


def test_region_fixed_layout_has_indicator_rows():
    parsed = parse_fixture("nbs_export_region_fixed_utf8_bom.csv")
    assert parsed.encoding == "utf-8-sig"
    assert parsed.observations[:4] == [
        RawObservation(5, "重庆市", "地区生产总值_累计值(亿元)", None, "2022年第一季度", "6281.59"),
        RawObservation(5, "重庆市", "地区生产总值_累计值(亿元)", None, "2022年第二季度", "13512.39"),
        RawObservation(6, "重庆市", "地区生产总值（亿元）", None, "2022年第一季度", "6,281.59"),
        RawObservation(6, "重庆市", "地区生产总值（亿元）", None, "2022年第二季度", "…"),
    ]
    assert len(parsed.observations) == 6


def test_national_database_without_fixed_line_is_the_nation():
    text = "数据库：年度数据\n时间：最近2年\n指标,2021年,2020年\n国内生产总值(亿元),1143670,1015986\n数据来源：国家统计局\n"
    parsed = nbs_export.parse(text.encode("gb18030"), "national.csv")
    assert [(o.region_raw, o.indicator_raw, o.period_raw, o.value_raw) for o in parsed.observations] == [
        ("全国", "国内生产总值(亿元)", "2021年", "1143670"),
        ("全国", "国内生产总值(亿元)", "2020年", "1015986"),
    ]


def test_trailing_empty_columns_of_a_resave_are_ignored():
    text = f"指标：{RD},,\n地区,2020年,,\n重庆市,526.8,,\n数据来源：国家统计局,,\n"
    parsed = nbs_export.parse(text.encode("utf-8"), "resaved.csv")
    assert [(o.region_raw, o.value_raw) for o in parsed.observations] == [("重庆市", "526.8")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"指标：{RD}\n地区,2020年\n重庆市,526.8\n", "releases/x.csv: truncated: no closing 数据来源 line after the table"),
        (f"指标：{RD}\n地区,2020年\n重庆市,5", "releases/x.csv: truncated: no closing 数据来源 line after the table"),
        (f"指标：{RD}\n地区,2020年,2021年\n重庆市,526.8\n数据来源：国家统计局\n",
         "releases/x.csv line 3: 2 fields, the header has 3 (ragged or truncated row)"),
        ("数据库：分省年度数据\n时间：2020年\n", "releases/x.csv: no header row starting with 地区 or 指标"),
        (f"指标：{RD}\n指标,2020年\n数据来源：国家统计局\n",
         "releases/x.csv: with 指标： fixed the header row must start with 地区, not 指标"),
        ("数据库：分省年度数据\n地区,2020年\n重庆市,1\n数据来源：国家统计局\n",
         "releases/x.csv: no fixed dimension line (指标：<indicator> or 地区：<region>) before the header"),
        (f"指标：{RD}\n地区,2020年,\n", "releases/x.csv: truncated: no closing 数据来源 line after the table"),
        (f"指标：{RD}\n地区,,2020年\n数据来源：国家统计局\n",
         "releases/x.csv line 2: the header row needs one non-empty period per column"),
        (f"DATAFLOW,FREQ\n指标：{RD}\n", "releases/x.csv line 1: unexpected 'DATAFLOW' before the header row (地区,... or 指标,...)"),
    ],
)
def test_malformed_exports_are_file_errors_naming_file_and_problem(text, problem):
    with pytest.raises(ReleaseFileError) as error:
        nbs_export.parse(text.encode("utf-8"), "releases/x.csv")
    assert str(error.value) == problem


def test_undecodable_export_is_a_file_error():
    with pytest.raises(ReleaseFileError, match=r"^releases/x.csv: not a text file in a supported encoding"):
        nbs_export.parse(b"\xff\xfe\xfd\x81\x30", "releases/x.csv")
