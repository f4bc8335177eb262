"""The release format registry: each parser module declares its format once, and the sidecar validation,
the loader and the raw.release_files suite read the registry. A toy format registered here (no other
module edited) loads end to end."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import settings
from core.warehouse import write_connection
from expectations import get_suite
from ingestion.audit import AUDIT_DDL
from ingestion.releases import formats
from ingestion.releases.loader import load_releases
from ingestion.releases.mapping import map_releases
from ingestion.releases.records import ParsedFile, RawObservation, ReleaseFileError, ReleaseFormat, Sidecar
from ingestion.releases.sidecar import parse_sidecar


def parse_toy(data: bytes, source_file: str, origin: Sidecar | None = None) -> ParsedFile:
    """A toy format: tab-separated ``region, indicator, period, value`` with a header line."""
    lines = list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter="\t"))
    if not lines or lines[0] != ["region", "indicator", "period", "value"]:
        raise ReleaseFileError(source_file, "expected the header region, indicator, period, value", location="line 1")
    return ParsedFile(
        [
            RawObservation(number, region, indicator, None, period, value or None)
            for number, (region, indicator, period, value) in enumerate(lines[1:], start=2)
        ],
        encoding="utf-8",
    )


TOY = ReleaseFormat("toy_tsv", (".tsv",), parse_toy)


@pytest.fixture
def toy() -> Iterator[ReleaseFormat]:
    formats.register(TOY)
    try:
        yield TOY
    finally:
        formats.unregister(TOY.name)


def sidecar(fmt: str) -> str:
    return f"format: {fmt}\npublisher: a toy bureau\nrelease_date: 2023-03-01\nstatus: final\n"


def put(landing: Path, relative: str, data: str, fmt: str) -> None:
    path = landing / "releases" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data, encoding="utf-8")
    path.with_name(path.name + ".meta.yml").write_text(sidecar(fmt), encoding="utf-8")


def test_the_parser_modules_declare_the_four_formats():
    assert [(f.name, f.extensions) for f in formats.release_formats()] == [
        ("nbs_export", (".csv",)),
        ("nbs_easyquery_json", (".json",)),
        ("sdmx_csv", (".csv",)),
        ("bulletin_xlsx", (".xlsx",)),
    ]
    assert formats.release_extensions() == (".csv", ".json", ".xlsx")
    suite_formats = next(e for e in get_suite("raw.release_files").expectations if e.name == "format_in_set")
    assert suite_formats.kwargs["value_set"] == list(formats.format_names())


def test_a_name_is_registered_once_and_declared_sensibly(toy: ReleaseFormat):
    formats.register(toy)  # the same format again: nothing happens
    with pytest.raises(ValueError, match="already registered"):
        formats.register(ReleaseFormat("toy_tsv", (".tab",), parse_toy))
    with pytest.raises(ValueError, match="extensions"):
        ReleaseFormat("other", ("tsv",), parse_toy)
    with pytest.raises(ValueError, match="lower_snake_case"):
        ReleaseFormat("Other Format", (".tsv",), parse_toy)


def test_the_sidecar_accepts_a_registered_format_only_while_it_is_registered(toy: ReleaseFormat):
    assert parse_sidecar(sidecar("toy_tsv").encode(), "a.tsv.meta.yml").format == "toy_tsv"
    formats.unregister("toy_tsv")
    with pytest.raises(ReleaseFileError, match="expected one of nbs_export, nbs_easyquery_json, sdmx_csv, bulletin_xlsx$"):
        parse_sidecar(sidecar("toy_tsv").encode(), "a.tsv.meta.yml")


def test_a_toy_format_registered_here_loads_end_to_end(toy: ReleaseFormat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    put(landing, "toy/cq_gdp.tsv", "region\tindicator\tperiod\tvalue\n重庆市\t地区生产总值(亿元)\t2022年\t29129.03\n重庆市\t地区生产总值(亿元)\t2021年\t…\n", "toy_tsv")
    put(landing, "toy/misnamed.csv", "region\tindicator\tperiod\tvalue\n", "toy_tsv")  # a toy sidecar on a .csv
    put(landing, "toy/bad_header.tsv", "a\tb\n", "toy_tsv")
    with write_connection(settings.warehouse_db_path(), setup=AUDIT_DDL) as con:
        summary = load_releases(con, landing)
        map_releases(con)
        assert sorted(con.execute("select source_file, format, status, rows_loaded, error from audit.load_log").fetchall()) == [
            ("releases/toy/bad_header.tsv", "toy_tsv", "failed", 0, "releases/toy/bad_header.tsv line 1: expected the header region, indicator, period, value"),
            ("releases/toy/cq_gdp.tsv", "toy_tsv", "loaded", 2, None),
            ("releases/toy/misnamed.csv", "toy_tsv", "failed", 0, "releases/toy/misnamed.csv: the sidecar says format toy_tsv, whose files are .tsv, not .csv"),
        ]
        assert (summary.files_loaded, summary.files_failed) == (1, 2)
        assert con.execute("select format, encoding from raw.release_files").fetchall() == [("toy_tsv", "utf-8")]
        assert con.execute(
            "select region_code, indicator_code, period, value from mapped.release_observations"
        ).fetchall() == [("CN-CQ", "gdp", "2022", 29129.03)]
