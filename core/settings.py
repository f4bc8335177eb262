"""Where things are: the one place that reads LANDING_DIR and WAREHOUSE_DIR.

Relative paths are taken from the repository root, so the pipeline, dbt (which runs with the dbt
project as its working directory) and the tests agree on the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


def _resolve(variable: str, default: str) -> Path:
    path = Path(os.environ.get(variable) or default).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def landing_dir() -> Path:
    return _resolve("LANDING_DIR", "data/landing")


def warehouse_dir() -> Path:
    return _resolve("WAREHOUSE_DIR", "warehouse")


def warehouse_db_path() -> Path:
    """The build database; only the pipeline opens it."""
    return warehouse_dir() / "warehouse.duckdb"


def serving_db_path() -> Path:
    """The published copy BI tools open read-only."""
    return warehouse_dir() / "serving.duckdb"


def restricted_dir() -> Path:
    """The restricted tier: everything, enterprise-level data included (``restricted/serving.duckdb``)."""
    return warehouse_dir() / "restricted"


def groups_dir() -> Path:
    """The per-group extracts: ``groups/<group>/serving.duckdb``, one SOE group's own data each."""
    return warehouse_dir() / "groups"


def reports_dir() -> Path:
    return warehouse_dir() / "reports"


def exports_dir() -> Path:
    return warehouse_dir() / "exports"


#: Names the marts a publication may empty or halve on purpose (comma-separated, or ``all``).
ALLOW_SHRINK_VARIABLE = "WAREHOUSE_ALLOW_SHRINK"


def allowed_shrinkage() -> frozenset[str] | None:
    """The marts (``marts.x``) confirmed to shrink in this run; None when all are (``all``)."""
    value = os.environ.get(ALLOW_SHRINK_VARIABLE, "").strip()
    if value.lower() == "all":
        return None
    return frozenset(name.strip() for name in value.split(",") if name.strip())


#: The disclosure-control thresholds of the public tier (see ``serving/disclosure.py``), with their defaults.
DISCLOSURE_VARIABLES = {
    "min_enterprises": ("WAREHOUSE_SDC_MIN_ENTERPRISES", "3"),
    "dominance_n": ("WAREHOUSE_SDC_DOMINANCE_N", "2"),
    "dominance_k": ("WAREHOUSE_SDC_DOMINANCE_K", "85"),
    "p_percent": ("WAREHOUSE_SDC_P_PERCENT", "10"),
}


def disclosure_thresholds() -> dict[str, float]:
    """The thresholds from the environment (``WAREHOUSE_SDC_*``), else their defaults."""
    thresholds = {}
    for name, (variable, default) in DISCLOSURE_VARIABLES.items():
        raw = os.environ.get(variable, "").strip() or default
        try:
            thresholds[name] = float(raw)
        except ValueError:
            raise ValueError(f"{variable}={raw!r} is not a number") from None
    return thresholds

