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
        (f"指标：{RD}\n地区,2020年\n重庆市,5",
         "releases/x.csv line 3: truncated: the last row ends without a line break and no 注/数据来源 line follows the table"),
        (f"指标：{RD}\n地区,2020年,2021年\n重庆市,526.8\n数据来源：国家统计局\n",
         "releases/x.csv line 3: 2 fields, the header has 3 (ragged or truncated row)"),
        ("数据库：分省年度数据\n时间：2020年\n", "releases/x.csv: no header row starting with 地区 or 指标"),
        (f"指标：{RD}\n指标,2020年\n数据来源：国家统计局\n",
         "releases/x.csv line 2: with 指标： fixed the header row must start with 地区, not 指标"),
        ("数据库：分省年度数据\n地区,2020年\n重庆市,1\n数据来源：国家统计局\n",
         "releases/x.csv line 2: no fixed dimension line (指标：<indicator> or 地区：<region>) before the header"),
        (f"指标：{RD}\n地区,2020年,\n", "releases/x.csv line 2: no data rows after the header row (truncated?)"),
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


def observations(text: str, encoding: str = "utf-8") -> list[tuple]:
    parsed = nbs_export.parse(text.encode(encoding), "releases/x.csv")
    return [(o.row_number, o.region_raw, o.indicator_raw, o.period_raw, o.value_raw) for o in parsed.observations]


def test_quarter_columns_in_both_spellings():
    text = (
        "数据库：分省季度数据\r\n指标：地区生产总值(亿元)\r\n时间：2022年\r\n"
        '地区,2022年第三季度,2022B,2022A\r\n重庆市,"21,124.50",,6281.59\r\n数据来源：国家统计局\r\n'
    )
    assert observations(text, "gb18030") == [
        (5, "重庆市", "地区生产总值(亿元)", "2022年第三季度", "21,124.50"),
        (5, "重庆市", "地区生产总值(亿元)", "2022B", ""),
        (5, "重庆市", "地区生产总值(亿元)", "2022A", "6281.59"),
    ]


def test_monthly_national_database_has_indicator_rows_for_the_nation():
    text = "数据库：月度数据\n时间：最近3个月\n指标,2022年9月,2022年8月\n规模以上工业增加值增长(%),6.3,4.2\n数据来源：国家统计局\n"
    assert observations(text) == [
        (4, "全国", "规模以上工业增加值增长(%)", "2022年9月", "6.3"),
        (4, "全国", "规模以上工业增加值增长(%)", "2022年8月", "4.2"),
    ]


def test_national_annual_export_with_crlf_trailing_commas_and_a_note_with_commas():
    text = (
        "数据库：年度数据\r\n时间：最近2年\r\n指标,2022年,2021年,\r\n"
        "国内生产总值(亿元),1210207.2,1149237.0,\r\n研究与试验发展(R&D)经费支出(亿元),30782.9,27956.3,\r\n"
        '"注：1.按当年价格计算,2.2022年为初步核算数。",,,\r\n数据来源：国家统计局,,,\r\n'
    )
    parsed = nbs_export.parse(text.encode("gb18030"), "releases/x.csv")
    assert parsed.notes == ["注：1.按当年价格计算,2.2022年为初步核算数。", "数据来源：国家统计局"]
    assert [(o.region_raw, o.indicator_raw, o.period_raw, o.value_raw) for o in parsed.observations] == [
        ("全国", "国内生产总值(亿元)", "2022年", "1210207.2"),
        ("全国", "国内生产总值(亿元)", "2021年", "1149237.0"),
        ("全国", "研究与试验发展(R&D)经费支出(亿元)", "2022年", "30782.9"),
        ("全国", "研究与试验发展(R&D)经费支出(亿元)", "2021年", "27956.3"),
    ]


@pytest.mark.parametrize(
    ("ending", "notes"),
    [
        ("重庆市,603.8\n注：2021年为快报数。\n", ["注：2021年为快报数。"]),  # notes close the table
        ("重庆市,603.8\n", []),  # a complete last row: a re-save that trimmed the footer
        ("重庆市,603.8\r\n\r\n", []),
        ("重庆市,603.8\r", []),  # old Mac line ends
    ],
)
def test_an_export_may_end_without_its_source_line(ending, notes):
    parsed = nbs_export.parse(f"数据库：分省年度数据\n指标：{RD}\n时间：2021年\n地区,2021年\n{ending}".encode(), "x.csv")
    assert ([(o.region_raw, o.value_raw) for o in parsed.observations], parsed.notes) == ([("重庆市", "603.8")], notes)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        # cut inside the last value, no line break: the figure may be incomplete
        (f"指标：{RD}\n地区,2021年,2020年\n重庆市,603.8,526.8\n北京市,2629.3,23".encode(),
         "x.csv line 4: truncated: the last row ends without a line break and no 注/数据来源 line follows the table"),
        # cut after a comma: the missing value would read as a blank cell
        (f"指标：{RD}\n地区,2021年,2020年\n重庆市,603.8,".encode(),
         "x.csv line 3: truncated: the last row ends without a line break and no 注/数据来源 line follows the table"),
        (f"指标：{RD}\n地区,2021年,2020年\n重庆市,603.8,526.8\n北京市,26".encode(),
         "x.csv line 4: 2 fields, the header has 3 (ragged or truncated row)"),
        (f"指标：{RD}\n地区,2021年\n重庆市,603.8\n四川省".encode("gb18030")[:-1],
         "x.csv: truncated: the file ends inside a GB18030 character (byte 69 of 70)"),
        (f"指标：{RD}\n地区,2021年,地区生产总值\n重庆市,603.8,1\n".encode(),
         "x.csv line 2: header column 3: unparseable period '地区生产总值': "
         "expected a year (2022), quarter (2022Q3) or month (2022-09)"),
    ],
)
def test_cut_short_or_mislaid_exports_fail(data, problem):
    with pytest.raises(ReleaseFileError) as error:
        nbs_export.parse(data, "x.csv")
    assert str(error.value) == problem
