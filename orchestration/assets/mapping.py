"""Raw records onto the reference data: run on every build, so a seed edit reaches every loaded file."""

import dagster as dg

from ingestion.enterprise.mapping import map_enterprise
from ingestion.registers.mapping import map_registers
from ingestion.releases.mapping import map_releases
from orchestration.assets.ingestion import raw_enterprise_submissions, raw_registers, raw_releases
from orchestration.resources import WarehouseResource


@dg.asset(
    key=["mapped", "observations"],
    group_name="mapping",
    deps=[raw_releases, raw_enterprise_submissions, raw_registers],
    kinds={"python", "duckdb"},
    description=(
        "Every loaded release record mapped to region, indicator, period and canonical unit "
        "(mapped.release_observations), and every SOE submission row whose industry or district code is not "
        "in the reference tables (mapped.enterprise_rejected_rows), and the kind of every register row "
        "(mapped.register_kinds, from ref_recognition_kinds), from the current dbt seeds; rows that "
        "cannot be mapped are the 'mapping' rows of audit.quarantine, rebuilt on every run."
    ),
)
def mapped_observations(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection("mapping onto the reference data") as con:
        releases = map_releases(con)
        enterprise = map_enterprise(con)
        registers = map_registers(con)
    for summary in (releases, enterprise, registers):
        for reason, count in summary.reasons.most_common(10):
            context.log.warning(f"{count} rows quarantined: {reason}")
    return dg.MaterializeResult(
        metadata={
            **releases.as_metadata("releases"),
            **enterprise.as_metadata("enterprise"),
            **registers.as_metadata("registers"),
        }
    )
