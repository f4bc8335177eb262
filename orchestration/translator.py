"""How dbt nodes become Dagster assets: one key and group scheme for the whole project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.conditions import ON_CHANGE


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Models and seeds are keyed ``[schema, name]`` (``marts/rd_intensity``) and grouped by layer;
    sources use the key their ``meta.dagster.asset_key`` names, i.e. the Python asset that loads them,
    so lineage runs unbroken from landing files to marts."""

    def __init__(self) -> None:
        # several source tables share the key of the one asset that loads them (raw/releases)
        super().__init__(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_duplicate_source_asset_keys=True)
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
