"""Harmonization of raw release records against the seeds: codes, units, periods, quarantine reasons."""

from __future__ import annotations

import pytest

from core import settings
from ingestion.audit import QuarantinedRow
from ingestion.releases.harmonize import ReferenceData, TableTitles, harmonize, load_reference
from ingestion.releases.records import RawObservation


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return load_reference(settings.SEEDS_DIR)


def one(record: RawObservation, reference: ReferenceData):
    result = harmonize([record], reference)
    assert len(result.observations) + len(result.quarantined) == 1
    return result.observations[0] if result.observations else result.quarantined[0]


@pytest.mark.parametrize(
    ("region_raw", "code"),
    [("重庆市", "CN-CQ"), (" 重庆 ", "CN-CQ"), ("chongqing", "CN-CQ"), ("500000", "CN-CQ"), ("cn-cq", "CN-CQ"), ("全国", "CN"),
     ("CN", "CN"), ("重  庆", "CN-CQ"), ("北\u3000京", "CN-BJ"), ("Inner  Mongolia", "CN-NM"), ("中华人民共和国", "CN"),
     ("CN-50", "CN-CQ"), ("CHN", "CN")],
)
def test_region_aliases_names_and_codes_map_to_one_key(reference, region_raw, code):
    assert one(RawObservation(1, region_raw, "gdp", "亿元", "2020", "1"), reference).region_code == code


@pytest.mark.parametrize(
    ("indicator_raw", "unit_raw", "code", "multiplier"),
    [
        ("研究与试验发展(R&D)经费支出(亿元)", None, "rd_expenditure", 1.0),
        ("研究与试验发展（R&D）经费支出（万元）", None, "rd_expenditure", 0.0001),
        ("研究与试验发展(R&D)经费支出", "亿元", "rd_expenditure", 1.0),
        ("研究与试验发展(R&D)经费支出(万元)", "亿元", "rd_expenditure", 0.0001),  # the unit in the name wins
        ("地区生产总值", "亿元", "gdp", 1.0),
        ("年末常住人口(万人)", None, "resident_population", 1.0),
        ("研究与试验发展(R&D)经费投入强度(%)", None, "rd_intensity", 1.0),
        ("研究与试验发展(R&D)经费投入强度（％）", None, "rd_intensity", 1.0),
        ("高新技术企业数(家)", None, "hightech_enterprises", 1.0),
        ("研究与试验发展 (R&D) 经费支出 (亿元)", None, "rd_expenditure", 1.0),
        ("R&D经费(亿元)", None, "rd_expenditure", 1.0),
        ("有效发明专利数(万件)", None, "invention_patents_valid", 10000.0),
    ],
)
def test_indicator_names_with_units_map_to_code_and_multiplier(reference, indicator_raw, unit_raw, code, multiplier):
    observation = one(RawObservation(1, "重庆市", indicator_raw, unit_raw, "2020", "10"), reference)
    assert (observation.indicator_code, observation.unit_multiplier, observation.value) == (code, multiplier, 10 * multiplier)


def test_sdmx_unit_mult_scales_to_the_canonical_unit(reference):
    record = RawObservation(2, "CN-CQ", "rd_expenditure", "CNY", "2022", "6,866,000", "E", "estimated", "4")
    observation = one(record, reference)
    assert (observation.value, observation.unit_multiplier, observation.published_decimals) == (686.6, 0.0001, 0)
    assert (observation.period, observation.note, observation.raw.obs_status) == ("2022", "estimated", "E")


@pytest.mark.parametrize(
    ("period_raw", "period"),
    [("2022年", "2022"), ("2022", "2022"), ("2022A", "2022Q1"), ("2022D", "2022Q4"), ("2022-Q3", "2022Q3"),
     ("2022年第三季度", "2022Q3"), ("202209", "2022-09"), ("2022-09", "2022-09"), ("2022 年", "2022"),
     ("2022年 第一季度", "2022Q1"), ("2022年四季度", "2022Q4"), ("2022年9月", "2022-09"), ("2022-M09", "2022-09"),
     ("2022M9", "2022-09"), ("2022-A1", "2022")],
)
def test_periods_in_every_source_spelling(reference, period_raw, period):
    assert one(RawObservation(1, "CN", "gdp", "亿元", period_raw, "1"), reference).period == period


@pytest.mark.parametrize(
    ("region_raw", "indicator_raw", "note"),
    [
        ("重庆市①", "研究与试验发展(R&D)经费支出(亿元)", "①"),
        ("重庆市", "其中：研究与试验发展(R&D)经费支出(亿元)注1", "注1"),
        ("重庆*", "1.研究与试验发展(R&D)经费支出(亿元)", "*"),
        ("重庆市", "（一）研究与试验发展（R&D）经费支出（亿元）", None),
        ("重庆市", "一、研究与试验发展(R&D)经费支出(亿元)*", "*"),
    ],
)
def test_labels_with_list_markers_and_footnote_marks(reference, region_raw, indicator_raw, note):
    observation = one(RawObservation(1, region_raw, indicator_raw, None, "2022", "686.6"), reference)
    assert (observation.region_code, observation.indicator_code, observation.value, observation.note) == (
        "CN-CQ", "rd_expenditure", 686.6, note
    )


def test_footnote_mark_becomes_the_note_and_decimals_are_kept(reference):
    observation = one(RawObservation(5, "北京市", "研究与试验发展(R&D)经费支出(亿元)", None, "2020年", "2326.60注1"), reference)
    assert (observation.value, observation.published_decimals, observation.note) == (2326.6, 2, "注1")


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (RawObservation(3, "火星省", "gdp", "亿元", "2020", "1"), "unmapped region '火星省'"),
        (RawObservation(3, "重庆市", "地区生产总值_累计值(亿元)", None, "2020", "1"), "unmapped indicator '地区生产总值_累计值(亿元)'"),
        (RawObservation(3, "重庆市", "gdp", "亿元", "2020", "12..3"), "unparseable number '12..3'"),
        (RawObservation(3, "重庆市", "gdp", "亿元", "2020年度x", "1"),
         "unparseable period '2020年度x': expected a year (2022), quarter (2022Q3) or month (2022-09)"),
        (RawObservation(3, "重庆市", "gdp", "万吨", "2020", "1"), "unknown unit '万吨' for indicator gdp (not in ref_units)"),
        (RawObservation(3, "重庆市", "gdp", "USD", "2020", "1"), "unknown unit 'USD' for indicator gdp (not in ref_units)"),
        (RawObservation(3, "重庆市", "地区生产总值(万人)", None, "2020", "1"),
         "unit '万人' (persons) does not fit indicator gdp (currency_cny)"),
        (RawObservation(3, "重庆市", "地区生产总值", None, "2020", "1"), "no unit given for indicator gdp (currency_cny)"),
        (RawObservation(3, "CN", "gdp", "CNY", "2020", "1", unit_mult="eight"),
         "unparseable UNIT_MULT 'eight': expected a power of ten"),
        (RawObservation(3, "火星省", "gdp", "亿元", "20xx", "1..2"),
         "unparseable number '1..2'; unmapped region '火星省'; "
         "unparseable period '20xx': expected a year (2022), quarter (2022Q3) or month (2022-09)"),
    ],
)
def test_unusable_records_are_quarantined_with_the_rule_and_raw_record(reference, record, reason):
    assert one(record, reference) == QuarantinedRow(3, reason, record.as_record())


def test_quarantined_record_keeps_what_was_received(reference):
    record = RawObservation(7, "火星省", "gdp", "CNY", "2020", "1", "A", "c", "8")
    assert one(record, reference).record == {
        "region_raw": "火星省", "indicator_raw": "gdp", "unit_raw": "CNY", "period_raw": "2020", "value_raw": "1",
        "obs_status": "A", "note": "c", "unit_mult": "8",
    }


def test_missing_values_are_skipped_even_when_other_fields_fail(reference):
    result = harmonize(
        [RawObservation(1, "火星省", "gdp", "亿元", "2020", "…"), RawObservation(2, "重庆市", "gdp", "亿元", "2020", None)],
        reference,
    )
    assert (result.observations, result.quarantined, result.missing) == ([], [], 2)


def test_repeated_observation_in_one_file_keeps_the_first(reference):
    result = harmonize(
        [RawObservation(4, "重庆市", "gdp", "亿元", "2020", "1"), RawObservation(9, "重庆", "gdp", "亿元", "2020年", "2")],
        reference,
    )
    assert [o.value for o in result.observations] == [1.0]
    assert [q.reason for q in result.quarantined] == ["duplicate observation ('CN-CQ', 'gdp', '2020'): first given at row 4"]


def test_region_named_in_a_title(reference):
    assert reference.region_names_in("2022年重庆市科技创新主要指标") == {"CN-CQ": "重庆市"}
    assert reference.region_names_in("内蒙古自治区主要指标") == {"CN-NM": "内蒙古自治区"}
    assert reference.region_names_in("科技创新主要指标") == {}
    assert reference.region_names_in("重庆市、四川省主要指标") == {"CN-CQ": "重庆市", "CN-SC": "四川省"}


def test_region_named_by_a_publisher_in_english_words_not_codes(reference):
    assert reference.region_names_in("Chongqing Municipal Bureau of Statistics") == {"CN-CQ": "Chongqing"}
    assert reference.region_names_in("National Bureau of Statistics of China") == {"CN": "China"}
    assert reference.region_names_in("CN-CQ 500000 release") == {}


def test_indicator_named_in_a_title_by_its_longest_alias(reference):
    assert reference.indicator_names_in("2022年各区县研究与试验发展(R&D)经费支出") == {"rd_expenditure": "研究与试验发展(R&D)经费支出"}
    # 发明专利拥有量 (invention_patents_valid) inside the longer name does not count
    assert reference.indicator_names_in("2022年每万人口发明专利拥有量") == {"invention_patents_per_10k": "每万人口发明专利拥有量"}
    assert reference.indicator_names_in("R&D经费支出占地区生产总值比重") == {"rd_expenditure": "R&D经费支出", "gdp": "地区生产总值"}
    assert reference.indicator_names_in("2022年科技创新主要指标") == {}


def test_units_in_parentheses_of_a_title(reference):
    assert reference.units_in("2022年各地区研究与试验发展(R&D)经费支出（亿元）") == ["亿元"]
    assert reference.units_in("主要指标（单位：万人）（2018-2021年）") == ["万人"]
    assert reference.units_in("重庆市科技创新主要指标（2018-2021年）") == []


def mapped_from_titles(records: list[RawObservation], reference: ReferenceData, title: str, sidecar_title=None, publisher=None):
    """(region, indicator, period, value) of each mapped record, and each quarantine reason."""
    result = harmonize(records, reference, TableTitles(title, sidecar_title, publisher))
    mapped = [(o.region_code, o.indicator_code, o.period, o.value) for o in result.observations]
    return mapped, [q.reason for q in result.quarantined]


def test_what_a_table_names_in_its_title_completes_its_records(reference):
    records = [
        RawObservation(3, None, "研究与试验发展(R&D)经费支出", "亿元", "2022年", "686.6"),  # 指标 rows, period columns
        RawObservation(4, "重庆", None, None, "2022年", "14.1"),  # 地区 rows, period columns
        RawObservation(5, "四川省", "地区生产总值(亿元)", None, None, "56749.8"),  # 地区 rows, indicator columns
    ]
    mapped, reasons = mapped_from_titles(records, reference, "2022年重庆市每万人口发明专利拥有量（件）")
    assert reasons == []
    assert mapped == [
        ("CN-CQ", "rd_expenditure", "2022", 686.6),
        # the longest indicator name (发明专利拥有量 inside it does not count), the unit in the title's parentheses
        ("CN-CQ", "invention_patents_per_10k", "2022", 14.1),
        ("CN-SC", "gdp", "2022", 56749.8),
    ]


def test_mapped_records_show_the_names_found_in_the_title(reference):
    result = harmonize([RawObservation(3, None, "地区生产总值", "亿元", None, "1")], reference, TableTitles("2022年重庆市主要指标"))
    assert (result.observations[0].raw.region_raw, result.observations[0].raw.period_raw) == ("重庆市", "2022年")


@pytest.mark.parametrize(
    ("sidecar_title", "publisher", "region"),
    [
        ("2022年重庆市科技创新统计公报", "四川省统计局", "CN-CQ"),  # the sidecar title before the publisher
        ("科技创新主要指标", "Chongqing Municipal Bureau of Statistics", "CN-CQ"),
        ("2022年科技创新主要指标", "National Bureau of Statistics of China", "CN"),
    ],
)
def test_an_untitled_region_comes_from_the_sidecar_title_then_its_publisher(reference, sidecar_title, publisher, region):
    record = RawObservation(3, None, "高新技术企业数(家)", None, "2022年", "6348")
    assert mapped_from_titles([record], reference, "2022年科技创新主要指标", sidecar_title, publisher) == (
        [(region, "hightech_enterprises", "2022", 6348.0)], []
    )


@pytest.mark.parametrize(
    ("record", "title", "sidecar_title", "publisher", "reason"),
    [
        (RawObservation(3, None, "gdp", "亿元", "2022", "1"), "2022年科技创新主要指标", "科技创新统计", "某统计局",
         "no region named in the table's rows, columns or the title '2022年科技创新主要指标' or the sidecar title "
         "'科技创新统计' or the sidecar publisher '某统计局'"),
        (RawObservation(3, None, "gdp", "亿元", "2022", "1"), "重庆市、四川省主要指标", None, "重庆市统计局",
         "the title '重庆市、四川省主要指标' names several regions (四川省, 重庆市), the table needs one"),
        (RawObservation(3, "重庆市", None, "亿元", "2022", "1"), "2022年各地区主要指标", "2022年统计公报", None,
         "no indicator named in the table's rows, columns or the title '2022年各地区主要指标' or the sidecar title '2022年统计公报'"),
        (RawObservation(3, "重庆市", None, "%", "2022", "2.36"), "各地区R&D经费支出占地区生产总值比重", None, None,
         "the title '各地区R&D经费支出占地区生产总值比重' names several indicators (R&D经费支出, 地区生产总值), the table needs one"),
        (RawObservation(3, "重庆市", "gdp", "亿元", None, "1"), "各地区主要指标（2021-2022年）", None, None,
         "the title '各地区主要指标（2021-2022年）' names several years (2021, 2022), the table needs one"),
        (RawObservation(3, "重庆市", "gdp", "亿元", None, "1"), "2022年1-9月各地区主要指标", "2022年统计公报", None,
         "the title '2022年1-9月各地区主要指标' names no whole year (2022年)"),
        (RawObservation(3, "重庆市", "gdp", "亿元", None, "1"), "重庆市主要科技指标", None, None,
         "no year named in the table's rows, columns or the title '重庆市主要科技指标'"),
        # a measure heading read as a region column: quarantined, with the year its title names
        (RawObservation(3, "比上年增长(%)", "gdp", "亿元", None, "13.7"), "2022年重庆市主要指标", None, None,
         "unmapped region '比上年增长(%)'"),
    ],
)
def test_a_dimension_no_title_names_once_quarantines_the_values_that_need_it(reference, record, title, sidecar_title, publisher, reason):
    assert mapped_from_titles([record], reference, title, sidecar_title, publisher) == ([], [reason])


def test_a_record_that_names_its_dimensions_needs_no_title(reference):
    record = RawObservation(3, "四川", "gdp", "亿元", "2021年", "1")
    assert mapped_from_titles([record], reference, "重庆市、四川省主要指标（2021-2022年）") == ([("CN-SC", "gdp", "2021", 1.0)], [])


def test_without_titles_an_empty_dimension_is_unmapped(reference):
    assert one(RawObservation(3, None, "gdp", "亿元", "2022", "1"), reference).reason == "unmapped region None"


def test_inconsistent_seeds_are_rejected(tmp_path):
    for seed in ("ref_indicators.csv", "ref_units.csv", "ref_region_aliases.csv"):
        (tmp_path / seed).write_bytes((settings.SEEDS_DIR / seed).read_bytes())
    (tmp_path / "ref_indicator_aliases.csv").write_text("alias,indicator_code\nGDP,gdp\ngdp,population\n", encoding="utf-8")
    with pytest.raises(ValueError, match="alias 'gdp' names unknown indicator 'population'"):
        ReferenceData.from_seeds(tmp_path)
    (tmp_path / "ref_indicator_aliases.csv").write_text("alias,indicator_code\nGDP,gdp\ngdp,rd_expenditure\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'gdp' maps to two different targets"):
        ReferenceData.from_seeds(tmp_path)
