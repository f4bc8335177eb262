"""Every suite, one module per table. ``SUITES`` is the registry the runner and Dagster use."""

from __future__ import annotations

from expectations.spec import Suite
from expectations.suites import (
    audit_load_log,
    marts_fct_indicator_values,
    marts_fct_indicator_vintages,
    marts_industrial_va_growth,
    marts_patents_per_10k,
    marts_rd_intensity,
    marts_soe_innovation,
    marts_target_tracking,
    mapped_release_observations,
    raw_enterprise_files,
    raw_enterprise_submissions,
    raw_register_files,
    raw_register_records,
    raw_release_files,
    raw_release_observations,
)

SUITES: tuple[Suite, ...] = (
    raw_release_files.SUITE,
    raw_release_observations.SUITE,
    mapped_release_observations.SUITE,
    audit_load_log.RELEASES,
    raw_enterprise_files.SUITE,
    raw_enterprise_submissions.SUITE,
    audit_load_log.ENTERPRISE,
    raw_register_files.SUITE,
    raw_register_records.SUITE,
    audit_load_log.REGISTERS,
    marts_fct_indicator_vintages.SUITE,
    marts_fct_indicator_values.SUITE,
    marts_rd_intensity.SUITE,
    marts_patents_per_10k.SUITE,
    marts_industrial_va_growth.SUITE,
    marts_soe_innovation.SUITE,
    marts_target_tracking.SUITE,
)


def get_suite(name: str) -> Suite:
    for suite in SUITES:
        if suite.name == name:
            return suite
    raise KeyError(f"no expectation suite named {name!r}; known: {[s.name for s in SUITES]}")
