"""Dagster wiring: assets, dbt assets, checks, jobs, schedules and sensors. No business logic here."""

import sys


def _import_dagster_dbt_without_dbt_core() -> None:
    """Import dagster-dbt as it is imported beside a dbt that runs elsewhere (its ``compat`` module).

    This process only starts dbt (``.venv/bin/warehouse-dbt``, a process of its own) and reads its manifest and
    events; it never calls dbt-core's Python. Yet dagster-dbt imports dbt-core whenever it finds it
    installed, for its node and status types and its selection engine: 2-2.5 s of the start-up of every
    run and of every process that loads the code location. Without it dagster-dbt takes its own
    definitions of those types (its mode for dbt Fusion), and the default selection of ``@dbt_assets``
    (the whole project) is read from the manifest. ``tests/test_definitions.py`` checks that dbt-core is
    not imported and that the asset graph is the one built with dbt-core. dbt-core stays importable:
    only dagster-dbt's first import is made without it."""
    if "dagster_dbt" in sys.modules or "dbt.version" in sys.modules:
        return
    sys.modules["dbt.version"] = None  # type: ignore[assignment]  # `import dbt.version` raises ImportError
    try:
        import dagster_dbt  # noqa: F401
    finally:
        del sys.modules["dbt.version"]


_import_dagster_dbt_without_dbt_core()
