"""Rebuild ``tests/fixtures/dbt_warehouse/*.csv``, the tables ``tests/test_dbt_project.py`` fills before it
runs ``dbt build``, from the shipped landing data with the real release loader and mapping step.

    python -m tools.dbt_fixtures          # or: make fixtures

The fixture is the releases of :data:`RELEASES`, loaded into an empty in-memory database
(``raw.release_files``) and mapped with the current seeds (``mapped.release_observations``), one CSV per
table. Load ids and load times, which a real load draws afresh, are fixed (``fixture01``, ``fixture02``, ...
in the order of the files, loaded one second apart), so the files change only when the data, the seeds,
the loader or the mapping do; ``tests/test_fixtures.py`` checks that the committed files are what this
produces.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb

from core import settings
from ingestion.audit import AUDIT_DDL
from ingestion.releases.loader import load_releases
from ingestion.releases.mapping import map_releases
from ingestion.releases.sidecar import sidecar_path

FIXTURES_DIR = settings.REPO_ROOT / "tests" / "fixtures" / "dbt_warehouse"
SHIPPED_LANDING = settings.REPO_ROOT / "data" / "landing"
#: The releases of the first shipment, with figures up to 2021: test_dbt_project.py judges the targets as of
#: 2022-06-30 and pins the marts' values on these files (the releases shipped later, the revision of
#: Chongqing's 2018-2020 GDP of 2021-12-30 among them, are the end-to-end test's).
RELEASES = (
    "releases/cq/chongqing_innovation_indicators_2018_2021.xlsx",
    "releases/nbs/rd_expenditure_by_province_2020.csv",
    "releases/nbs/rd_intensity_by_province_2020.csv",
    "releases/nbs_json/chongqing_gdp_2015_2018.json",
    "releases/nbs_json/chongqing_gdp_2020_first_release.json",
    "releases/nbs_json/chongqing_gdp_2021.json",
    "releases/nbs_json/chongqing_population_2019.json",
    "releases/sdmx/cn_2019_preliminary.csv",
    "releases/sdmx/cn_2020_preliminary.csv",
    "releases/sdmx/cn_2021_preliminary.csv",
    "releases/sdmx/cn_2021_rd_final.csv",
    "releases/sdmx/cn_scitech_2015_2020_final.csv",
)
#: The load of the first file; each next file one second later.
FIRST_LOADED_AT = "2026-11-22 10:00:01"
#: Each table (a dbt source) and the SQL that reads it with the fixed load ids (``ids``: load_id -> fixture_id,
#: position), rows in the order of the files and, within a file, as the loader or the mapping wrote them.
TABLES = {
    "release_files": """
        select f.* replace (i.fixture_id as load_id,
                            timestamp '{first}' + to_seconds(i.position - 1) as loaded_at)
        from raw.release_files f join ids i using (load_id) order by i.position""",
    "release_observations": """
        select o.* replace (i.fixture_id as load_id)
        from mapped.release_observations o join ids i using (load_id) order by i.position, o.rowid""",
}


def build_fixtures(landing_dir: Path = SHIPPED_LANDING, releases: Sequence[str] = RELEASES) -> dict[str, str]:
    """The CSV text of each fixture table (``<table>.csv`` -> text), loaded from ``releases`` of ``landing_dir``."""
    with tempfile.TemporaryDirectory(prefix="dbt-fixtures-") as scratch:
        landing = Path(scratch) / "landing"
        for release in releases:
            for source in (landing_dir / release, sidecar_path(landing_dir / release)):
                target = landing / source.relative_to(landing_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        con = duckdb.connect()
        try:
            con.execute(AUDIT_DDL)
            summary = load_releases(con, landing)
            failed = [f"{a.source_file}: {a.error}" for a in summary.attempts if a.status != "loaded"]
            if failed:
                raise RuntimeError("a fixture release did not load: " + "; ".join(failed))
            map_releases(con)
            con.execute(
                """create temporary table ids as
                   select load_id, row_number() over (order by source_file) as position,
                          'fixture' || lpad(position::varchar, 2, '0') as fixture_id
                   from raw.release_files"""
            )
            return {f"{table}.csv": _csv(con, sql.format(first=FIRST_LOADED_AT)) for table, sql in TABLES.items()}
        finally:
            con.close()


def _csv(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The rows as CSV (``\\n`` line ends, empty for null, Python's text of each value)."""
    result = con.execute(sql)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(column for column, *_ in result.description)
    writer.writerows(("" if value is None else value for value in row) for row in result.fetchall())
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR, help=f"folder to write to (default {FIXTURES_DIR})")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    for name, text in build_fixtures().items():
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
