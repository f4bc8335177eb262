"""The dbt project as Dagster sees it, with its manifest prepared at install.

`make manifest` (a prerequisite of `make run`, `make dev` and `make test`) runs ``dagster-dbt project
prepare-and-package --file orchestration/dbt_project.py`` whenever a file of the dbt project is newer than
``dbt_project/target/manifest.json``. Loading the code location therefore only reads the manifest: it runs
no dbt command and changes no environment variable. Under `dagster dev`, ``prepare_if_dev`` parses the
project again on every reload of the code location, so edits to the dbt project show up without a restart.
"""

from __future__ import annotations

from dagster_dbt import DbtProject

from core import dbt_command, settings

#: The dbt command the pipeline runs, of this interpreter's environment (``.venv/bin/warehouse-dbt``: dbt's
#: command line with a cheaper start and end, :mod:`core.dbt_command`).
DBT_EXECUTABLE = str(dbt_command.EXECUTABLE)

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
