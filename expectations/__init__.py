"""Data quality: Great Expectations suites on the DuckDB warehouse, run inside DuckDB.

- ``expectations.suites``: one suite per table (``SUITES``), written with the builders of ``spec``;
- ``expectations.duckdb_datasource``: the GX datasource and engine that run every check as DuckDB SQL;
- ``run_suite`` / ``run_suites``: validate, returning :class:`SuiteResult` (one outcome per expectation);
- ``run_and_report`` / ``build_quality_report``: the same, written into the Data Docs report under
  ``WAREHOUSE_DIR/reports/quality/`` (GX file context under ``WAREHOUSE_DIR/gx/``);
- ``record_results``: the ``audit.quality_results`` table;
- ``expectations.run_summary``: what a run leaves to fix (failed files, quarantined rows, withdrawn and
  duplicate files, failed blocking checks), printed by ``make run`` and shown at the top of the report.

Importing this package is cheap; Great Expectations (seconds to import) loads on the first run. It imports
``scipy.stats`` (about 1 s, a third of its import) for an expectation and two metrics no suite uses: it is
imported when one of its attributes is first read (:class:`ImportedWhenUsed`), not with Great Expectations.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
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


class ImportedWhenUsed(types.ModuleType):
    """Stands in ``sys.modules`` for the module of its name, and imports it when one of its attributes is
    first read (an import statement reads none): then the module itself takes its place, and every attribute
    read here is the module's. Unlike ``importlib.util.LazyLoader``, whose module Python 3.11's import
    statement loads at once (it reads ``__spec__``, which this one has as None, like any new module)."""

    _lock = threading.Lock()

    @classmethod
    def install(cls, name: str) -> None:
        """Have ``name`` imported when first used, unless it is imported already."""
        sys.modules.setdefault(name, cls(name))

    def __getattr__(self, attribute: str) -> Any:
        with self._lock:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
                try:
                    importlib.import_module(self.__name__)
                except BaseException:
                    sys.modules.setdefault(self.__name__, self)
                    raise
        return getattr(sys.modules[self.__name__], attribute)


ImportedWhenUsed.install("scipy.stats")


def import_great_expectations_meanwhile() -> None:
    """Import Great Expectations (3-4 s) in a background thread, for the validations that follow: call it when
    the process is about to wait on another one (the dbt build). A later import waits for this one to finish."""
    threading.Thread(target=importlib.import_module, args=("expectations.runner",), name="import GX", daemon=True).start()
