"""``nbs_easyquery_json``: a response of the NBS data portal's QueryData API, saved as JSON.

``{"returncode": 200, "returndata": {"datanodes": [...], "wdnodes": [...]}}``. A datanode holds
``data: {data, strdata, hasdata, dotcount}`` and ``wds: [{wdcode, valuecode}]`` for ``zb`` (indicator),
``reg`` (GB/T 2260 region code) and ``sj`` (period: ``2022``, ``2022A``..``2022D`` for quarters,
``202209`` for a month). ``wdnodes`` lists per wdcode the nodes with ``code``, ``cname`` and ``unit``.

The ``zb`` code is local to the query (``A001`` is GDP in one response and population in another), so the
indicator is the node's ``cname`` with its ``unit``, never the code. ``hasdata: false`` is no figure;
``strdata`` is the published text (with its decimals, possibly thousands separators), ``data`` formatted
with ``dotcount`` otherwise (a number, or its text in a re-saved response).

Regions: the provincial databases (``fsnd``, ``fsjd``, ...) carry a ``reg`` dimension; the national ones
(``hgnd`` 年度数据, ``hgjd``, ``hgyd``) have only ``zb`` and ``sj``. The rule: when the ``wdnodes`` list
no ``reg`` dimension, every datanode is about the nation (region ``全国``); when they list one, every
datanode must name its ``reg`` (``000000`` is the nation). Datanodes and ``wds`` come in any order.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ingestion.releases.records import (
    NATIONAL_REGION,
    ParsedFile,
    RawObservation,
    ReleaseFileError,
    ReleaseFormat,
    Sidecar,
)
from ingestion.releases.textfile import decode_release
from ingestion.values import number_text


def parse(data: bytes, source_file: str, origin: Sidecar | None = None) -> ParsedFile:
    """Read one saved response into one raw record per datanode; ``origin`` is not needed."""
    text, encoding = decode_release(data, source_file)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReleaseFileError(
            source_file, f"not valid JSON: {error.msg}", location=f"line {error.lineno} column {error.colno}"
        ) from None
    if not isinstance(document, dict) or "returncode" not in document:
        raise ReleaseFileError(source_file, "expected a QueryData response object with returncode and returndata")
    if document["returncode"] not in (200, "200"):  # a re-saved response may hold it as text
        detail = document.get("returndata")
        raise ReleaseFileError(
            source_file,
            f"returncode {document['returncode']!r}, expected 200 (the query failed"
            + (f": {detail}" if isinstance(detail, str) and detail else "")
            + ")",
        )
    returndata = _member(document, "returndata", dict, source_file, "returndata")
    datanodes = _member(returndata, "datanodes", list, source_file, "returndata")
    wdnodes = _member(returndata, "wdnodes", list, source_file, "returndata")
    indicators = _indicator_nodes(wdnodes, source_file)
    dimensions = ("zb", "reg", "sj") if any(isinstance(d, dict) and d.get("wdcode") == "reg" for d in wdnodes) else ("zb", "sj")

    observations = []
    for number, datanode in enumerate(datanodes, start=1):
        where = f"datanode {number}"
        if not isinstance(datanode, dict):
            raise ReleaseFileError(source_file, "expected an object", location=where)
        wds = _dimension_values(_member(datanode, "wds", list, source_file, where), dimensions, source_file, where)
        indicator = indicators.get(wds["zb"])
        if indicator is None:
            raise ReleaseFileError(source_file, f"zb {wds['zb']!r} is not among the zb wdnodes", location=where)
        observations.append(
            RawObservation(
                row_number=number,
                region_raw=wds.get("reg", NATIONAL_REGION),
                indicator_raw=indicator["cname"],
                unit_raw=indicator["unit"],
                period_raw=wds["sj"],
                value_raw=_published_text(_member(datanode, "data", dict, source_file, where), source_file, where),
            )
        )
    return ParsedFile(observations, encoding)


#: The format this module parses, as the registry (:mod:`ingestion.releases.formats`) lists it.
FORMAT = ReleaseFormat("nbs_easyquery_json", (".json",), parse)


def _member(container: dict[str, Any], key: str, kind: type, source_file: str, where: str) -> Any:
    value = container.get(key)
    if not isinstance(value, kind):
        expected = {dict: "an object", list: "a list"}.get(kind, kind.__name__)
        raise ReleaseFileError(source_file, f"'{key}' is missing or not {expected}", location=where)
    return value


def _indicator_nodes(wdnodes: list[Any], source_file: str) -> dict[str, dict[str, str | None]]:
    """zb code -> {cname, unit} from the wdnodes."""
    for dimension in wdnodes:
        if isinstance(dimension, dict) and dimension.get("wdcode") == "zb":
            nodes = _member(dimension, "nodes", list, source_file, "the zb wdnodes")
            result = {}
            for node in nodes:
                if not isinstance(node, dict) or not node.get("code") or not node.get("cname"):
                    raise ReleaseFileError(source_file, f"a zb node without code or cname: {node!r}", location="wdnodes")
                result[str(node["code"])] = {"cname": str(node["cname"]), "unit": str(node.get("unit") or "") or None}
            return result
    raise ReleaseFileError(source_file, "no wdnodes for zb (the indicators)", location="returndata")


def _dimension_values(wds: list[Any], dimensions: tuple[str, ...], source_file: str, where: str) -> dict[str, str]:
    """wdcode -> valuecode; every dimension of the response must be given."""
    values = {}
    for wd in wds:
        if isinstance(wd, dict) and isinstance(wd.get("wdcode"), str) and wd.get("valuecode") not in (None, ""):
            values[wd["wdcode"]] = str(wd["valuecode"]).strip()
    missing = [d for d in dimensions if d not in values]
    if missing:
        raise ReleaseFileError(source_file, f"wds lacks {', '.join(missing)} (needs {', '.join(dimensions)})", location=where)
    return values


def _published_text(data: dict[str, Any], source_file: str, where: str) -> str | None:
    """The figure as published; ``None`` when ``hasdata`` is false."""
    hasdata = data.get("hasdata")
    if not isinstance(hasdata, bool):
        raise ReleaseFileError(source_file, f"hasdata is {hasdata!r}; expected true or false", location=where)
    if not hasdata:
        return None
    if isinstance(data.get("strdata"), str) and data["strdata"].strip():
        return data["strdata"]
    number, dotcount = data.get("data"), data.get("dotcount")
    if isinstance(number, str) and number.strip():
        return number  # a re-saved response may hold the figure as text; harmonization parses it
    if isinstance(number, int | float) and not isinstance(number, bool) and math.isfinite(number):
        if isinstance(dotcount, str) and dotcount.strip().isdigit():
            dotcount = int(dotcount)
        return f"{number:.{dotcount}f}" if isinstance(dotcount, int) and dotcount >= 0 else number_text(number)
    raise ReleaseFileError(source_file, "hasdata is true but neither strdata nor data holds a number", location=where)
