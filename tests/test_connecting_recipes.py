"""The recipes of docs/connecting.md, run as written against a small warehouse published by the pipeline's own
publishing code (:func:`tests.serving_fixtures.build_tiered_warehouse`).

Every fenced block marked ``<!-- recipe: NAME -->`` in the doc is taken from the doc itself, with
``/srv/warehouse`` (the doc's absolute WAREHOUSE_DIR) replaced by the test warehouse, and run from a working
directory whose ``warehouse/`` is that warehouse (the doc's relative paths assume the default WAREHOUSE_DIR), so
the doc and the tests cannot drift apart. The SQLAlchemy recipe runs twice in a subprocess: with the SQLAlchemy
that Superset ships (1.4.54, installed by ``make install`` into ``.venv/bi-sqlalchemy``), where it works, and with
the venv's SQLAlchemy 2.1, where reflection fails as the doc says.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from core import settings
from serving import tiers
from tests.serving_fixtures import (
    CTDI_GROUP,
    ENTERPRISES,
    OTHER_GROUP,
    SECONDARY_CELL,
    SUPPRESSED_CELL,
    build_tiered_warehouse,
    policy_targets,
)

DOC = settings.REPO_ROOT / "docs" / "connecting.md"
#: The doc's absolute path of WAREHOUSE_DIR.
PLACEHOLDER = "/srv/warehouse"
RECIPE = re.compile(r"<!-- recipe: (?P<name>[\w-]+) -->\s*```\w*\n(?P<code>.*?)^\s*```", re.S | re.M)
#: The SQLAlchemy that Superset ships, apart from the venv (Makefile: BI_SQLALCHEMY).
BI_SQLALCHEMY = Path(sys.prefix) / "bi-sqlalchemy"
VENV_BIN = Path(sys.executable).parent
SOE_QUERY = "select group_name, period, rd_expenditure_10k_yuan from marts.soe_innovation"
REFLECTION_ERROR = 'Referenced table "pg_catalog.pg_collation" not found!'


def recipes() -> dict[str, str]:
    """The marked code blocks of docs/connecting.md, by name, dedented."""
    found: dict[str, str] = {}
    for match in RECIPE.finditer(DOC.read_text(encoding="utf-8")):
        assert match["name"] not in found, f"two recipes named {match['name']} in {DOC}"
        found[match["name"]] = textwrap.dedent(match["code"])
    return found


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory whose ``warehouse/`` holds the public tier, ``restricted/`` and ``groups/``."""
    root = tmp_path_factory.mktemp("connecting")
    build_tiered_warehouse(root / "warehouse")
    return root


def recipe(name: str, root: Path) -> str:
    return recipes()[name].replace(PLACEHOLDER, str(root / "warehouse"))


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def tables_of(db: Path) -> set[str]:
    return {f"{s}.{t}" for s, t in query(db, "select table_schema, table_name from information_schema.tables")}


def rows_by_cell(db: Path, table: str = "marts.soe_innovation") -> dict[tuple[str, str], dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        result = con.execute(f"select * from {table}")
        names = [d[0] for d in result.description]
        return {(row[0], row[1]): dict(zip(names, row, strict=True)) for row in result.fetchall()}


#: The enterprise-level tables, by name, that the doc says only the restricted tier and the group extracts hold.
ENTERPRISE_TABLES = {
    "marts.dim_enterprise", "marts.fct_enterprise_submissions", "marts.fct_enterprise_submission_history",
    "marts.soe_innovation_concentration",
}


def run_recipe(code: str, cwd: Path) -> dict:
    """Run Python code in this process from ``cwd``; returns its globals."""
    namespace: dict = {"__name__": "recipe"}
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        exec(compile(code, str(DOC), "exec"), namespace)
    finally:
        os.chdir(previous)
    return namespace


def run_python(code: str, cwd: Path, pythonpath: Path | None) -> subprocess.CompletedProcess:
    """Run Python code in a subprocess of the venv's interpreter, with only ``pythonpath`` on PYTHONPATH."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def run_shell(code: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code], cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
        timeout=120, check=False,
    )


def test_every_recipe_of_the_doc_is_run_here():
    assert set(recipes()) == {
        "sql-freshness", "cli", "sql-targets", "sql-soe", "python-duckdb", "python-tiers", "polars", "sql-parquet",
        "sql-parquet-periods",
        "superset-install", "superset-engine-params", "sqlalchemy-query", "sqlalchemy-reflect",
        "evidence-link", "evidence-connection", "evidence-query", "evidence-package-json",
    }


# --- DuckDB CLI -----------------------------------------------------------------------------------------------


@pytest.fixture
def cli() -> Path:
    """The DuckDB CLI the doc's ``duckdb`` finds first on PATH (see :func:`run_shell`)."""
    path = VENV_BIN / "duckdb"
    assert path.exists(), "the DuckDB CLI (duckdb-cli in requirements.lock) is missing: run make install"
    return path


@pytest.mark.parametrize(("sql", "shown"), [("sql-freshness", "run-1"), ("sql-targets", "T22"), ("sql-soe", "2024Q2")])
def test_cli_recipe_runs_the_doc_sql_on_the_public_file(root: Path, cli: Path, sql: str, shown: str):
    result = run_shell(recipe("cli", root), root, stdin=recipe(sql, root))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert shown in result.stdout


def test_cli_recipe_opens_the_file_read_only(root: Path, cli: Path):
    result = run_shell(recipe("cli", root), root, stdin="create table marts.scratch as select 1 as x;\n")

    assert result.returncode != 0
    assert "read-only" in result.stderr


def test_doc_sql_gives_the_freshness_the_targets_and_the_flagged_cell(root: Path):
    public = root / "warehouse" / "serving.duckdb"

    (run_id, _, rows), *_ = query(public, recipe("sql-freshness", root))
    targets = query(public, recipe("sql-targets", root))
    soe = query(public, recipe("sql-soe", root))

    assert run_id == "run-1"
    assert rows == sum(count for (count,) in query(public, "select row_count from meta.publications"))
    assert len(targets) == len(policy_targets())
    flagged = {(group, period): rest for group, period, flag, *rest in soe if flag == "c"}
    assert set(flagged) == {SUPPRESSED_CELL, SECONDARY_CELL}
    for withheld, enterprises, rd, intensity in flagged.values():
        assert {"rd_expenditure_10k_yuan", "rd_intensity_pct"} <= set(withheld.split(", "))
        assert (rd, intensity) == (None, None)
        assert enterprises is not None
    assert all(withheld is None for _, _, flag, withheld, *_ in soe if flag is None)


def test_a_withheld_public_cell_is_null_in_its_withheld_columns_only(root: Path):
    public = rows_by_cell(root / "warehouse" / "serving.duckdb")
    restricted = rows_by_cell(root / "warehouse" / "restricted" / "serving.duckdb")
    figures = set(restricted[SUPPRESSED_CELL]) - {"group_name", "period", "enterprises"}

    withheld = {}
    for cell, row in public.items():
        names = row.pop("withheld_columns")
        withheld[cell] = set(names.split(", ")) if names else set()
        assert row.pop("disclosure_flag") == ("c" if withheld[cell] else None)
        assert withheld[cell] <= figures  # enterprises is always published
        assert row == {c: None if c in withheld[cell] else v for c, v in restricted[cell].items()}, cell
    assert {cell for cell, names in withheld.items() if names} == {SUPPRESSED_CELL, SECONDARY_CELL}
    # one enterprise: every figure; the cell suppressed to protect it: its amounts and what is computed
    # from them, not its counts of enterprises by kind
    assert withheld[SUPPRESSED_CELL] == figures
    assert {"rd_expenditure_10k_yuan", "revenue_10k_yuan", "rd_intensity_pct"} <= withheld[SECONDARY_CELL]
    assert not {"tech_based_enterprises", "hightech_enterprises"} & withheld[SECONDARY_CELL]


def test_each_tier_holds_the_tables_the_doc_names(root: Path):
    warehouse = root / "warehouse"
    doc = DOC.read_text(encoding="utf-8")
    public = tables_of(warehouse / "serving.duckdb")
    restricted = tables_of(warehouse / "restricted" / "serving.duckdb")
    groups = sorted((warehouse / "groups").iterdir())

    assert not public & ENTERPRISE_TABLES
    assert ENTERPRISE_TABLES | {"audit.quarantine", tiers.DECISIONS_TABLE} <= restricted
    assert restricted - public == ENTERPRISE_TABLES | {tiers.DECISIONS_TABLE}
    assert [g.name for g in groups] == sorted({group for _, _, group, *_ in ENTERPRISES})
    for group in groups:
        assert tables_of(group / "serving.duckdb") == {*tiers.GROUP_TABLES, "meta.publications"}
    for table in ENTERPRISE_TABLES | {tiers.DECISIONS_TABLE, *tiers.GROUP_TABLES, "audit.quarantine"}:
        assert f"`{table}`" in doc
    assert "_versions" not in doc
    # the public quarantine keeps the rows of statistical releases only; the restricted one every row
    kinds = "select distinct l.kind from audit.quarantine q join audit.load_log l using (load_id) order by 1"
    assert query(warehouse / "serving.duckdb", kinds) == [("releases",)]
    assert query(warehouse / "restricted" / "serving.duckdb", kinds) == [("enterprise",), ("releases",)]
    modes = {
        "serving.duckdb": 0o644, "exports/manifest.json": 0o644, "restricted": 0o750,
        "restricted/serving.duckdb": 0o640, "restricted/exports/manifest.json": 0o640,
        f"groups/{CTDI_GROUP}/serving.duckdb": 0o640, f"groups/{CTDI_GROUP}/exports/manifest.json": 0o640,
    }
    assert {path: (warehouse / path).stat().st_mode & 0o777 for path in modes} == modes


# --- Python ---------------------------------------------------------------------------------------------------


def test_python_recipe_reads_the_public_file_into_polars_and_pandas(root: Path):
    done = run_recipe(recipe("python-duckdb", root), root)

    tracking, soe = done["tracking"], done["soe"]
    assert isinstance(tracking, pl.DataFrame)
    assert tracking.height == len(policy_targets())
    assert tracking["target_id"].to_list() == sorted(tracking["target_id"].to_list())
    flagged = soe[soe["disclosure_flag"] == "c"]
    cells = sorted(map(tuple, flagged[["group_name", "period"]].values.tolist()))
    assert cells == sorted([SUPPRESSED_CELL, SECONDARY_CELL])
    assert flagged[["rd_expenditure_10k_yuan", "revenue_10k_yuan"]].isna().all(axis=None)
    assert flagged["enterprises"].notna().all()


def test_python_recipe_reads_the_restricted_file_and_a_group_extract(root: Path):
    done = run_recipe(recipe("python-tiers", root), root)

    # the current submission of each enterprise and period: version 2 of the resubmitted one
    assert done["submissions"].sort("uscc").select("uscc", "version", "rd_expenditure_10k_yuan").rows() == [
        ("91500000TEST00001A", 2, 21_000.0), ("91500000TEST00002B", 1, 20_000.0), ("91500000TEST00003C", 1, 8_000.0),
    ]
    # the submission the resubmission replaced
    assert done["history"].select("uscc", "version", "rd_expenditure_10k_yuan", "superseded_by_file").rows() == [
        ("91500000TEST00001A", 1, 20_000.0, "enterprise/annual_2024_resubmitted.csv"),
    ]
    # why each value is withheld from the public tier: the one-enterprise cell fails the threshold rule
    reasons = {
        (row["item_kind"], row["item"]): row["reason"]
        for row in done["withheld"].filter(pl.col("group_name") == OTHER_GROUP).iter_rows(named=True)
    }
    assert reasons[("suppressed measure", "rd_expenditure_10k_yuan")].startswith("threshold: 1 < 3 enterprises")
    assert set(done["withheld"].select("group_name", "period").rows()) == {SUPPRESSED_CELL, SECONDARY_CELL}
    assert done["group"] == CTDI_GROUP
    own = sorted(uscc for uscc, _, group, *_ in ENTERPRISES if group == CTDI_GROUP)
    assert sorted(done["own_enterprises"]["uscc"]) == own


# --- Parquet --------------------------------------------------------------------------------------------------


def test_polars_recipe_reads_one_table_per_file_and_every_table_by_name(root: Path):
    public = root / "warehouse" / "serving.duckdb"

    done = run_recipe(recipe("polars", root), root)

    assert done["rd_intensity"].rows() == query(public, "select * from marts.rd_intensity")
    manifest = json.loads((root / "warehouse" / "exports" / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(done["marts"]) == sorted(name.split(".")[1] for name in manifest["tables"] if name.startswith("marts."))
    assert not set(done["marts"]) & {table.split(".")[1] for table in ENTERPRISE_TABLES}
    confidential = sorted(done["confidential"].select("group_name", "period").rows())
    assert confidential == sorted([SUPPRESSED_CELL, SECONDARY_CELL])


def test_a_polars_glob_over_several_tables_fails_as_the_doc_says(root: Path):
    message = "extra column in file outside of expected schema"
    assert f"SchemaError: {message}" in DOC.read_text(encoding="utf-8")

    with pytest.raises(pl.exceptions.SchemaError, match=message):
        pl.read_parquet(root / "warehouse" / "exports" / "marts" / "*.parquet")


def test_duckdb_reads_a_parquet_export_without_a_database_file(root: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(root)
    with duckdb.connect() as con:
        rows = con.sql(recipe("sql-parquet", root)).fetchall()

    assert rows == query(root / "warehouse" / "serving.duckdb", "select * from marts.target_tracking")


def test_duckdb_reads_the_enterprise_facts_exported_by_period_as_one_table(root: Path, monkeypatch: pytest.MonkeyPatch):
    restricted = root / "warehouse" / "restricted"
    folder = restricted / "exports" / "marts" / "fct_enterprise_submissions"
    periods = [p for (p,) in query(restricted / "serving.duckdb", "select distinct period from marts.fct_enterprise_submissions order by 1")]
    assert sorted(p.name for p in folder.iterdir()) == [f"period_{p}.parquet" for p in periods]
    assert not (folder.parent / "fct_enterprise_submissions.parquet").exists()
    monkeypatch.chdir(root)
    with duckdb.connect() as con:
        rows = con.sql(recipe("sql-parquet-periods", root)).fetchall()

    assert rows == query(
        restricted / "serving.duckdb",
        "select period, count(*) from marts.fct_enterprise_submissions group by period order by period",
    )


# --- Superset / SQLAlchemy ------------------------------------------------------------------------------------

#: Printed by the subprocess after the recipes: what they produced, as JSON.
REPORT = """
import json
print(json.dumps({
    "sqlalchemy": sa.__version__, "from": sa.__file__, "rows": rows,
    "columns": globals().get("columns"), "rows_2024": globals().get("rows_2024"),
}, default=list))
"""


def test_superset_pins_are_the_ones_installed_for_the_tests():
    pins = recipes()["superset-install"].split("pip install", 1)[1].split()
    installed = (settings.REPO_ROOT / "requirements-bi-sqlalchemy.lock").read_text(encoding="utf-8").splitlines()

    assert pins == ["duckdb==1.5.6", "duckdb-engine==0.17.0"]
    assert set(pins) <= set(installed)
    assert "sqlalchemy==1.4.54" in installed


def test_superset_engine_parameters_are_what_the_sqlalchemy_recipe_passes(root: Path):
    params = json.loads(recipe("superset-engine-params", root))

    assert params == {"connect_args": {"read_only": True}}
    assert 'connect_args={"read_only": True}' in recipe("sqlalchemy-query", root)


@pytest.mark.parametrize("tier", ["serving.duckdb", "restricted/serving.duckdb", f"groups/{CTDI_GROUP}/serving.duckdb"])
def test_sqlalchemy_recipe_queries_and_reflects_with_the_sqlalchemy_superset_ships(root: Path, tier: str):
    assert BI_SQLALCHEMY.is_dir(), f"{BI_SQLALCHEMY} is missing: run make install"
    db = root / "warehouse" / tier
    code = recipe("sqlalchemy-query", root) + recipe("sqlalchemy-reflect", root) + REPORT
    code = code.replace(str(root / "warehouse" / "serving.duckdb"), str(db))

    result = run_python(code, root, pythonpath=BI_SQLALCHEMY)

    assert result.returncode == 0, result.stderr
    done = json.loads(result.stdout.splitlines()[-1])
    assert done["sqlalchemy"] == "1.4.54"
    assert done["from"].startswith(str(BI_SQLALCHEMY))
    expected = query(db, SOE_QUERY)
    assert sorted(map(tuple, done["rows"]), key=lambda row: row[:2]) == sorted(expected, key=lambda row: row[:2])
    assert done["columns"] == [name for (name,) in query(db, "select column_name from (describe marts.soe_innovation)")]
    assert ("disclosure_flag" in done["columns"]) == (tier == "serving.duckdb")
    assert ("withheld_columns" in done["columns"]) == (tier == "serving.duckdb")
    assert sorted(map(tuple, done["rows_2024"])) == sorted((g, rd) for g, period, rd in expected if period == "2024")
    if tier.startswith("groups/"):
        assert {group for group, _, _ in expected} == {CTDI_GROUP}


def test_on_the_venvs_sqlalchemy_2_1_the_query_works_and_reflection_fails_as_the_doc_says(root: Path):
    doc = " ".join(DOC.read_text(encoding="utf-8").split())
    assert REFLECTION_ERROR in doc and "sqlalchemy.exc.ProgrammingError" in doc

    queried = run_python(recipe("sqlalchemy-query", root) + REPORT, root, pythonpath=None)
    reflected = run_python(recipe("sqlalchemy-query", root) + recipe("sqlalchemy-reflect", root) + REPORT, root, None)

    assert queried.returncode == 0, queried.stderr
    done = json.loads(queried.stdout.splitlines()[-1])
    assert done["sqlalchemy"].startswith("2.1.")
    assert len(done["rows"]) == len(query(root / "warehouse" / "serving.duckdb", SOE_QUERY))
    assert reflected.returncode != 0
    assert "sqlalchemy.exc.ProgrammingError" in reflected.stderr
    assert REFLECTION_ERROR in reflected.stderr
    assert "get_columns" in reflected.stderr


# --- Evidence -------------------------------------------------------------------------------------------------


def test_evidence_source_links_the_file_and_its_query_reads_it(root: Path, tmp_path: Path):
    project = tmp_path / "evidence-project"
    project.mkdir()

    linked = run_shell(recipe("evidence-link", root), project)
    source = project / "sources" / "warehouse"
    (source / "connection.yaml").write_text(recipe("evidence-connection", root), encoding="utf-8")
    connection = yaml.safe_load((source / "connection.yaml").read_text(encoding="utf-8"))

    assert linked.returncode == 0, linked.stderr
    assert connection["type"] == "duckdb"
    filename = connection["options"]["filename"]
    assert not Path(filename).is_absolute()  # the connector joins it to the source folder
    assert (source / filename).resolve() == (root / "warehouse" / "serving.duckdb").resolve()
    assert len(query(source / filename, recipe("evidence-query", root))) == len(policy_targets())


def test_evidence_pins_the_duckdb_the_warehouse_writes_with(root: Path):
    overrides = json.loads(recipe("evidence-package-json", root))["overrides"]

    assert overrides["@duckdb/node-api"].startswith(f"{duckdb.__version__}-r.")
