"""bulletin_xlsx: communiqué tables typed into Excel, with 指标 rows or 地区 rows.

The parser reads the layout only: the dimension a table names in its title stays empty in the records
(the mapping finds it, ``tests/test_release_harmonize.py``), and ``table_title`` keeps the title."""

from __future__ import annotations

import io
import itertools
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from ingestion.releases import bulletin_xlsx
from ingestion.releases.records import RawObservation, ReleaseFileError

SAMPLE = Path(__file__).parent.parent / "data" / "landing" / "releases" / "cq" / "chongqing_innovation_indicators_2018_2021.xlsx"


def workbook_bytes(rows: list[list], *, merge: str | None = None, formats: dict[str, str] | None = None) -> bytes:
    """A one-sheet workbook; ``rows`` start at A1, None is an empty cell, [] a blank row."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row_number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row_number, column, value)
    if merge:
        sheet.merge_cells(merge)
    for cell, number_format in (formats or {}).items():
        sheet[cell].number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_indicator_rows_with_merged_title_unit_row_spacers_and_notes():
    data = workbook_bytes(
        [
            ["2022年重庆市科技创新主要指标", None, None],
            [],
            ["单位：亿元", None, None],
            ["指标", "2021年", "2022年"],
            [],
            ["研究与试验发展(R&D)经费支出", 603.8, "686.6注1"],
            ["研究与试验发展(R&D)经费投入强度(%)", 2.16, 2.4],
            ["高新技术企业数(家)", 5109, "…"],
            [],
            ["注1：2022年为快报数。", None, None],
            ["资料来源：重庆市统计局", None, None],
        ],
        merge="A1:C1",
        formats={"C7": "0.00"},
    )
    parsed = bulletin_xlsx.parse(data, "b.xlsx")
    assert parsed.encoding is None
    assert parsed.table_title == "2022年重庆市科技创新主要指标"
    assert parsed.notes == ["注1：2022年为快报数。", "资料来源：重庆市统计局"]
    assert parsed.observations == [
        RawObservation(6, None, "研究与试验发展(R&D)经费支出", "亿元", "2021年", "603.8"),
        RawObservation(6, None, "研究与试验发展(R&D)经费支出", "亿元", "2022年", "686.6注1"),
        RawObservation(7, None, "研究与试验发展(R&D)经费投入强度(%)", "亿元", "2021年", "2.16"),
        # formatted 0.00: published as 2.40, two decimals
        RawObservation(7, None, "研究与试验发展(R&D)经费投入强度(%)", "亿元", "2022年", "2.40"),
        RawObservation(8, None, "高新技术企业数(家)", "亿元", "2021年", "5109"),
        RawObservation(8, None, "高新技术企业数(家)", "亿元", "2022年", "…"),
    ]


def test_region_rows_by_indicator_columns_leave_the_year_to_the_title():
    data = workbook_bytes(
        [
            [None, "2020年各地区研究与试验发展(R&D)经费情况"],
            [None, "地区", "研究与试验发展(R&D)经费支出(亿元)", "研究与试验发展(R&D)经费投入强度(%)"],
            [None, "全国", 24393.1, 0.024],
            [None, "重庆", 526.8, 0.0211],
            [None, "注：投入强度为与地区生产总值之比。"],
        ],
        formats={"D3": "0.00%", "D4": "0.00%"},
    )
    parsed = bulletin_xlsx.parse(data, "b.xlsx")
    assert parsed.table_title == "2020年各地区研究与试验发展(R&D)经费情况"
    assert parsed.observations == [
        RawObservation(3, "全国", "研究与试验发展(R&D)经费支出(亿元)", None, None, "24393.1"),
        RawObservation(3, "全国", "研究与试验发展(R&D)经费投入强度(%)", "%", None, "2.40"),
        RawObservation(4, "重庆", "研究与试验发展(R&D)经费支出(亿元)", None, None, "526.8"),
        RawObservation(4, "重庆", "研究与试验发展(R&D)经费投入强度(%)", "%", None, "2.11"),
    ]
    assert parsed.notes == ["注：投入强度为与地区生产总值之比。"]


def test_unit_column_gives_each_row_its_unit():
    data = workbook_bytes([["重庆市主要指标"], ["指标", "单位", "2022年"], ["地区生产总值", "亿元", 29129.03], ["年末常住人口", "万人", 3213.34]])
    parsed = bulletin_xlsx.parse(data, "b.xlsx")
    assert parsed.observations == [
        RawObservation(3, None, "地区生产总值", "亿元", "2022年", "29129.03"),
        RawObservation(4, None, "年末常住人口", "万人", "2022年", "3213.34"),
    ]


def table_cells(path: Path) -> int:
    """The cells of a bulletin's table as openpyxl reads them: its indicator rows (from the 指标 header to
    the first blank row) times its period columns."""
    rows = list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row[0] == "指标")
    indicators = list(itertools.takewhile(lambda row: row[0] is not None, rows[header + 1 :]))
    return len(indicators) * len([period for period in rows[header][1:] if period is not None])


def test_shipped_bulletin_reads_every_cell():
    parsed = bulletin_xlsx.parse(SAMPLE.read_bytes(), "cq.xlsx")
    assert len(parsed.observations) == table_cells(SAMPLE) > 0
    assert parsed.table_title == "重庆市科技创新主要指标（2018-2021年）"
    assert parsed.observations[2] == RawObservation(3, None, "研究与试验发展(R&D)经费支出(亿元)", None, "2020年", "526.8")
    assert parsed.notes == ["注：2018年研发投入强度按第四次全国经济普查前地区生产总值计算。"]


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([["重庆市主要指标"], ["项目", "2022年"], ["地区生产总值(亿元)", 1]], "b.xlsx sheet 1: no header row whose first cell is 指标 or 地区"),
        ([["重庆市主要指标"], ["指标", None, "2022年"]], "b.xlsx row 2: an empty header cell (table column B)"),
        ([["重庆市主要指标"], ["指标", "2022年"], ["地区生产总值(亿元)", 1, 2]], "b.xlsx row 3: a value in a column without header"),
        ([["重庆市主要指标"], ["指标"]], "b.xlsx row 2: the header row has no value columns"),
        ([], "b.xlsx sheet 1: the first sheet is empty"),
    ],
)
def test_malformed_bulletins_are_file_errors(rows, problem):
    with pytest.raises(ReleaseFileError) as error:
        bulletin_xlsx.parse(workbook_bytes(rows), "b.xlsx")
    assert str(error.value) == problem


def test_a_file_that_is_not_a_workbook_is_a_file_error():
    with pytest.raises(ReleaseFileError, match=r"^b.xlsx: not a readable xlsx workbook \(BadZipFile: "):
        bulletin_xlsx.parse(b"PK\x03\x04 truncated", "b.xlsx")


def cells(parsed) -> list[tuple]:
    return [(o.row_number, o.region_raw, o.indicator_raw, o.unit_raw, o.period_raw, o.value_raw) for o in parsed.observations]


def test_region_rows_by_period_columns_leave_the_indicator_to_the_title_and_take_the_unit_row():
    data = workbook_bytes(
        [
            ["2022年各地区研究与试验发展(R&D)经费支出"],
            ["单位：亿元"],
            ["地  区", "2021年", "2022年"],
            ["重  庆", 603.8, 686.6],
            ["四川省", 1214.5, "1,215.0注"],
            ["注：2022年为快报数。"],
        ],
        merge="A1:C1",
    )
    parsed = bulletin_xlsx.parse(data, "b.xlsx")
    assert parsed.table_title == "2022年各地区研究与试验发展(R&D)经费支出"
    assert cells(parsed) == [
        (4, "重  庆", None, "亿元", "2021年", "603.8"),
        (4, "重  庆", None, "亿元", "2022年", "686.6"),
        (5, "四川省", None, "亿元", "2021年", "1214.5"),
        (5, "四川省", None, "亿元", "2022年", "1,215.0注"),
    ]
    assert parsed.notes == ["注：2022年为快报数。"]


def test_a_unit_in_the_title_is_left_to_the_mapping():
    data = workbook_bytes([["2022年各地区每万人口发明专利拥有量（件）"], ["地区", "2022年"], ["重庆市", 14.1]])
    parsed = bulletin_xlsx.parse(data, "b.xlsx")
    assert (parsed.table_title, cells(parsed)) == ("2022年各地区每万人口发明专利拥有量（件）", [(3, "重庆市", None, None, "2022年", "14.1")])


def test_an_untitled_table_has_an_empty_title_for_the_sidecar_to_complete():
    data = workbook_bytes([["指标", "2022年"], ["高新技术企业数(家)", 6348.0]])
    parsed = bulletin_xlsx.parse(data, "b.xlsx")
    # a General-format 6348.0 is displayed, and published, as 6348
    assert (parsed.table_title, cells(parsed)) == ("", [(2, None, "高新技术企业数(家)", None, "2022年", "6348")])


def test_absolute_value_column_leaves_region_and_year_to_the_title_and_a_growth_column_stays_for_quarantine():
    data = workbook_bytes(
        [["2022年重庆市科技创新主要指标"], ["指  标", "单位", "绝对数", "比上年增长(%)"], ["研究与试验发展(R&D)经费支出", "亿元", 686.6, 13.7]]
    )
    assert cells(bulletin_xlsx.parse(data, "b.xlsx")) == [
        (3, None, "研究与试验发展(R&D)经费支出", "亿元", None, "686.6"),
        # read as a region column: the mapping quarantines it as an unmapped region
        (3, "比上年增长(%)", "研究与试验发展(R&D)经费支出", "亿元", None, "13.7"),
    ]


def test_region_columns_leave_the_year_to_the_title():
    data = workbook_bytes([["2022年成渝地区主要科技指标"], ["指标", "重庆市", "四川"], ["研究与试验发展(R&D)经费支出(亿元)", 686.6, 1215]])
    assert cells(bulletin_xlsx.parse(data, "b.xlsx")) == [
        (3, "重庆市", "研究与试验发展(R&D)经费支出(亿元)", None, None, "686.6"),
        (3, "四川", "研究与试验发展(R&D)经费支出(亿元)", None, None, "1215"),
    ]


def test_quarter_month_and_date_formatted_month_headings():
    data = workbook_bytes(
        [["重庆市主要经济指标"], ["指标", "2022年第一季度", datetime(2022, 9, 1), 2022], ["规模以上工业增加值增长(%)", 8.9, -3.5, "−0.6"]],
        formats={"C2": 'yyyy"年"m"月"'},
    )
    assert cells(bulletin_xlsx.parse(data, "b.xlsx")) == [
        (3, None, "规模以上工业增加值增长(%)", None, "2022年第一季度", "8.9"),
        (3, None, "规模以上工业增加值增长(%)", None, "2022年9月", "-3.5"),
        (3, None, "规模以上工业增加值增长(%)", None, "2022", "−0.6"),
    ]


def test_a_number_shown_as_a_percent_has_the_unit_percent():
    data = workbook_bytes(
        [[None, "2022年各地区研究与试验发展(R&D)经费投入强度"], [None, "地区", "2021年", "2022年"], [None, "重庆市", 0.0216, 0.0236]],
        formats={"C3": "0.00%", "D3": "0.0%"},
    )
    assert cells(bulletin_xlsx.parse(data, "b.xlsx")) == [
        (3, "重庆市", None, "%", "2021年", "2.16"),
        (3, "重庆市", None, "%", "2022年", "2.4"),
    ]
