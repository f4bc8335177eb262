"""Raw records onto the reference data, one asset per kind of input, rebuilt from the current seeds.

Each mapping reads every loaded record of its kind and the seeds afresh, so a seed edit reaches every file
loaded before. The assets' code version is the digest of the seeds: under ``make dev`` an edited seed
re-materializes the mappings (and what follows) by declarative automation, with no file reloaded.
"""

from collections.abc import Callable

import dagster as dg
import duckdb

from ingestion.audit import QUARANTINE
from ingestion.enterprise.mapping import map_enterprise
from ingestion.enterprise.tables import ENTERPRISE_REJECTED_ROWS
from ingestion.mapping import MappingSummary
from ingestion.registers.mapping import map_registers
from ingestion.registers.tables import REGISTER_KINDS
from ingestion.releases.mapping import map_releases
from ingestion.releases.tables import MAPPED_RELEASE_OBSERVATIONS
from ingestion.tables import Table
from orchestration.assets.ingestion import WRITES, raw_enterprise_submissions, raw_registers, raw_releases
from orchestration.conditions import ON_CHANGE
from orchestration.fingerprint import seeds_version
from orchestration.resources import WarehouseResource

Mapper = Callable[[duckdb.DuckDBPyConnection], MappingSummary]


def _mapping_asset(
    name: str, raw: dg.AssetsDefinition, mapper: Mapper, table: Table, description: str
) -> dg.AssetsDefinition:
    @dg.asset(
        key=["mapped", name],
        group_name="mapping",
        metadata={WRITES: [table.name, QUARANTINE.name]},
        deps=[raw],
        kinds={"python", "duckdb"},
        code_version=seeds_version(),
        automation_condition=ON_CHANGE,
        description=description,
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get_connection(f"mapping {name} onto the reference data") as con:
            summary = mapper(con)
        for reason, count in summary.reasons.most_common(10):
            context.log.warning(f"{count} rows quarantined: {reason}")
        return dg.MaterializeResult(metadata=summary.as_metadata())

    return _asset


mapped_release_observations = _mapping_asset(
    "release_observations",
    raw_releases,
    map_releases,
    MAPPED_RELEASE_OBSERVATIONS,
    "Every loaded release record mapped to region, indicator, period and canonical unit "
    "(mapped.release_observations) from the current seeds; records that cannot be mapped are the 'mapping' "
    "rows of audit.quarantine, rebuilt each time.",
)
mapped_enterprise_rejected_rows = _mapping_asset(
    "enterprise_rejected_rows",
    raw_enterprise_submissions,
    map_enterprise,
    ENTERPRISE_REJECTED_ROWS,
    "Every SOE submission row whose industry or district code is not in the reference seeds "
    "(mapped.enterprise_rejected_rows, and the 'mapping' rows of audit.quarantine), rebuilt each time.",
)
mapped_register_kinds = _mapping_asset(
    "register_kinds",
    raw_registers,
    map_registers,
    REGISTER_KINDS,
    "The kind of every register row resolved against ref_recognition_kinds (mapped.register_kinds); rows whose "
    "kind is not in the seed are the 'mapping' rows of audit.quarantine, rebuilt each time.",
)

MAPPING_ASSETS = [mapped_release_observations, mapped_enterprise_rejected_rows, mapped_register_kinds]
