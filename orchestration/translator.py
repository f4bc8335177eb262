"""How dbt nodes become Dagster assets: one key and group scheme for the whole project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from orchestration.conditions import ON_CHANGE


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Models and seeds are keyed ``[schema, name]`` (``marts/rd_intensity``) and grouped by layer;
    sources use the key their ``meta.dagster.asset_key`` names, i.e. the Python asset that loads them,
    so lineage runs unbroken from landing files to marts.

    dbt tests are asset checks: those of models and seeds on the model's asset, those of sources on the
    Python asset that loads the source (``raw/releases``, ...), which is where a failure is to be fixed.
    dagster-dbt attaches a source's tests only when a model reads the source and the test has one parent."""

    def __init__(self) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True,
                enable_source_tests_as_checks=True,
                # several source tables share the key of the one asset that loads them (raw/releases)
                enable_duplicate_source_asset_keys=True,
            )
        )

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_group_name(dbt_resource_props)
        return dbt_resource_props["schema"]

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        """Every model and seed materializes when what it reads changed (:mod:`orchestration.conditions`)."""
        return ON_CHANGE

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetCheckSpec | None:
        """dbt's spec, except that the tests of sources do not block in Dagster's sense: a blocking check on
        ``raw/releases`` would have to run before ``mapped/observations``, splitting `dbt build` into three
        steps. `dbt build` itself still skips every model downstream of a failed source test, and so the
        publication."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or not _tests_a_source(manifest, unique_id):
            return spec
        return dg.AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=spec.description,
            additional_deps=spec.additional_deps,
            metadata=spec.metadata,
            blocking=False,
        )


def _tests_a_source(manifest: Mapping[str, Any], test_unique_id: str) -> bool:
    return any(node.startswith("source.") for node in manifest["nodes"][test_unique_id]["depends_on"]["nodes"])
