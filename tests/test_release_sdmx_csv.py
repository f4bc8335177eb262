"""sdmx_csv: SDMX-CSV 1.0 rows with UNIT_MULT, OBS_STATUS and COMMENT kept as received."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.releases import sdmx_csv
from ingestion.releases.records import RawObservation, ReleaseFileError

FIXTURES = Path(__file__).parent / "fixtures" / "releases"
HEADER = "DATAFLOW,FREQ,REF_AREA,INDICATOR,UNIT_MEASURE,UNIT_MULT,TIME_PERIOD,OBS_VALUE,OBS_STATUS,COMMENT\n"


def test_rows_keep_unit_mult_status_and_comment():
    parsed = sdmx_csv.parse((FIXTURES / "sdmx_unit_mult_and_unknown_unit.csv").read_bytes(), "s.csv")
    assert parsed.encoding == "utf-8"
    assert parsed.observations == [
        RawObservation(2, "CN-CQ", "rd_expenditure", "CNY", "2022", "6,866,000", "E", "estimated from the 2022 survey", "4"),
        RawObservation(3, "500000", "gdp", "CNY", "2022-Q3", "21124.5", "P", None, "8"),
        RawObservation(4, "CN", "gdp", "USD", "2022", "17963", "A", None, "9"),
        RawObservation(5, "CN", "industrial_va_growth", "PT", "2022-09", "6.3", "A", None, "0"),
        RawObservation(6, "CN", "rd_intensity", "PT_GDP", "2022", "", "M", "not yet published", "0"),
    ]


def test_columns_in_another_order_without_optional_ones():
    text = "TIME_PERIOD,OBS_VALUE,REF_AREA,INDICATOR,UNIT_MEASURE,DATAFLOW\n2020,2.40,CN,rd_intensity,PT_GDP,DF\n"
    parsed = sdmx_csv.parse(text.encode("utf-8"), "s.csv")
    assert parsed.observations == [RawObservation(2, "CN", "rd_intensity", "PT_GDP", "2020", "2.40")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "s.csv: empty file: no SDMX-CSV header row"),
        ("DATAFLOW,REF_AREA,INDICATOR,TIME_PERIOD\n",
         "s.csv line 1: header lacks UNIT_MEASURE, OBS_VALUE; SDMX-CSV needs the columns "
         "REF_AREA,INDICATOR,UNIT_MEASURE,TIME_PERIOD,OBS_VALUE"),
        (HEADER + "DF,A,CN,gdp,CNY,8,2020,1015986,A,\nDF,A,CN,gdp,CNY,8,20",
         "s.csv line 3: 7 fields, the header has 10 (ragged or truncated row)"),
        (HEADER.replace("COMMENT", "OBS_VALUE"), "s.csv line 1: duplicated column(s) OBS_VALUE"),
        (HEADER + 'DF,A,CN,gdp,CNY,8,2020,"1015986,A,\n', "s.csv line 2: truncated or an unclosed quote: the file ends inside a quoted field"),
    ],
)
def test_malformed_sdmx_files_are_file_errors(text, problem):
    with pytest.raises(ReleaseFileError) as error:
        sdmx_csv.parse(text.encode("utf-8"), "s.csv")
    assert str(error.value) == problem


def test_bom_quoted_comments_statuses_and_region_spellings():
    text = (
        HEADER
        + 'CN_NBS:DF_SCITECH(1.0),A,CN-CQ,rd_expenditure,CNY,8,2022,686.6,P,"preliminary, revised later"\n'
        + 'CN_NBS:DF_SCITECH(1.0),Q,500000,gdp,CNY,8,2022-Q3,21124.5,A,"the ""accumulated"" value"\n'
        + "CN_NBS:DF_SCITECH(1.0),M,重庆市,industrial_va_growth,PT,0,2022-09,6.2,E,\n"
        + "CN_NBS:DF_SCITECH(1.0),A,CN,rd_expenditure,CNY,0,2021,2795630000000,B,\n"
        + "CN_NBS:DF_SCITECH(1.0),A,CN,rd_intensity,PT_GDP,0,2022,,,\n"
    )
    parsed = sdmx_csv.parse("\ufeff".encode() + text.encode("utf-8"), "s.csv")
    assert parsed.encoding == "utf-8-sig"
    assert parsed.observations == [
        RawObservation(2, "CN-CQ", "rd_expenditure", "CNY", "2022", "686.6", "P", "preliminary, revised later", "8"),
        RawObservation(3, "500000", "gdp", "CNY", "2022-Q3", "21124.5", "A", 'the "accumulated" value', "8"),
        RawObservation(4, "重庆市", "industrial_va_growth", "PT", "2022-09", "6.2", "E", None, "0"),
        RawObservation(5, "CN", "rd_expenditure", "CNY", "2021", "2795630000000", "B", None, "0"),
        RawObservation(6, "CN", "rd_intensity", "PT_GDP", "2022", "", None, None, "0"),
    ]


def test_columns_are_found_by_name_among_extra_ones_sdmx_csv_2_header_and_trailing_empty_cells():
    text = (
        "STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA,TIME_PERIOD,INDICATOR,OBS_VALUE,UNIT_MEASURE,UNIT_MULT,DECIMALS,FREQ,OBS_STATUS,\r\n"
        "dataflow,CN_NBS:DF_SCITECH(1.0),I,CN-CQ,2021,rd_intensity,2.16,PT,0,2,A,A,,\r\n"
    )
    assert sdmx_csv.parse(text.encode(), "s.csv").observations == [
        RawObservation(2, "CN-CQ", "rd_intensity", "PT", "2021", "2.16", "A", None, "0")
    ]


def test_a_file_written_with_labels_is_read_by_its_ids():
    text = (
        "DATAFLOW,FREQ: Frequency,REF_AREA: Reference area,INDICATOR: Indicator,UNIT_MEASURE: Unit of measure,"
        "UNIT_MULT: Unit multiplier,TIME_PERIOD: Time period,OBS_VALUE,OBS_STATUS: Observation status,COMMENT\n"
        "DF,A: Annual,CN-CQ: Chongqing,rd_intensity: R&D intensity,PT: Percent,0: Units,2021,2.16,A: Normal value,note: kept whole\n"
    )
    assert sdmx_csv.parse(text.encode(), "s.csv").observations == [
        RawObservation(2, "CN-CQ", "rd_intensity", "PT", "2021", "2.16", "A", "note: kept whole", "0")
    ]


@pytest.mark.parametrize("missing", ["REF_AREA", "INDICATOR", "UNIT_MEASURE", "TIME_PERIOD", "OBS_VALUE"])
def test_each_required_column_missing_is_a_file_error(missing):
    header = HEADER.strip().split(",")
    text = ",".join(c for c in header if c != missing) + "\n"
    with pytest.raises(ReleaseFileError) as error:
        sdmx_csv.parse(text.encode(), "s.csv")
    assert str(error.value) == (
        f"s.csv line 1: header lacks {missing}; SDMX-CSV needs the columns REF_AREA,INDICATOR,UNIT_MEASURE,TIME_PERIOD,OBS_VALUE"
    )
