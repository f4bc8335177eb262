"""Landing files into the raw and audit schemas: one asset per kind of input, one partition per file
(:mod:`orchestration.partitions`)."""

import warnings
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.audit import CURRENT_LOADS, LOAD_LOG, QUARANTINE, LoadSummary
from ingestion.enterprise.loader import load_submissions
from ingestion.enterprise.tables import ENTERPRISE_FILES, ENTERPRISE_SUBMISSIONS
from ingestion.landing import LandingError
from ingestion.registers.loader import load_registers
from ingestion.registers.tables import REGISTER_FILES, REGISTER_RECORDS
from ingestion.releases.loader import load_releases
from ingestion.releases.tables import RELEASE_FILES, RELEASE_OBSERVATIONS
from ingestion.tables import Table
from orchestration.partitions import PARTITIONS
from orchestration.resources import LandingResource, WarehouseResource

Loader = Callable[[duckdb.DuckDBPyConnection, Path, Collection[str]], LoadSummary]

#: The asset metadata naming the warehouse tables a Python asset writes (dbt assets write the table of their key).
WRITES = "writes"
#: What every load writes besides its kind's raw tables.
LOAD_AUDIT_TABLES = (LOAD_LOG.name, QUARANTINE.name, CURRENT_LOADS)


def _loader_asset(name: str, kind: str, loader: Loader, tables: Sequence[Table], description: str) -> dg.AssetsDefinition:
    with warnings.catch_warnings():
        # BackfillPolicy is "beta" in dagster 1.13: a range of files in one run is what the raw assets need
        warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
        return _define_loader_asset(name, kind, loader, tables, description)


def _define_loader_asset(
    name: str, kind: str, loader: Loader, tables: Sequence[Table], description: str
) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", name],
        group_name="ingestion",
        description=description,
        metadata={WRITES: [*(t.name for t in tables), *LOAD_AUDIT_TABLES]},
        kinds={"python", "duckdb"},
        partitions_def=PARTITIONS[kind],
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource):
        files = context.partition_keys
        context.log.info(f"{len(files)} file(s) of {kind}/: " + ", ".join(files[:10]) + (" ..." if len(files) > 10 else ""))
        try:
            with warehouse.get_connection(f"loading {name}") as con:
                summary = loader(con, landing.root, set(files))
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
    "releases",
    load_releases,
    [RELEASE_FILES, RELEASE_OBSERVATIONS],
    "Statistical releases (LANDING_DIR/releases/**, four formats, each with its .meta.yml sidecar) into "
    "raw.release_files and raw.release_observations, every record as received (mapped by mapped/release_observations).",
)
raw_enterprise_submissions = _loader_asset(
    "enterprise_submissions",
    "enterprise",
    load_submissions,
    [ENTERPRISE_FILES, ENTERPRISE_SUBMISSIONS],
    "SOE reporting submissions (LANDING_DIR/enterprise/**: xlsx template, csv, parquet) into raw tables, "
    "validated row by row; rejected rows into audit.quarantine, resubmissions kept as history (industry and "
    "district codes are checked by mapped/enterprise_rejected_rows).",
)
raw_registers = _loader_asset(
    "registers",
    "registers",
    load_registers,
    [REGISTER_FILES, REGISTER_RECORDS],
    "Recognitions and achievements registers (LANDING_DIR/registers/**: xlsx template, csv) into "
    "raw.register_files and raw.register_records, validated row by row (USCC, dates, revocation, duplicate "
    "record_id); rejected rows into audit.quarantine, resubmitted record_ids kept as history (the kind is "
    "checked by mapped/register_kinds).",
)

#: The raw asset of each kind of input (the kinds of :data:`orchestration.partitions.LANDING_KINDS`).
RAW_ASSETS = {"releases": raw_releases, "enterprise": raw_enterprise_submissions, "registers": raw_registers}
