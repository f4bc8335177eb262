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


def response(datanodes: list | None = None, wdnodes: list | None = None, returncode: int = 200) -> bytes:
    zb_nodes = [{"wdcode": "zb", "nodes": [{"code": "A001", "cname": "地区生产总值", "unit": "亿元"}]}]
    returndata = {"datanodes": [datanode()] if datanodes is None else datanodes, "wdnodes": zb_nodes if wdnodes is None else wdnodes}
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
        (response([datanode(dimensions=("zb",))]), "r.json datanode 1: wds lacks reg, sj (needs zb, reg and sj)"),
        (response([datanode(), datanode(zb="A009")]), "r.json datanode 2: zb 'A009' is not among the zb wdnodes"),
        (response([datanode(data={"hasdata": True, "strdata": ""})]),
         "r.json datanode 1: hasdata is true but neither strdata nor data holds a number"),
    ],
)
def test_malformed_responses_are_file_errors(data, problem):
    with pytest.raises(ReleaseFileError) as error:
        nbs_easyquery_json.parse(data, "r.json")
    assert str(error.value) == problem
