"""`make run` with nothing changed builds and publishes nothing and says so; a change of a landing file or
a seed rebuilds everything, and a killed run is never taken for a successful one.

The runs are `make run`'s entry point in its own process (``tests/pipeline_process.py``) on a copy of the
repository's code (so that a seed can be edited) and of the shipped landing data, one after the other:

A. a first run into a new warehouse: builds and publishes everything;
B. nothing changed: builds nothing, touches no file of the warehouse, names A's publication;
C. a release file added: rebuilds, saying which file; killed (SIGKILL) while dbt builds;
D. the file taken out again, so the inputs are A's: the killed run is not taken for a success, D rebuilds;
E. an alias added to a seed: rebuilds, saying which seed, and publishes;
F. nothing changed: builds nothing, names E's publication.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from core import settings
from orchestration.assets.dbt import kept_parse_state
from orchestration.dbt_project import DBT_EXECUTABLE
from orchestration.storage import open_instance
from tests.pipeline_process import PipelineProcess, step_started

pytestmark = pytest.mark.slow

#: What the pipeline is built from, copied: the Python packages, the dbt project, the lock files.
CODE = ("core", "ingestion", "expectations", "orchestration", "serving", "tools", "dbt_project", "pyproject.toml", "requirements.lock")
ADDED_RELEASE = "releases/cq/chongqing_gdp_2020_revised.csv"
RELEASE = (
    "数据库：分省年度数据\r\n地区：重庆市\r\n时间：2020年\r\n指标,2020年\r\n"
    '地区生产总值(亿元),"25,041.04注1"\r\n注1：修订（测试数据）。\r\n数据来源：重庆市统计局\r\n'
)
SIDECAR = """format: nbs_export
publisher: Chongqing Municipal Bureau of Statistics (test fixture)
title: 重庆市2020年地区生产总值修订（测试数据）
release_date: 2021-12-30
status: revised
url: http://tjj.cq.gov.cn/
retrieved: 2026-11-20
"""
NEW_ALIAS = "重庆直辖市（测试别名）,CN-CQ\n"
BUILT_NOTHING = re.compile(r"^run ([0-9a-f-]{36}) built nothing in ([\d.]+) s: the publication of run ([0-9a-f-]{36}) is current$")


def warehouse_files(warehouse: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, mtime, size) of every file of the warehouse but the lock holder's note."""
    return {
        str(p.relative_to(warehouse)): (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted(warehouse.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock.json")
    }


def latest_publication_run(warehouse: Path) -> str:
    con = duckdb.connect(str(warehouse / "serving.duckdb"), read_only=True)
    try:
        return con.execute("select run_id from meta.publications order by published_at desc limit 1").fetchone()[0]
    finally:
        con.close()


@dataclass
class Run:
    process: PipelineProcess
    code: int
    files_before: dict[str, tuple[int, int, int]]
    files_after: dict[str, tuple[int, int, int]]
    published: str  # run id of serving.duckdb's latest publication after the run

    @property
    def lines(self) -> list[str]:
        return self.process.lines

    @property
    def output(self) -> str:
        return self.process.output


@dataclass
class Runs:
    warehouse: Path
    dagster_home: Path
    runs: dict[str, Run]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("nothing-changed")
    repo, landing, warehouse = root / "repo", root / "landing", root / "warehouse"
    for name in CODE:
        source = settings.REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("logs", "__pycache__"))  # with the manifest (make manifest)
        else:
            shutil.copy2(source, repo / name)
    shutil.copytree(settings.REPO_ROOT / "data" / "landing", landing)
    dagster_home = root / "dagster_home"
    done: dict[str, Run] = {}

    def run(label: str, *, until: str | None = None, **env: str) -> Run:
        before = warehouse_files(warehouse) if warehouse.exists() else {}
        process = PipelineProcess(landing, warehouse, dagster_home=dagster_home, repo=repo, **env)
        if until is None:
            code = process.finish()
        else:
            process.wait_for(until)
            time.sleep(2.0)  # into the step's work
            process.kill()
            code = process.process.returncode
        done[label] = Run(process, code, before, warehouse_files(warehouse), latest_publication_run(warehouse))
        return done[label]

    run("A")
    run("B")
    added = landing / ADDED_RELEASE
    added.write_bytes(RELEASE.encode("gb18030"))
    Path(f"{added}.meta.yml").write_text(SIDECAR, encoding="utf-8")
    run("C", until=step_started("warehouse_dbt_models"))
    added.unlink()
    Path(f"{added}.meta.yml").unlink()
    run("D")
    with open(repo / "dbt_project" / "seeds" / "ref_region_aliases.csv", "a", encoding="utf-8") as seed:
        seed.write(NEW_ALIAS)
    run("E")
    run("F")
    yield Runs(warehouse, dagster_home, done)


def built_nothing(run: Run) -> re.Match[str]:
    (match,) = [m for line in run.lines if (m := BUILT_NOTHING.match(line))]
    return match


def dagster_run_id(run: Run) -> str:
    return run.process.run_id


def test_the_first_run_builds_and_publishes_everything(runs: Runs):
    a = runs.runs["A"]
    assert a.code == 0, a.output[-3000:]
    assert a.published == dagster_run_id(a)
    assert "building everything: no successful run is recorded" in a.output
    assert not left_running_lines(a)  # the dbt process started in advance ended with its command


def test_an_unchanged_landing_folder_builds_and_publishes_nothing_and_says_so(runs: Runs):
    a, b = runs.runs["A"], runs.runs["B"]
    publication = dagster_run_id(a)

    assert b.code == 0, b.output[-3000:]
    match = built_nothing(b)
    assert match.group(3) == publication
    assert f"Nothing changed since run {publication}" in b.output
    assert "Nothing was built, checked or published." in b.output
    assert f"What is published is current: the publication of run {publication}, published " in b.output
    assert "make rebuild" in b.output
    # no step ran, and no file of the warehouse was written, replaced or removed: not the serving database,
    # the exports, the reports, the dbt artifacts nor the build database
    assert " - STEP_START - " not in b.output and "dagster - " not in b.output
    assert not left_running_lines(b)  # the dbt process started in advance is stopped, not taken for a leftover
    assert b.files_after == b.files_before
    assert b.published == publication
    with open_instance(runs.dagster_home) as instance:
        assert instance.get_run_by_id(match.group(1)) is None  # nothing was launched
    assert b.process.elapsed < 0.3 * a.process.elapsed, (b.process.elapsed, a.process.elapsed)


def test_an_added_landing_file_rebuilds_naming_it(runs: Runs):
    a, c = runs.runs["A"], runs.runs["C"]
    # only a landing file changed: what is downstream of it is built, nothing else
    assert (
        f"building what is downstream of the landing files that changed: inputs changed since run {dagster_run_id(a)}"
        in c.output
    )
    assert f"    landing files: added {ADDED_RELEASE}, {ADDED_RELEASE}.meta.yml" in c.lines
    assert c.output.count(" - STEP_START - ") > 3  # it got as far as dbt before it was killed
    assert c.code == -9


def test_a_killed_run_is_never_taken_for_a_successful_one(runs: Runs):
    """The file of the killed run C is taken out again: the inputs are A's, yet D rebuilds and publishes."""
    c, d = runs.runs["C"], runs.runs["D"]
    assert d.code == 0, d.output[-3000:]
    assert f"the previous run was interrupted: run {dagster_run_id(c)} " in d.output
    assert "building everything: the last run was stopped before it finished" in d.output
    assert d.published == dagster_run_id(d)
    assert not built_nothing_lines(d)


def left_running_lines(run: Run) -> list[str]:
    """The lines that say a process of an interrupted run was found running and stopped."""
    return [line for line in run.lines if "left running by interrupted" in line]


def built_nothing_lines(run: Run) -> list[str]:
    return [line for line in run.lines if BUILT_NOTHING.match(line)]


def test_a_changed_seed_rebuilds_naming_it_and_publishes(runs: Runs):
    d, e = runs.runs["D"], runs.runs["E"]
    assert e.code == 0, e.output[-3000:]
    assert f"building everything: inputs changed since run {dagster_run_id(d)}" in e.output
    assert "    dbt seeds: changed ref_region_aliases.csv" in e.lines
    assert e.published == dagster_run_id(e)
    con = duckdb.connect(str(runs.warehouse / "warehouse.duckdb"), read_only=True)
    try:
        aliases = con.execute("select alias from reference.ref_region_aliases").fetchall()
    finally:
        con.close()
    assert (NEW_ALIAS.split(",")[0],) in aliases


def test_after_a_rebuild_nothing_changed_is_recognised_again(runs: Runs):
    e, f = runs.runs["E"], runs.runs["F"]
    assert f.code == 0, f.output[-3000:]
    assert built_nothing(f).group(3) == dagster_run_id(e)
    assert f.files_after == f.files_before


def test_dbt_artifacts_stay_under_the_warehouse_and_bounded(runs: Runs):
    kept = sorted(p.name for p in (runs.warehouse / "dbt").iterdir() if p.is_dir())
    # A, C (killed), D and E built with dbt; the last three runs' folders are kept
    assert kept == sorted([dagster_run_id(runs.runs[label]) for label in ("C", "D", "E")])
    # and, beside them, dbt's parse state of the last dbt command of the runs' checkout (one file, replaced
    # by each command)
    kept = kept_parse_state(runs.warehouse.parent / "repo" / "dbt_project", DBT_EXECUTABLE).name
    assert [p.name for p in (runs.warehouse / "dbt").iterdir() if not p.is_dir()] == [kept]
    assert not (runs.warehouse.parent / "repo" / "dbt_project" / "target" / "run_results.json").exists()


def test_the_pipelines_dbt_build_runs_the_data_tests_and_leaves_the_unit_tests_to_make_test(runs: Runs):
    results = json.loads((runs.warehouse / "dbt" / dagster_run_id(runs.runs["E"]) / "build" / "run_results.json").read_text())
    kinds = {r["unique_id"].split(".", 1)[0] for r in results["results"]}
    assert {"model", "seed", "test"} <= kinds and "unit_test" not in kinds
