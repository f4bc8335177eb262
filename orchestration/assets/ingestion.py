"""Landing files into the raw and audit schemas: one asset per kind of input."""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.audit import LoadSummary
from ingestion.enterprise.loader import load_submissions
from ingestion.landing import LandingError
from ingestion.registers.loader import load_registers
from ingestion.releases.loader import load_releases
from orchestration.resources import LandingResource, WarehouseResource

Loader = Callable[[duckdb.DuckDBPyConnection, Path], LoadSummary]


def _loader_asset(name: str, loader: Loader, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", name],
        group_name="ingestion",
        description=description,
        kinds={"python", "duckdb"},
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource):
        try:
            with warehouse.get_connection(f"loading {name}") as con:
                summary = loader(con, landing.root)
        except LandingError as error:
            raise dg.Failure(description=str(error)) from error
        for event in summary.events:
            context.log.warning(f"{event.status}: {event.source_file}: {event.note}")
        for attempt in summary.attempts:
            if attempt.status == "failed":
                context.log.error(f"{attempt.source_file}: {attempt.error}")
            elif attempt.rows_quarantined:
                context.log.warning(f"{attempt.source_file}: {attempt.rows_quarantined} rows quarantined")
        return dg.MaterializeResult(metadata=summary.as_metadata())

    return _asset


raw_releases = _loader_asset(
    "releases",
    load_releases,
    "Statistical releases (LANDING_DIR/releases/**, four formats, each with its .meta.yml sidecar) into "
    "raw.release_files and raw.release_observations, every record as received (mapped by mapped/observations).",
)
raw_enterprise_submissions = _loader_asset(
    "enterprise_submissions",
    load_submissions,
    "SOE reporting submissions (LANDING_DIR/enterprise/**: xlsx template, csv, parquet) into raw tables, "
    "validated row by row; rejected rows into audit.quarantine, resubmissions kept as history (industry and "
    "district codes are checked by mapped/observations).",
)
raw_registers = _loader_asset(
    "registers",
    load_registers,
    "Recognitions and achievements registers (LANDING_DIR/registers/**: xlsx template, csv) into "
    "raw.register_files and raw.register_records, validated row by row (USCC, dates, revocation, duplicate "
    "record_id); rejected rows into audit.quarantine, resubmitted record_ids kept as history (the kind is "
    "checked by mapped/observations).",
)
