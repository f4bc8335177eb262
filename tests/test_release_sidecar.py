"""The .meta.yml sidecar: a release without a valid one is an error naming the field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ingestion.releases.records import ReleaseFileError, Sidecar
from ingestion.releases.sidecar import parse_sidecar, sidecar_path

VALID = """format: nbs_export
publisher: National Bureau of Statistics of China
title: 2020年全国科技经费投入统计公报
release_date: 2021-09-22
status: final
url: http://www.stats.gov.cn/
retrieved: '2026-11-20'
"""


def test_valid_sidecar_with_dates_quoted_or_not():
    assert parse_sidecar(VALID.encode("utf-8"), "a.csv.meta.yml") == Sidecar(
        format="nbs_export",
        release_date=dt.date(2021, 9, 22),
        status="final",
        publisher="National Bureau of Statistics of China",
        title="2020年全国科技经费投入统计公报",
        url="http://www.stats.gov.cn/",
        retrieved=dt.date(2026, 11, 20),
    )


def test_optional_fields_may_be_absent():
    sidecar = parse_sidecar(b"format: sdmx_csv\nrelease_date: '2022-02-28'\nstatus: preliminary\n", "s.meta.yml")
    assert (sidecar.publisher, sidecar.title, sidecar.url, sidecar.retrieved) == (None, None, None, None)


def test_sidecar_path_is_the_full_file_name_plus_meta_yml():
    assert sidecar_path(Path("releases/nbs/a.csv")) == Path("releases/nbs/a.csv.meta.yml")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (VALID.replace("status: final\n", ""), "a.csv.meta.yml: sidecar field 'status' is missing"),
        (VALID.replace("release_date: 2021-09-22\n", "release_date:\n"), "a.csv.meta.yml: sidecar field 'release_date' is missing"),
        (VALID.replace("format: nbs_export", "format: excel"),
         "a.csv.meta.yml: sidecar field 'format' is 'excel'; expected one of nbs_export, nbs_easyquery_json, sdmx_csv, bulletin_xlsx"),
        (VALID.replace("status: final", "status: draft"),
         "a.csv.meta.yml: sidecar field 'status' is 'draft'; expected one of preliminary, final, revised"),
        (VALID.replace("2021-09-22", "22.09.2021"), "a.csv.meta.yml: sidecar field 'release_date' is '22.09.2021'; expected a date YYYY-MM-DD"),
        (VALID.replace("retrieved: '2026-11-20'", "retrieved: '2020-01-01'"),
         "a.csv.meta.yml: sidecar field 'retrieved' (2020-01-01) is before 'release_date' (2021-09-22)"),
        (VALID + "relase_date: 2021-09-22\n",
         "a.csv.meta.yml: unknown sidecar field(s) relase_date; allowed: format, release_date, status, publisher, title, url, retrieved"),
        (VALID.replace("url: http://www.stats.gov.cn/", "url: [1, 2]"), "a.csv.meta.yml: sidecar field 'url' is [1, 2]; expected text"),
        ("- format: nbs_export\n", "a.csv.meta.yml: sidecar must be a YAML mapping of field: value"),
    ],
)
def test_invalid_sidecars_name_the_field(text, problem):
    with pytest.raises(ReleaseFileError) as error:
        parse_sidecar(text.encode("utf-8"), "a.csv.meta.yml")
    assert str(error.value) == problem


def test_unreadable_yaml_is_an_error_on_one_line():
    with pytest.raises(ReleaseFileError, match=r"^a.csv.meta.yml: sidecar is not valid UTF-8 YAML: while parsing a flow sequence .* line 1, column 9"):
        parse_sidecar(b"format: [nbs_export\n", "a.csv.meta.yml")
    with pytest.raises(ReleaseFileError, match=r"^a.csv.meta.yml: sidecar is not valid UTF-8 YAML: 'utf-8' codec can't decode"):
        parse_sidecar("format: 年度".encode("gb18030"), "a.csv.meta.yml")
