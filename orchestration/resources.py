"""The resources of the code location, configured in one place from LANDING_DIR and WAREHOUSE_DIR."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from ingestion import settings, warehouse
from orchestration.dbt_project import dbt_project


class WarehouseResource(DuckDBResource):
    """The build database. ``get_connection`` is :func:`ingestion.warehouse.write_connection`: read-write,
    under the writer lock, with the session settings and audit tables in place."""

    @property
    def path(self) -> Path:
        return Path(self.database)

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.write_connection(self.path) as con:
            yield con


class LandingResource(dg.ConfigurableResource):
    """Where input files arrive."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


def build_resources() -> dict[str, dg.ConfigurableResource]:
    settings.export_absolute_paths()  # dbt's profile reads the absolute WAREHOUSE_DIR
    return {
        "warehouse": WarehouseResource(database=str(settings.warehouse_db_path())),
        "landing": LandingResource(path=str(settings.landing_dir())),
        "dbt": DbtCliResource(project_dir=dbt_project, profiles_dir=str(settings.DBT_PROJECT_DIR)),
    }
