"""Shared fixtures. The whole pipeline runs once per session (`pipeline`), into a temporary
WAREHOUSE_DIR, on a copy of the shipped landing data, so tests never touch warehouse/ or data/."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from pathlib import Path

import dagster as dg
import filelock
import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, sync_playwright

from core import settings
from orchestration.storage import open_instance, prepare_dagster_home
from tests.browser import install_failure_reason, system_chromium

if TYPE_CHECKING:
    from orchestration.pipeline import PipelineResult


#: The modules that run the whole pipeline in processes of their own, longest first. `make test` runs one
#: pytest worker per core, each taking the next module when it is done: starting the longest first keeps
#: the workers busy to the end (the other slow modules follow, then the rest, in file order).
LONGEST_FIRST = ("test_recovery", "test_run_nothing_changed", "test_pipeline_end_to_end", "test_run_guards")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def cost_rank(item: pytest.Item) -> int:
        module = item.path.stem
        if module in LONGEST_FIRST:
            return LONGEST_FIRST.index(module)
        return len(LONGEST_FIRST) + (0 if item.get_closest_marker("slow") else 1)

    items.sort(key=cost_rank)


@dataclass
class PipelineRun:
    landing_dir: Path
    warehouse_dir: Path
    success: bool  # every run of the pipeline succeeded
    events: list[dg.DagsterEvent]  # the Dagster events of its runs, in order
    elapsed: float  # seconds the run took
    result: PipelineResult | None = None  # the runs' results, when they ran in this process

    @property
    def build_db(self) -> Path:
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.warehouse_dir / "serving.duckdb"


def run_pipeline(instance: dg.DagsterInstance | None = None, *, narrow: bool = False) -> PipelineResult:
    """The whole pipeline (ingest runs of the files that changed, then warehouse_job) in this process with
    the current LANDING_DIR / WAREHOUSE_DIR, as `make run` executes it (``narrow``: see execute_pipeline)."""
    from orchestration.definitions import build_definitions
    from orchestration.pipeline import execute_pipeline

    return execute_pipeline(build_definitions(), instance or dg.DagsterInstance.ephemeral(), narrow=narrow)


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[PipelineRun]:
    """One full pipeline run over a copy of the shipped landing data, shared by the pytest workers: the first
    that asks for it runs it (in its process, into a Dagster instance as `make run` prepares it), the others
    wait for it and read its warehouse and its runs' events. Tests read it and never change it; LANDING_DIR
    and WAREHOUSE_DIR point at it while they run."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    root = shared / "pipeline"
    landing, warehouse, dagster_home, done = root / "landing", root / "warehouse", root / "dagster_home", root / "done.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LANDING_DIR", str(landing))
        mp.setenv("WAREHOUSE_DIR", str(warehouse))
        with filelock.FileLock(shared / "pipeline.lock"):
            if not done.exists():
                shutil.rmtree(root, ignore_errors=True)  # a worker that failed before left it half-done
                shutil.copytree(settings.REPO_ROOT / "data" / "landing", landing)
                started = time.monotonic()
                with open_instance(prepare_dagster_home(dagster_home)) as instance:
                    result = run_pipeline(instance)
                outcome = {"success": result.success, "run_ids": [run.run_id for run in result.runs],
                           "elapsed": time.monotonic() - started}
                done.write_text(json.dumps(outcome), encoding="utf-8")
        outcome = json.loads(done.read_text(encoding="utf-8"))
        with open_instance(dagster_home) as instance:
            events = [
                record.dagster_event
                for run_id in outcome["run_ids"]
                for record in instance.all_logs(run_id)
                if record.dagster_event is not None
            ]
        yield PipelineRun(landing, warehouse, outcome["success"], events, outcome["elapsed"])


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright launches Debian's chromium (tests/browser.py), never a browser of its own; a test
    that needs it skips, saying why, when it cannot be installed."""
    chromium = system_chromium()
    if chromium is None:
        pytest.skip(install_failure_reason())
    return {**browser_type_launch_args, "executable_path": str(chromium)}


# pytest-playwright keeps Playwright running for the whole session. While its sync API runs, the main
# thread's asyncio loop counts as running, so every later `asyncio.run` (and Dagster's in-process runs, which
# run a loop of their own) would fail or warn, even in the same module: Playwright, its browser type, the
# browser and the context arguments (none: the pages are files, seen on a desktop) live for one test instead.
# Its `page` and `context` fixtures are used as they are.
@pytest.fixture
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture
def browser(browser_type: BrowserType, browser_type_launch_args: dict) -> Iterator[Browser]:
    launched = browser_type.launch(**browser_type_launch_args)
    yield launched
    launched.close()


@pytest.fixture
def browser_context_args() -> dict:
    return {}
