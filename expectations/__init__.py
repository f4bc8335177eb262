"""Data quality: Great Expectations suites on the DuckDB warehouse, run inside DuckDB.

- ``expectations.suites``: one suite per table (``SUITES``), written with the builders of ``spec``;
- ``expectations.duckdb_datasource``: the GX datasource and engine that run every check as DuckDB SQL;
- ``run_suite`` / ``run_suites``: validate, returning :class:`SuiteResult` (one outcome per expectation);
- ``run_and_report`` / ``build_quality_report``: the same, written into the Data Docs report under
  ``WAREHOUSE_DIR/reports/quality/`` (GX file context under ``WAREHOUSE_DIR/gx/``);
- ``record_results``: the ``audit.quality_results`` table;
- ``expectations.run_summary``: what a run leaves to fix (failed files, quarantined rows, withdrawn and
  duplicate files, failed blocking checks), printed by ``make run`` and shown at the top of the report.

Importing this package is cheap; Great Expectations (seconds to import) loads on the first run.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from expectations.results import ExpectationOutcome, SuiteResult, record_results
from expectations.spec import Expect, Suite
from expectations.suites import SUITES, get_suite

_LAZY = {
    "run_suite": "expectations.runner",
    "run_suites": "expectations.runner",
    "run_and_report": "expectations.report",
    "build_quality_report": "expectations.report",
}

__all__ = [
    "SUITES",
    "import_great_expectations_meanwhile",
    "Expect",
    "ExpectationOutcome",
    "Suite",
    "SuiteResult",
    "get_suite",
    "record_results",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'expectations' has no attribute {name!r}")


def import_great_expectations_meanwhile() -> None:
    """Import Great Expectations (3-4 s) in a background thread, for the validations that follow: call it when
    the process is about to wait on another one (the dbt build). A later import waits for this one to finish."""
    threading.Thread(target=importlib.import_module, args=("expectations.runner",), name="import GX", daemon=True).start()
