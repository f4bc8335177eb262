"""The resources of the code location, configured in one place from LANDING_DIR and WAREHOUSE_DIR."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from importlib import metadata
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from packaging import version

from core import settings, warehouse
from core.locking import WriterLock
from ingestion.audit import AUDIT_DDL
from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project
from orchestration.fingerprint import JOBS_KEEPING_THE_PUBLICATION, forget_successful_run
from orchestration.recovery import report_interrupted_run


class WarehouseResource(DuckDBResource):
    """The build database, and its writer lock held for the whole run.

    Every step of the pipeline uses this resource, so a run takes the lock when it starts (waiting, and
    saying so, while another run holds it; reporting a previous run that was interrupted) and keeps it
    until it ends. Steps say what they are doing with :meth:`doing`, which is what a waiting run, or the
    run after a crash, is told. ``get_connection`` is :func:`core.warehouse.write_connection` with the audit
    tables of :mod:`ingestion.audit` in place.

    A run that may change the warehouse (any job but ``quality_job``) forgets the record of the last
    successful `make run` once it holds the lock, so that no later run takes the warehouse for current
    until a run ends successfully again (:mod:`orchestration.fingerprint`).
    """

    @property
    def path(self) -> Path:
        return Path(self.database)

    @property
    def lock(self) -> WriterLock:
        return WriterLock(self.path)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        log = context.log
        with self.lock.hold(
            "run in progress",
            run_id=context.run_id,
            on_wait=log.info if log else None,
            on_interrupted=partial(report_interrupted_run, instance=context.instance, say=log.warning)
            if log
            else None,
        ):
            run = context.dagster_run
            if run is None or run.job_name not in JOBS_KEEPING_THE_PUBLICATION:
                forget_successful_run(self.path.parent)
            yield self

    @contextmanager
    def doing(self, activity: str) -> Iterator[None]:
        """Record what the run is doing while it does it."""
        with self.lock.hold(activity):
            yield

    @contextmanager
    def get_connection(self, activity: str = "writing") -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.write_connection(self.path, activity, setup=AUDIT_DDL) as con:
            yield con


class LandingResource(dg.ConfigurableResource):
    """Where input files arrive."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


def warehouse_resource() -> WarehouseResource:
    """The build database of the current WAREHOUSE_DIR."""
    return WarehouseResource(database=str(settings.warehouse_db_path()))


class WarehouseDbtResource(DbtCliResource):
    """dagster-dbt's ``DbtCliResource`` without two start-up costs of every dbt command that this project
    has no use for (measured on the 2-core VM: 1.9 s once per run, and 1.5 s for the first command and
    0.4 s for the next):

    - asking the dbt executable for its version (``dbt --version``: a second start of dbt, which also asks
      PyPI for the latest version: a network request on every run): the executable is this environment's,
      so its version is the installed, pinned dbt-core's;
    - opening a dbt adapter inside the Dagster process (importing dbt, loading the project and profile,
      connecting to DuckDB read-only), which dagster-dbt uses only to fetch row counts and column metadata
      (``fetch_row_counts``, ``fetch_column_metadata``: not used here) and, for DuckDB, to hold every event
      back until dbt has exited.

    Both override private methods of the pinned dagster-dbt; ``tests/test_definitions.py`` fails if an
    upgrade renames them.
    """

    @property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """The resources of the current LANDING_DIR / WAREHOUSE_DIR. dbt gets the build database's path from the
    dbt asset (:func:`orchestration.assets.dbt.dbt_args`), not from this process's environment."""
    return {
        "warehouse": warehouse_resource(),
        "landing": LandingResource(path=str(settings.landing_dir())),
        "dbt": WarehouseDbtResource(
            project_dir=dbt_project, profiles_dir=str(settings.DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE
        ),
    }
