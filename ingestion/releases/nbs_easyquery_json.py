"""``nbs_easyquery_json``: a response of the NBS data portal's QueryData API, saved as JSON.

``{"returncode": 200, "returndata": {"datanodes": [...], "wdnodes": [...]}}``. A datanode holds
``data: {data, strdata, hasdata, dotcount}`` and ``wds: [{wdcode, valuecode}]`` for ``zb`` (indicator),
``reg`` (GB/T 2260 region code) and ``sj`` (period: ``2022``, ``2022A``..``2022D`` for quarters,
``202209`` for a month). ``wdnodes`` lists per wdcode the nodes with ``code``, ``cname`` and ``unit``.

The ``zb`` code is local to the query (``A001`` is GDP in one response and population in another), so the
indicator is the node's ``cname`` with its ``unit``, never the code. ``hasdata: false`` is no figure;
``strdata`` is the published text (with its decimals), ``data`` formatted with ``dotcount`` otherwise.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ingestion.releases.records import ParsedFile, RawObservation, ReleaseFileError
from ingestion.releases.textfile import decode_release

_DIMENSIONS = ("zb", "reg", "sj")


def parse(data: bytes, source_file: str) -> ParsedFile:
    """Read one saved response into one raw record per datanode."""
    text, encoding = decode_release(data, source_file)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReleaseFileError(
            source_file, f"not valid JSON: {error.msg}", location=f"line {error.lineno} column {error.colno}"
        ) from None
    if not isinstance(document, dict) or "returncode" not in document:
        raise ReleaseFileError(source_file, "expected a QueryData response object with returncode and returndata")
    if document["returncode"] != 200:
        detail = document.get("returndata")
        raise ReleaseFileError(
            source_file,
            f"returncode {document['returncode']!r}, expected 200 (the query failed"
            + (f": {detail}" if isinstance(detail, str) and detail else "")
            + ")",
        )
    returndata = _member(document, "returndata", dict, source_file, "returndata")
    datanodes = _member(returndata, "datanodes", list, source_file, "returndata")
    indicators = _indicator_nodes(_member(returndata, "wdnodes", list, source_file, "returndata"), source_file)

    observations = []
    for number, datanode in enumerate(datanodes, start=1):
        where = f"datanode {number}"
        if not isinstance(datanode, dict):
            raise ReleaseFileError(source_file, "expected an object", location=where)
        wds = _dimension_values(_member(datanode, "wds", list, source_file, where), source_file, where)
        indicator = indicators.get(wds["zb"])
        if indicator is None:
            raise ReleaseFileError(source_file, f"zb {wds['zb']!r} is not among the zb wdnodes", location=where)
        observations.append(
            RawObservation(
                row_number=number,
                region_raw=wds["reg"],
                indicator_raw=indicator["cname"],
                unit_raw=indicator["unit"],
                period_raw=wds["sj"],
                value_raw=_published_text(_member(datanode, "data", dict, source_file, where), source_file, where),
            )
        )
    return ParsedFile(observations, encoding)


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


def _dimension_values(wds: list[Any], source_file: str, where: str) -> dict[str, str]:
    values = {}
    for wd in wds:
        if isinstance(wd, dict) and isinstance(wd.get("wdcode"), str) and wd.get("valuecode") not in (None, ""):
            values[wd["wdcode"]] = str(wd["valuecode"])
    missing = [d for d in _DIMENSIONS if d not in values]
    if missing:
        raise ReleaseFileError(source_file, f"wds lacks {', '.join(missing)} (needs zb, reg and sj)", location=where)
    return values


def _published_text(data: dict[str, Any], source_file: str, where: str) -> str | None:
    """The figure as published; ``None`` when ``hasdata`` is false."""
    if data.get("hasdata") is not True:
        return None
    if isinstance(data.get("strdata"), str) and data["strdata"].strip():
        return data["strdata"]
    number, dotcount = data.get("data"), data.get("dotcount")
    if isinstance(number, int | float) and not isinstance(number, bool) and math.isfinite(number):
        return f"{number:.{dotcount}f}" if isinstance(dotcount, int) and dotcount >= 0 else repr(number)
    raise ReleaseFileError(source_file, "hasdata is true but neither strdata nor data holds a number", location=where)
