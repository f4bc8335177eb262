"""Release statuses and their precedence are one list, the dbt seed ``ref_release_statuses``: the sidecar
validation, the quality suite of raw.release_files, the dbt tests of every release ``status`` column and
the vintage order (int_indicator_observations_vintaged) read it; no other file spells the list out."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import yaml

from core.settings import DBT_PROJECT_DIR, REPO_ROOT, SEEDS_DIR
from expectations import get_suite
from ingestion.releases.records import ReleaseFileError
from ingestion.releases.sidecar import STATUSES, parse_sidecar, release_statuses

#: The yml files of the dbt models that declare a release ``status`` column, and the relation the column belongs
#: to (raw.release_files is the Great Expectations suite's, which reads the seed through ingestion.releases.sidecar.STATUSES).
STATUS_COLUMNS = {
    "models/staging/releases/stg_releases__files.yml": "stg_releases__files",
    "models/marts/fct_indicator_vintages.yml": "fct_indicator_vintages",
    "models/marts/fct_indicator_values.yml": "fct_indicator_values",
}


def _seed_rows() -> list[dict[str, str]]:
    with open(SEEDS_DIR / "ref_release_statuses.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _columns(document: dict, relation: str) -> dict[str, dict]:
    """The columns of a model or source table named ``relation`` in one dbt yml document."""
    for entry in document.get("models", []) + [t for s in document.get("sources", []) for t in s["tables"]]:
        if entry["name"] == relation:
            return {column["name"]: column for column in entry.get("columns", [])}
    raise AssertionError(f"{relation} is not declared")


def _tests(column: dict) -> list:
    return column.get("data_tests", []) + column.get("tests", [])


def test_the_sidecar_accepts_the_seed_statuses_in_precedence_order():
    assert STATUSES == tuple(row["status"] for row in sorted(_seed_rows(), key=lambda row: int(row["precedence"])))
    assert STATUSES == ("preliminary", "final", "revised")
    with pytest.raises(ReleaseFileError) as error:
        parse_sidecar(b"format: sdmx_csv\nrelease_date: 2022-02-28\nstatus: estimated\n", "a.csv.meta.yml")
    assert str(error.value) == "a.csv.meta.yml: sidecar field 'status' is 'estimated'; expected one of preliminary, final, revised"


def test_a_status_added_to_the_seed_is_a_status(tmp_path: Path):
    (tmp_path / "ref_release_statuses.csv").write_text(
        "status,precedence,description\nfinal,2,verified\nestimated,0,a first estimate\npreliminary,1,first\n",
        encoding="utf-8",
    )
    assert release_statuses(tmp_path) == ("estimated", "preliminary", "final")


def test_the_raw_release_files_suite_checks_the_seed_statuses():
    expectation = next(e for e in get_suite("raw.release_files").expectations if e.name == "status_in_set")
    assert expectation.kwargs["value_set"] == list(STATUSES)


@pytest.mark.parametrize(("path", "relation"), STATUS_COLUMNS.items())
def test_every_release_status_column_is_tested_against_the_seed(path: str, relation: str):
    column = _columns(yaml.safe_load((DBT_PROJECT_DIR / path).read_text(encoding="utf-8")), relation)["status"]
    assert {"relationships": {"arguments": {"to": "ref('ref_release_statuses')", "field": "status"}}} in _tests(column)


def test_the_vintage_order_takes_the_precedence_from_the_seed():
    sql = (DBT_PROJECT_DIR / "models/intermediate/int_indicator_observations_vintaged.sql").read_text(encoding="utf-8")
    assert "ref('ref_release_statuses')" in sql
    assert "statuses.precedence as status_precedence" in sql


def test_no_other_file_spells_out_the_statuses():
    """No quoted status in code or SQL, no ``accepted_values`` list of them in a dbt yml: a status added
    to the seed needs no other edit."""
    quoted = re.compile(r"""['"](?:%s)['"]""" % "|".join(STATUSES))
    found = []
    for folder in ("core", "ingestion", "expectations", "serving", "orchestration", "dbt_project/models", "dbt_project/macros"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".sql") and quoted.search(path.read_text(encoding="utf-8")):
                found.append(str(path.relative_to(REPO_ROOT)))
            if path.suffix == ".yml":
                lists = re.findall(r"values:\s*\[([^\]]*)\]", path.read_text(encoding="utf-8"))
                if any(set(STATUSES) & {v.strip(" '\"") for v in values.split(",")} for values in lists):
                    found.append(str(path.relative_to(REPO_ROOT)))
    assert found == []
