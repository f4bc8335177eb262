"""nbs_easyquery_json: saved QueryData responses; the indicator is the wdnode's cname + unit, not zb."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingestion.releases import nbs_easyquery_json
from ingestion.releases.records import RawObservation, ReleaseFileError

FIXTURES = Path(__file__).parent / "fixtures" / "releases"
SAMPLES = Path(__file__).parent.parent / "data" / "landing" / "releases" / "nbs_json"


def test_quarters_months_and_hasdata_false():
    parsed = nbs_easyquery_json.parse((FIXTURES / "easyquery_quarters_and_months.json").read_bytes(), "q.json")
    assert parsed.encoding == "utf-8"
    assert parsed.observations == [
        RawObservation(1, "500000", "地区生产总值", "亿元", "2022A", "6281.59"),
        RawObservation(2, "500000", "地区生产总值", "亿元", "2022B", None),
        # hasdata without strdata: data formatted with dotcount
        RawObservation(3, "500000", "地区生产总值", "亿元", "2022C", "21124.50"),
        RawObservation(4, "500000", "规模以上工业增加值增长", "%", "202209", "6.2"),
        RawObservation(5, "510000", "规模以上工业增加值增长", "%", "202209", None),
    ]


def test_same_zb_code_means_different_indicators_in_different_responses():
    gdp = nbs_easyquery_json.parse((SAMPLES / "chongqing_gdp_2021.json").read_bytes(), "gdp.json")
    population = nbs_easyquery_json.parse((SAMPLES / "chongqing_population_2019.json").read_bytes(), "pop.json")
    assert gdp.observations == [RawObservation(1, "500000", "地区生产总值", "亿元", "2021", "27894.02")]
    assert population.observations == [RawObservation(1, "500000", "年末常住人口", "万人", "2019", "3124.32")]


def datanode(zb: str = "A001", data: dict | None = None, dimensions: tuple[str, ...] = ("zb", "reg", "sj")) -> dict:
    values = {"zb": zb, "reg": "500000", "sj": "2020"}
    return {
        "data": {"data": 1.0, "strdata": "1.0", "hasdata": True, "dotcount": 1} if data is None else data,
        "wds": [{"wdcode": d, "valuecode": values[d]} for d in dimensions],
    }


ZB_NODES = [{"wdcode": "zb", "nodes": [{"code": "A001", "cname": "地区生产总值", "unit": "亿元"}]}]


def response(datanodes: list | None = None, wdnodes: list | None = None, returncode: int | str = 200) -> bytes:
    returndata = {"datanodes": [datanode()] if datanodes is None else datanodes, "wdnodes": ZB_NODES if wdnodes is None else wdnodes}
    return json.dumps({"returncode": returncode, "returndata": returndata}, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"returncode": 200, "returndata": {"datanodes": [', "r.json line 1 column 50: not valid JSON: Expecting value"),
        (b"[]", "r.json: expected a QueryData response object with returncode and returndata"),
        (json.dumps({"returncode": 501, "returndata": "查询失败"}, ensure_ascii=False).encode(),
         "r.json: returncode 501, expected 200 (the query failed: 查询失败)"),
        (response(returncode=501), "r.json: returncode 501, expected 200 (the query failed)"),
        (b'{"returncode": 200, "returndata": {"wdnodes": []}}', "r.json returndata: 'datanodes' is missing or not a list"),
        (response(wdnodes=[]), "r.json returndata: no wdnodes for zb (the indicators)"),
        (response([datanode(dimensions=("zb",))]), "r.json datanode 1: wds lacks sj (needs zb, sj)"),
        (response([datanode(dimensions=("zb", "sj"))], [*ZB_NODES, {"wdcode": "reg", "nodes": []}]),
         "r.json datanode 1: wds lacks reg (needs zb, reg, sj)"),
        (response([datanode(), datanode(zb="A009")]), "r.json datanode 2: zb 'A009' is not among the zb wdnodes"),
        (response([datanode(data={"hasdata": True, "strdata": ""})]),
         "r.json datanode 1: hasdata is true but neither strdata nor data holds a number"),
    ],
)
def test_malformed_responses_are_file_errors(data, problem):
    with pytest.raises(ReleaseFileError) as error:
        nbs_easyquery_json.parse(data, "r.json")
    assert str(error.value) == problem


def node(zb: str, sj: str, data: dict, reg: str | None = None, order: tuple[str, ...] = ("zb", "reg", "sj")) -> dict:
    values = {"zb": zb, "reg": reg, "sj": sj}
    return {"data": data, "wds": [{"wdcode": d, "valuecode": values[d]} for d in order if values[d] is not None]}


def nodes(wdcode: str, *codes: tuple[str, str, str]) -> dict:
    return {"wdcode": wdcode, "nodes": [{"code": c, "cname": n, "unit": u} for c, n, u in codes]}


def figure(strdata: str, data: float = 0, dotcount: int = 1, hasdata: bool = True) -> dict:
    return {"data": data, "dotcount": dotcount, "hasdata": hasdata, "strdata": strdata}


def test_national_database_response_without_reg_is_the_nation():
    # hgnd (年度数据): wdnodes and wds know only zb and sj
    data = response(
        [
            node("A020101", "2022", figure("1210207.2")),
            node("A020101", "2021", figure("", dotcount=0, hasdata=False)),
            node("A0J0101", "2022", figure("30,782.9")),
        ],
        [nodes("zb", ("A020101", "国内生产总值", "亿元"), ("A0J0101", "研究与试验发展(R&D)经费支出", "亿元")), nodes("sj", ("2022", "2022年", ""))],
    )
    assert nbs_easyquery_json.parse(data, "n.json").observations == [
        RawObservation(1, "全国", "国内生产总值", "亿元", "2022", "1210207.2"),
        RawObservation(2, "全国", "国内生产总值", "亿元", "2021", None),
        RawObservation(3, "全国", "研究与试验发展(R&D)经费支出", "亿元", "2022", "30,782.9"),
    ]


def test_several_indicators_regions_and_periods_with_wdnodes_and_wds_in_any_order():
    data = response(
        [
            node("A02", "202209", figure("6.2"), reg="500000", order=("sj", "reg", "zb")),
            node("A01", "2022C", figure("", 21124.5, 2), reg="000000", order=("reg", "zb", "sj")),
            node("A01", "2022D", {"data": "29129.03", "dotcount": "2", "hasdata": True}, reg="510000"),
            node("A01", "2022A", {"data": 6281.59, "hasdata": True}, reg="500000"),
        ],
        [
            nodes("sj", ("202209", "2022年9月", ""), ("2022C", "2022年第三季度", "")),
            nodes("reg", ("500000", "重庆市", ""), ("000000", "全国", "")),
            nodes("zb", ("A01", "地区生产总值", "亿元"), ("A02", "规模以上工业增加值增长", "%")),
        ],
    )
    assert nbs_easyquery_json.parse(data, "m.json").observations == [
        RawObservation(1, "500000", "规模以上工业增加值增长", "%", "202209", "6.2"),
        # empty strdata: data with its dotcount
        RawObservation(2, "000000", "地区生产总值", "亿元", "2022C", "21124.50"),
        # a re-saved response holding the figure as text
        RawObservation(3, "510000", "地区生产总值", "亿元", "2022D", "29129.03"),
        RawObservation(4, "500000", "地区生产总值", "亿元", "2022A", "6281.59"),
    ]


def test_returncode_saved_as_text_is_accepted():
    assert len(nbs_easyquery_json.parse(response(returncode="200"), "r.json").observations) == 1


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (response([datanode(data={"data": 1.0, "strdata": "1.0"})]), "r.json datanode 1: hasdata is None; expected true or false"),
        (response([datanode(data={"data": 1.0, "hasdata": "true"})]), "r.json datanode 1: hasdata is 'true'; expected true or false"),
        (response(returncode="501"), "r.json: returncode '501', expected 200 (the query failed)"),
    ],
)
def test_unreadable_figures_are_file_errors(data, problem):
    with pytest.raises(ReleaseFileError) as error:
        nbs_easyquery_json.parse(data, "r.json")
    assert str(error.value) == problem
