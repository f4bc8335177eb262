"""The published tiers of a pipeline run on the shipped data: what the public may see, what the
restricted tier and each group's extract hold, and the gate that refuses a public file that discloses."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import duckdb
import pytest

from core import settings
from serving import tiers
from serving.disclosure import ALL, DisclosureError, DisclosureRules
from serving.tiers import check_public_file, group_folder, publish_tiers
from tests.conftest import PipelineRun
from tests.serving_fixtures import CTDI_GROUP, OTHER_GROUP, build_tiered_warehouse
from tests.test_disclosure import attacker
from tests.test_serving_publish import query as rows
from tests.test_serving_publish import tables_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def restricted_db(pipeline: PipelineRun) -> Path:
    assert pipeline.success
    return pipeline.warehouse_dir / "restricted" / "serving.duckdb"


@pytest.fixture(scope="module")
def identifiers(restricted_db: Path) -> set[str]:
    found = rows(restricted_db, """select uscc from marts.fct_enterprise_submissions union select enterprise_name
        from marts.fct_enterprise_submissions union select uscc from marts.fct_enterprise_submission_history""")
    return {value for (value,) in found}


def test_no_public_table_or_parquet_file_holds_an_enterprise_identifier(
    pipeline: PipelineRun, identifiers: set[str]
):
    assert len(identifiers) > 100
    public = pipeline.serving_db
    con = duckdb.connect()
    try:
        sources = [f"public.{t}" for t in tables_of(public)]
        con.execute(f"attach '{public}' as public (read_only)")
        parquet = sorted((pipeline.warehouse_dir / "exports").rglob("*.parquet"))
        assert parquet
        sources += [f"read_parquet('{p}')" for p in parquet]
        leaks = []
        for source in sources:
            for column, kind in con.execute(f"select column_name, column_type from (describe select * from {source})").fetchall():
                if kind != "VARCHAR":
                    continue
                values = {v for (v,) in con.execute(f'select distinct "{column}" from {source} where "{column}" is not null').fetchall()}
                leaks += [f"{source}.{column}: {v}" for v in values if v in identifiers or any(i in v for i in identifiers if len(i) == 18)]
    finally:
        con.close()
    assert leaks == []


def test_the_public_tier_has_no_enterprise_level_table_and_no_raw_enterprise_record(pipeline: PipelineRun):
    public = tables_of(pipeline.serving_db)
    assert not set(public) & tiers.ENTERPRISE_TABLES
    assert "marts.soe_innovation" in public and "marts.target_tracking" in public
    kinds = rows(pipeline.serving_db, """select distinct l.kind from audit.quarantine q
        join audit.load_log l using (load_id)""")
    assert kinds in ([], [(tiers.RELEASES_KIND,)])
    exported = {p.stem for p in (pipeline.warehouse_dir / "exports" / "marts").glob("*.parquet")}
    assert not exported & {t.split(".")[1] for t in tiers.ENTERPRISE_TABLES}


def test_every_public_cell_passes_the_rules_and_no_suppressed_cell_is_recomputable(pipeline: PipelineRun):
    assert check_public_file(pipeline.serving_db, pipeline.build_db, DisclosureRules.from_settings()) == []


def test_an_attacker_recovers_no_withheld_amount_from_the_public_soe_innovation(
    pipeline: PipelineRun, restricted_db: Path
):
    for measure in ("rd_expenditure_10k_yuan", "revenue_10k_yuan", "invention_patents_granted"):
        truth = {(g, p): v for g, p, v in rows(restricted_db, f"select group_name, period, {measure} from marts.soe_innovation")}
        public = {(g, p): v for g, p, v in rows(pipeline.serving_db, f"select group_name, period, {measure} from marts.soe_innovation")}
        assert set(truth) == set(public)
        recovered = attacker(public, {c: v or 0 for c, v in truth.items()})
        assert recovered == {}, measure


def test_withheld_values_are_flagged_c_and_named(pipeline: PipelineRun):
    flagged = rows(pipeline.serving_db, """select group_name, period, withheld_columns, sei_output_share_pct
        from marts.soe_innovation where disclosure_flag = 'c'""")
    assert flagged, "the shipped data has dominated cells: some must be withheld"
    for _, _, withheld, sei_share in flagged:
        assert withheld
        if "sei_output_share_pct" in withheld:
            assert sei_share is None
    assert rows(pipeline.serving_db, "select count(*) from marts.soe_innovation where disclosure_flag is null and withheld_columns is not null") == [(0,)]


def test_the_restricted_tier_holds_every_valid_submission(pipeline: PipelineRun, restricted_db: Path):
    (accepted,) = rows(pipeline.build_db, "select count(*) from intermediate.int_enterprise_submissions_accepted")[0]
    (current,) = rows(restricted_db, "select count(*) from marts.fct_enterprise_submissions")[0]
    (history,) = rows(restricted_db, "select count(*) from marts.fct_enterprise_submission_history")[0]
    assert current + history == accepted
    assert {"marts.dim_enterprise", "audit.quarantine", tiers.DECISIONS_TABLE} <= set(tables_of(restricted_db))
    enterprise_rows = rows(restricted_db, """select count(*) from audit.quarantine q join audit.load_log l using (load_id)
        where l.kind = 'enterprise'""")
    assert enterprise_rows[0][0] > 0


def test_each_group_extract_holds_exactly_its_enterprises(pipeline: PipelineRun, restricted_db: Path):
    groups = [g for (g,) in rows(restricted_db, "select distinct group_name from marts.fct_enterprise_submissions order by 1")]
    folders = sorted(p.name for p in (pipeline.warehouse_dir / "groups").iterdir())
    assert folders == sorted(group_folder(g) for g in groups)
    for group in groups:
        extract = pipeline.warehouse_dir / "groups" / group_folder(group) / "serving.duckdb"
        own = set(rows(restricted_db, f"select uscc, period from marts.fct_enterprise_submissions where group_name = '{group}'"))
        assert set(rows(extract, "select uscc, period from marts.fct_enterprise_submissions")) == own
        for table in tables_of(extract):
            if table.startswith("meta."):
                continue
            others = rows(extract, f"select distinct group_name from {table} where group_name is distinct from '{group}'")
            assert others == [], (group, table)
        assert ALL not in {g for (g,) in rows(extract, "select group_name from marts.soe_innovation")}


def test_file_modes_say_who_may_read_each_tier(pipeline: PipelineRun, restricted_db: Path):
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(pipeline.serving_db) == 0o644
    assert mode(restricted_db) == 0o640
    assert mode(restricted_db.parent) == 0o750
    assert {mode(p) for p in (restricted_db.parent / "exports").rglob("*.parquet")} == {0o640}
    assert {mode(p) for p in (pipeline.warehouse_dir / "groups").rglob("serving.duckdb")} == {0o640}


def test_the_indicator_report_shows_no_withheld_figure(pipeline: PipelineRun):
    html = (pipeline.warehouse_dir / "reports" / "indicators.html").read_text(encoding="utf-8")
    confidential = rows(pipeline.serving_db, "select target_id from marts.target_tracking where status = 'confidential'")
    for (target_id,) in confidential:
        assert f'data-target="{target_id}" data-status="confidential"' in html


def test_publishing_refuses_a_public_tier_that_would_disclose(pipeline: PipelineRun, tmp_path: Path, monkeypatch):
    """A mistake in the tier definitions (the enterprise dimension put in the public tier) stops the
    publication with the tables named, and leaves every published file as it was."""
    warehouse = tmp_path / "warehouse"
    shutil.copytree(pipeline.warehouse_dir, warehouse, ignore=shutil.ignore_patterns("dagster_home", "gx", "reports"))
    monkeypatch.setenv("WAREHOUSE_DIR", str(warehouse))
    before = {p: p.stat().st_mtime_ns for p in warehouse.rglob("serving.duckdb")}
    original = tiers.plan_tiers

    def leaky(con, relations):
        planned = original(con, relations)
        public = planned[-1]
        leaked = dict(public.tables) | {"marts.dim_enterprise": "select * from warehouse.marts.dim_enterprise"}
        return [*planned[:-1], tiers.Tier(public.name, public.serving_db, public.exports_dir, public.file_mode, leaked)]

    monkeypatch.setattr(tiers, "plan_tiers", leaky)
    with pytest.raises(DisclosureError, match=r"marts\.dim_enterprise\.(uscc|enterprise_name) holds"):
        publish_tiers(settings.warehouse_db_path(), "leaky-run")
    assert {p: p.stat().st_mtime_ns for p in warehouse.rglob("serving.duckdb")} == before
    assert not list(warehouse.rglob("*.tmp-*"))


def test_a_restricted_or_group_file_whose_tables_did_not_change_is_left_as_it_is(tmp_path: Path, monkeypatch):
    """A publication rewrites the public file every time (its latest publication tells `make run` what was
    built from what), and the restricted file and a group's extract only when their tables changed: a change
    to one group's figures leaves the other groups' files, their history and their readers' inodes alone."""
    warehouse = build_tiered_warehouse(tmp_path / "warehouse", "run-1")
    monkeypatch.setenv("WAREHOUSE_DIR", str(warehouse))
    build = warehouse / "warehouse.duckdb"
    group_db = {g: warehouse / "groups" / group_folder(g) / "serving.duckdb" for g in (CTDI_GROUP, OTHER_GROUP)}
    public, restricted = warehouse / "serving.duckdb", warehouse / "restricted" / "serving.duckdb"
    inode = {path: path.stat().st_ino for path in [public, restricted, *group_db.values()]}
    con = duckdb.connect(str(build))
    con.execute("update marts.fct_enterprise_submissions set rd_expenditure_10k_yuan = rd_expenditure_10k_yuan + 1 where group_name = ?", [OTHER_GROUP])
    con.close()

    published = publish_tiers(build, "run-2", DisclosureRules())

    assert {path for path in inode if path.stat().st_ino != inode[path]} == {public, restricted, group_db[OTHER_GROUP]}
    result = published[f"group {CTDI_GROUP}"]
    assert (result["unchanged"], result["run_id"], result["taken_over"]) == (True, "run-1", sorted(result["tables"]))
    assert rows(group_db[CTDI_GROUP], "select distinct run_id from meta.publications") == [("run-1",)]
    assert not published[f"group {OTHER_GROUP}"]["unchanged"] and published[f"group {OTHER_GROUP}"]["run_id"] == "run-2"
    assert rows(public, "select distinct run_id from meta.publications order by run_id") == [("run-1",), ("run-2",)]
    assert not published["public"]["unchanged"]

    # a file written into since its publication is published again, whatever its tables hold
    con = duckdb.connect(str(group_db[CTDI_GROUP]))
    con.execute("create table main.scribble as select 1 as x")
    con.close()
    published = publish_tiers(build, "run-3", DisclosureRules())
    assert not published[f"group {CTDI_GROUP}"]["unchanged"]
    assert "main.scribble" not in tables_of(group_db[CTDI_GROUP])
    assert published[f"group {OTHER_GROUP}"]["unchanged"] and published["restricted"]["unchanged"]
    assert rows(restricted, "select distinct run_id from meta.publications order by run_id") == [("run-1",), ("run-2",)]


def test_the_gate_finds_every_kind_of_identifier_in_any_text_column(tmp_path: Path):
    """The gate's lookup of the public file's texts: a current name, a USCC inside a longer text (of an
    enterprise with earlier submissions only), in VARCHAR and JSON columns; public texts alone pass."""
    build_db, public_db = tmp_path / "warehouse.duckdb", tmp_path / "public.duckdb"
    with duckdb.connect(str(build_db)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.dim_enterprise as select * from (values "
                    "('91500000MA5U000001', 'Chongqing Alpha Machinery Co., Ltd.')) t(uscc, enterprise_name)")
        con.execute("create table marts.fct_enterprise_submission_history as select * from (values "
                    "('91500000MA5U000001', 'Alpha Machinery'), ('91500000MA5U000002', 'Beta Optics')) t(uscc, enterprise_name)")
    with duckdb.connect(str(public_db)) as con:
        con.execute("create schema marts")
        con.execute("""create table marts.notes as select * from (values
            ('Chongqing Alpha Machinery Co., Ltd.', '{"see": "none"}'),
            ('Changan group', '{"source": "filed by 91500000MA5U000002 in 2023"}'),
            ('Beta', null)) t(label, details)""")
        con.execute("alter table marts.notes alter details type json")
        con.execute("create table marts.clean as select 'Chongqing' as region, 'Alpha' as word")
    problems = check_public_file(public_db, build_db, DisclosureRules.from_settings())
    assert problems == [
        "marts.notes.details holds 1 enterprise identifiers (e.g. '{\"source\": \"filed by 91500000MA5U000002 in 2023\"}')",
        "marts.notes.label holds 1 enterprise identifiers (e.g. 'Chongqing Alpha Machinery Co., Ltd.')",
    ]
    with duckdb.connect(str(public_db)) as con:
        con.execute("drop table marts.notes")
    assert check_public_file(public_db, build_db, DisclosureRules.from_settings()) == []


def test_no_report_quotes_an_enterprise_identifier(pipeline: PipelineRun, identifiers: set[str]):
    """The reports sit beside the public tier: the quality report points to the restricted tier for the
    quarantined enterprise rows instead of quoting them, and the indicator report shows aggregates only."""
    pages = sorted((pipeline.warehouse_dir / "reports").rglob("*.html"))
    assert any(p.name == "indicators.html" for p in pages) and any(p.parent.name == "quality" for p in pages)
    quoted = {
        str(page.relative_to(pipeline.warehouse_dir)): found
        for page in pages
        if (found := sorted(i for i in identifiers if i in page.read_text(encoding="utf-8", errors="replace"))[:3])
    }
    assert quoted == {}
