"""marts.recognitions_in_force and the register-fed target figures built by dbt on loaded registers:
the current version of each record_id (resubmission replaces, withdrawal restores), revocations applied,
each scope, and both count kinds of target."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from core import settings, warehouse
from ingestion.registers.loader import load_registers
from ingestion.registers.mapping import map_registers
from tests.test_register_loader import row, write_csv

pytestmark = pytest.mark.slow

GROUP = "重庆城市交通开发投资（集团）有限公司"  # the group of T14-T16 (ref_target_scopes)
SELECT = ("+recognitions_in_force", "+int_target_observations_recognitions")


def _dbt_build(root: Path) -> None:
    env = {**os.environ, "WAREHOUSE_DIR": str(root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")), "build", "--select", *SELECT, "--indirect-selection", "cautious",
            "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
            "--target-path", str(root / "dbt_target"), "--log-path", str(root / "dbt_logs"),
        ],
        env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def _ingest(root: Path) -> None:
    con = warehouse.connect(root / "warehouse.duckdb")
    try:
        assert load_registers(con, root / "landing").files_failed == 0
        map_registers(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("register_marts")
    folder = root / "landing" / "registers"
    write_csv(folder / "a.csv", [
        row(record_id="R1", group_name=GROUP, kind="境外发明专利授权", recognized_on="2025-03-01"),
        row(record_id="R2", group_name="山城交通建设投资集团", kind="white_list_platform", recognized_on="2023/5/1"),
        row(record_id="R3", uscc="91500113JDNUN8FRDM", group_name="", kind="renowned_brand", recognized_on="2022年1月1日",
            revoked_on="2024-01-01"),
        row(record_id="R4", group_name="", kind="new_rd_institution", recognized_on="2021-06-01"),
        row(record_id="R5", kind="未知类别"),
    ])
    # a later file resubmits R2: revoked in mid-2025
    write_csv(folder / "b.csv", [row(record_id="R2", group_name="山城交通建设投资集团", kind="white_list_platform",
                                     recognized_on="2023/5/1", revoked_on="2025-06-30")])
    _ingest(root)
    _dbt_build(root)
    return root


def query(root: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def in_force(root: Path, kind: str, scope: str) -> list[tuple]:
    return query(root, f"""select year, in_force, recognized_in_year, revoked_in_year from marts.recognitions_in_force
                           where kind_code = '{kind}' and scope = '{scope}' order by year""")


def test_resubmission_replaces_the_record_and_keeps_the_first_version_as_history(root: Path):
    rows = query(root, """select source_file, version, is_current, revoked_on from intermediate.int_recognitions_versioned
                          where record_id = 'R2' order by version""")
    assert rows == [("registers/a.csv", 1, False, None), ("registers/b.csv", 2, True, date(2025, 6, 30))]
    assert query(root, "select count(*) from intermediate.int_recognitions_current") == [(4,)]  # R5's kind is unknown


def test_revocation_counts_until_the_day_before_and_every_year_has_a_row(root: Path):
    # R3: recognized 2022-01-01, revoked 2024-01-01: in force at the end of 2022 and 2023 only
    assert in_force(root, "renowned_brand", "all_holders") == [
        (2021, 0, 0, 0), (2022, 1, 1, 0), (2023, 1, 0, 0), (2024, 0, 0, 1), (2025, 0, 0, 0)
    ]
    assert in_force(root, "renowned_brand", "municipal_soes") == [(y, 0, 0, 0) for y in range(2021, 2026)]  # no group


def test_counts_per_scope_with_the_resubmitted_revocation(root: Path):
    expected = [(2021, 0, 0, 0), (2022, 0, 0, 0), (2023, 1, 1, 0), (2024, 1, 0, 0), (2025, 0, 0, 1)]
    assert in_force(root, "white_list_platform", "municipal_soes") == expected
    groups = query(root, """select group_name, sum(in_force) from marts.recognitions_in_force
                            where scope = 'soe_group' group by group_name order by group_name""")
    assert groups == [("山城交通建设投资集团", 2), (GROUP, 1)]


def test_cumulative_count_target_counts_recognitions_in_force_at_each_year_end(root: Path):
    rows = query(root, """select target_id, period, value from intermediate.int_target_observations_recognitions
                          where target_id in ('T25', 'T11') order by target_id, period""")
    assert rows == [("T11", str(y), 0.0) for y in range(2021, 2026)] + [("T25", str(y), 1.0) for y in range(2021, 2026)]


def test_new_count_target_counts_from_the_plans_first_year_for_its_group_only(root: Path):
    # T16: the group's overseas invention patents, new_count from 2025 (plan 2025-2027, no baseline year)
    assert query(root, "select period, value from intermediate.int_target_observations_recognitions where target_id = 'T16'") == [
        ("2025", 1.0)
    ]
    # T19: new municipal industrial design centres from 2022 (the plan's first and target year): none yet
    assert query(root, "select period, value from intermediate.int_target_observations_recognitions where target_id = 'T19'") == [
        ("2022", 0.0)
    ]
    # T06: new_count without a baseline year nor a plan first year: nothing to count from
    assert query(root, "select count(*) from intermediate.int_target_observations_recognitions where target_id = 'T06'") == [(0,)]


def test_withdrawing_the_resubmission_makes_the_first_version_current_again(root: Path):
    (root / "landing" / "registers" / "b.csv").unlink()
    _ingest(root)
    _dbt_build(root)
    rows = query(root, """select source_file, is_current, is_withdrawn from intermediate.int_recognitions_versioned
                          where record_id = 'R2' order by version""")
    assert rows == [("registers/a.csv", True, False), ("registers/b.csv", False, True)]
    assert in_force(root, "white_list_platform", "municipal_soes")[-1] == (2025, 1, 0, 0)  # no revocation any more
