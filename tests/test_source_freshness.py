"""`dbt source freshness` on the landing-file tables: a source whose latest file is older than its
thresholds warns, then fails the command.

The tables are the loaders' own (their DDL), with one loaded file each, loaded the given number of days
ago; the dbt project is copied to a temporary folder so its `target/` never touches the repository's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from core import settings
from ingestion.enterprise.tables import ENTERPRISE_DDL
from ingestion.registers.tables import REGISTERS_DDL
from ingestion.releases.tables import RELEASES_DDL
from ingestion.audit import AUDIT_DDL

pytestmark = pytest.mark.slow

SOURCES = {
    "releases.release_files": "'nbs_export' as format, '' as sidecar_sha256, date '2024-01-01' as release_date, 'final' as status",
    "enterprise.enterprise_files": "'enterprise_csv' as format, 'zh' as header_language, 0 as rows_read, 0 as rows_loaded, "
    "0 as rows_quarantined, 0 as duplicate_rows_collapsed",
    "registers.register_files": "'register_csv' as format, 'zh' as header_language, 0 as rows_read, 0 as rows_loaded, "
    "0 as rows_quarantined, 0 as duplicate_rows_collapsed",
}
TABLES = {"releases.release_files": "raw.release_files", "enterprise.enterprise_files": "raw.enterprise_files",
          "registers.register_files": "raw.register_files"}


class Project:
    def __init__(self, root: Path):
        self.dir, self.warehouse = root / "dbt_project", root / "warehouse"
        shutil.copytree(settings.DBT_PROJECT_DIR, self.dir, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
        self.warehouse.mkdir()
        con = duckdb.connect(str(self.warehouse / "warehouse.duckdb"))
        try:
            for ddl in (AUDIT_DDL, RELEASES_DDL, ENTERPRISE_DDL, REGISTERS_DDL):
                con.execute(ddl)
        finally:
            con.close()

    def freshness(self, days_ago: dict[str, int]) -> tuple[int, dict[str, str], str]:
        """Load one file of each source ``days_ago[source]`` days ago, run `dbt source freshness`; returns
        its exit status, each source's status and its output."""
        con = duckdb.connect(str(self.warehouse / "warehouse.duckdb"))
        try:
            for source, columns in SOURCES.items():
                table = TABLES[source]
                con.execute(f"delete from {table}")
                con.execute(
                    f"""insert into {table} by name select 'load-1' as load_id, 'x/file.csv' as source_file,
                        'ab' as sha256, {columns}, localtimestamp - interval {days_ago[source]} day as loaded_at"""
                )
        finally:
            con.close()
        done = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "source", "freshness", "--profiles-dir", "."],
            cwd=self.dir,
            env={**os.environ, "WAREHOUSE_DIR": str(self.warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        results = json.loads((self.dir / "target" / "sources.json").read_text())["results"]
        statuses = {r["unique_id"].removeprefix("source.innovation_warehouse."): r["status"] for r in results}
        return done.returncode, statuses, done.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project(tmp_path_factory.mktemp("freshness"))


def test_every_landing_file_table_has_freshness_thresholds_and_recent_files_pass(project: Project):
    code, statuses, output = project.freshness({source: 1 for source in SOURCES})

    assert statuses == {source: "pass" for source in SOURCES}, output[-3000:]
    assert code == 0


def test_submissions_of_a_late_quarter_warn(project: Project):
    code, statuses, output = project.freshness(
        {"releases.release_files": 30, "enterprise.enterprise_files": 150, "registers.register_files": 30}
    )

    assert statuses == {
        "releases.release_files": "pass", "enterprise.enterprise_files": "warn", "registers.register_files": "pass",
    }, output[-3000:]
    assert code == 0


def test_freshness_fails_when_a_source_is_stale(project: Project):
    code, statuses, output = project.freshness(
        # a quarter's submissions overdue, no release for more than a year, registers late
        {"releases.release_files": 500, "enterprise.enterprise_files": 250, "registers.register_files": 250}
    )

    assert statuses == {
        "releases.release_files": "error", "enterprise.enterprise_files": "error", "registers.register_files": "warn",
    }, output[-3000:]
    assert code == 1
    assert "ERROR STALE freshness of enterprise.enterprise_files" in output
