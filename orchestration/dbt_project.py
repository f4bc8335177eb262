"""The dbt project as Dagster sees it, with its manifest prepared by the project itself.

``DbtProject.prepare_if_dev()`` only works under ``dagster dev``; here the manifest is (re)built with
``dbt parse`` whenever it is missing or older than any file of the dbt project, in whichever process
loads the definitions first, so `make run`, `make dev` and the tests never need a committed manifest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from core import settings

_SOURCE_DIRS = ("models", "seeds", "macros", "tests", "snapshots", "analyses")
_SOURCE_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml")


def _newest_source_mtime(project_dir: Path) -> float:
    paths = [project_dir / name for name in _SOURCE_FILES]
    for folder in _SOURCE_DIRS:
        paths.extend((project_dir / folder).rglob("*"))
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


def manifest_is_stale(project: DbtProject) -> bool:
    manifest = Path(project.manifest_path)
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(Path(project.project_dir))


# dbt is installed next to this interpreter (.venv/bin), which need not be on PATH (`.venv/bin/python -m ...`).
_VENV_BIN = str(Path(sys.executable).parent)
if _VENV_BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_VENV_BIN, os.environ.get("PATH", "")])

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)

if manifest_is_stale(dbt_project):
    settings.export_absolute_paths()
    dbt_project.preparer.prepare(dbt_project)
