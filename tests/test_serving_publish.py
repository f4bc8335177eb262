"""Publishing serving.duckdb from the build database, and the Parquet exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.assets.serving import _by_period
from serving import publish
from serving.publish import (
    Publication,
    PublishError,
    ShrinkError,
    Subset,
    content_digests,
    digests_of_files,
    export_parquet,
    latest_publication,
    publish_databases,
    publish_serving_database,
    rows_sql,
)
from tests.serving_fixtures import CONTRACT_TABLES, TRACKED, build_marts_db, mart_spec, policy_targets


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def tables_of(db: Path) -> list[str]:
    return [f"{s}.{t}" for s, t in query(db, "select schema_name, table_name from duckdb_tables() order by 1, 2")]


@pytest.fixture
def build_db(tmp_path: Path) -> Path:
    return build_marts_db(tmp_path / "warehouse.duckdb")


def test_publish_copies_every_mart_and_audit_table_and_nothing_else(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"

    published = publish_serving_database(build_db, serving, "run-1")

    assert tables_of(serving) == [*CONTRACT_TABLES, "meta.publications"]
    expected = {t: query(build_db, f"select count(*) from {t}")[0][0] for t in CONTRACT_TABLES}
    assert published["tables"] == expected
    assert published["tables"]["marts.target_tracking"] == len(policy_targets())
    assert {t: query(serving, f"select count(*) from {t}")[0][0] for t in CONTRACT_TABLES} == expected
    assert query(serving, "select * from marts.target_tracking order by target_id") == query(
        build_db, "select * from marts.target_tracking order by target_id"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".serving.duckdb.holds.json", "serving.duckdb", "serving.duckdb.lock", "warehouse.duckdb", "warehouse.duckdb.lock",
    ]


def test_table_and_column_descriptions_are_carried_to_the_serving_database(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")

    contract = mart_spec("dim_region")  # the fixture, like dbt (persist_docs), comments the tables as documented
    assert query(serving, "select comment from duckdb_tables() where table_name = 'dim_region'") == [
        (contract["description"].strip(),)
    ]
    assert query(
        serving, "select column_name, comment from duckdb_columns() where table_name = 'dim_region' order by column_index"
    ) == [(c["name"], c["description"].strip()) for c in contract["columns"]]


def test_every_publication_is_recorded_and_history_is_kept(
    build_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    serving = tmp_path / "serving.duckdb"
    first = publish_serving_database(build_db, serving, "run-1")
    con = duckdb.connect(str(build_db))
    con.execute("delete from marts.target_tracking where status = 'no_data'")
    con.close()

    monkeypatch.setenv("WAREHOUSE_ALLOW_SHRINK", "marts.target_tracking")
    second = publish_serving_database(build_db, serving, "run-2")

    history = query(
        serving,
        """select run_id, count(*), sum(row_count), max(row_count) filter (where table_name = 'target_tracking')
           from meta.publications group by run_id order by min(published_at)""",
    )
    total = sum(first["tables"].values())
    targets, no_data = len(policy_targets()), len(policy_targets()) - len(TRACKED)
    assert history == [
        ("run-1", len(CONTRACT_TABLES), total, targets), ("run-2", len(CONTRACT_TABLES), total - no_data, len(TRACKED)),
    ]
    assert second["published_at"] > first["published_at"]
    (published_at,) = query(serving, "select distinct published_at from meta.publications where run_id = 'run-2'")[0]
    assert published_at.isoformat() == second["published_at"]


def test_a_damaged_serving_database_is_replaced_saying_its_history_is_lost(
    build_db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    with open(serving, "r+b") as damaged:
        damaged.write(os.urandom(16384))  # its header: not a DuckDB file any more

    publish_serving_database(build_db, serving, "run-2")

    assert query(serving, "select distinct run_id from meta.publications") == [("run-2",)]
    assert sorted(tables_of(serving)) == sorted([*CONTRACT_TABLES, "meta.publications"])
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith(f"the current serving database {serving} cannot be read (IO Error: ")
    assert warning.endswith("): it is replaced by a new one, whose publication history starts with this publication")


def test_a_serving_database_held_open_read_write_is_not_replaced_and_who_holds_it_is_said(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    (tmp_path / ".serving.duckdb.holds.json").unlink()  # else the untouched file is copied, held open or not
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(serving)!r}); print('open', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        with pytest.raises(PublishError) as raised:
            publish_serving_database(build_db, serving, "run-2")
    finally:
        holder.kill()
        holder.wait()
    assert str(raised.value).startswith(f"cannot read the publication history of the current serving database {serving} (IO Error: ")
    assert str(raised.value).endswith(": close the program that holds it open read-write (readers open it read-only) and run again")
    assert query(serving, "select distinct run_id from meta.publications") == [("run-1",)]


def test_each_publication_records_the_inputs_it_was_built_from_and_old_histories_carry_over(
    build_db: Path, tmp_path: Path
):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    con = duckdb.connect(str(serving))  # a serving database published before the column existed
    con.execute("alter table meta.publications drop column inputs_sha256")
    con.close()

    published = publish_serving_database(build_db, serving, "run-2", inputs_sha256="ab" * 32)

    assert published["inputs_sha256"] == "ab" * 32
    assert query(serving, "select distinct run_id, inputs_sha256 from meta.publications order by run_id") == [
        ("run-1", None), ("run-2", "ab" * 32),
    ]
    latest = latest_publication(serving)
    assert latest == {
        "run_id": "run-2", "published_at": published["published_at"], "inputs_sha256": "ab" * 32,
        "tables": len(published["tables"]), "rows": sum(published["tables"].values()),
    }
    assert export_parquet(serving, tmp_path / "exports")["inputs_sha256"] == "ab" * 32
    assert latest_publication(tmp_path / "nothing.duckdb") is None


def _shrink(build_db: Path, sql: str) -> None:
    con = duckdb.connect(str(build_db))
    con.execute(sql)
    con.close()


def test_a_mart_losing_more_than_half_its_rows_is_not_published(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    first = publish_serving_database(build_db, serving, "run-1")
    before = serving.read_bytes()
    ratios, targets = first["tables"]["marts.rd_intensity"], first["tables"]["marts.target_tracking"]
    _shrink(build_db, "delete from marts.target_tracking where status = 'no_data'")
    _shrink(build_db, "delete from marts.rd_intensity")

    with pytest.raises(ShrinkError) as raised:
        publish_serving_database(build_db, serving, "run-2")

    assert str(raised.value) == (
        f"not publishing: against the last publication, marts.rd_intensity: {ratios} -> 0 rows; "
        f"marts.target_tracking: {targets} -> {len(TRACKED)} rows. If the inputs really shrank (files withdrawn on purpose), confirm it "
        "by running again with WAREHOUSE_ALLOW_SHRINK=marts.rd_intensity,marts.target_tracking (or =all); "
        "the current serving database is unchanged."
    )
    assert serving.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("serving")) == [
        "serving.duckdb", "serving.duckdb.lock"
    ]


def test_a_shrink_confirmed_by_the_setting_is_published(
    build_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    _shrink(build_db, "delete from marts.rd_intensity")
    monkeypatch.setenv("WAREHOUSE_ALLOW_SHRINK", "marts.target_tracking")  # not the one that shrinks
    with pytest.raises(ShrinkError):
        publish_serving_database(build_db, serving, "run-2")

    monkeypatch.setenv("WAREHOUSE_ALLOW_SHRINK", "all")
    published = publish_serving_database(build_db, serving, "run-3")

    assert published["tables"]["marts.rd_intensity"] == 0


def test_a_mart_losing_less_than_half_is_published(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    first = publish_serving_database(build_db, serving, "run-1")
    targets = first["tables"]["marts.target_tracking"]
    _shrink(build_db, "delete from marts.target_tracking where target_id in ('T01', 'T02', 'T03')")

    published = publish_serving_database(build_db, serving, "run-2")

    assert published["tables"]["marts.target_tracking"] == targets - 3


def test_leftovers_of_an_interrupted_publication_are_removed(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    leftovers = [tmp_path / "serving.duckdb.tmp-999999", tmp_path / "serving.duckdb.tmp-999999.wal"]
    for leftover in leftovers:
        leftover.write_bytes(b"half a database")

    publish_serving_database(build_db, serving, "run-1")

    assert not any(p.exists() for p in leftovers)
    assert query(serving, "select count(*) from marts.target_tracking") == [(len(policy_targets()),)]


def test_serving_database_opens_read_only_in_another_process(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    script = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True);"
        "print(con.execute(\"select latest_value from marts.target_tracking where target_id = 'T22'\").fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", script, str(serving)], capture_output=True, text=True, check=True)
    assert out.stdout == "2.46\n"


HOLD_BUILD_DB_FOR_WRITING = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists marts.busy (i integer)")
print("holding", flush=True)
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    con.execute("insert into marts.busy select range from range(1000)")
    time.sleep(0.01)
"""

BI_READ = """
import sys, duckdb
try:
    duckdb.connect(sys.argv[1], read_only=True)
    print("build database: opened")
except duckdb.IOException:
    print("build database: locked")
con = duckdb.connect(sys.argv[2], read_only=True)
print(con.execute("select count(*) from marts.rd_intensity where region_code = 'CN-CQ'").fetchone()[0])
"""


def test_bi_read_only_connection_works_while_the_build_database_is_being_written(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    writer = subprocess.Popen([sys.executable, "-c", HOLD_BUILD_DB_FOR_WRITING, str(build_db)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "holding\n"
        bi = subprocess.run(
            [sys.executable, "-c", BI_READ, str(build_db), str(serving)], capture_output=True, text=True, timeout=60
        )
    finally:
        writer.kill()
        writer.wait()
    assert bi.returncode == 0, bi.stderr
    # The build database refuses readers while the pipeline writes; the serving database does not.
    assert bi.stdout == "build database: locked\n5\n"


def test_failed_publish_leaves_previous_serving_file_and_no_temporary_file(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    before = serving.read_bytes()
    con = duckdb.connect(str(build_db))
    con.execute("create table staging.scratch as select 1 as x")
    con.execute("create view marts.broken as select * from staging.scratch")
    con.execute("drop table staging.scratch")  # the view now fails when read
    con.close()

    with pytest.raises(duckdb.CatalogException, match="scratch"):
        publish_serving_database(build_db, serving, "run-2")

    assert serving.read_bytes() == before
    assert query(serving, "select distinct run_id from meta.publications") == [("run-1",)]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("serving")) == ["serving.duckdb", "serving.duckdb.lock"]


def test_files_built_at_once_are_all_or_none_when_one_of_them_fails(build_db: Path, tmp_path: Path):
    """The files of a publication are built two at a time: when one fails, the others (built, being built or
    not started) are not swapped in, no temporary file is left, and the error is the failed file's."""
    tables = {"marts.dim_region": "select * from warehouse.marts.dim_region"}
    publications = [Publication(tmp_path / name / "serving.duckdb", tables) for name in ("a", "b", "c", "d")]
    publish_databases(build_db, publications, "run-1")
    before = {p.serving_db: p.serving_db.read_bytes() for p in publications}
    checked: list[Path] = []

    def verify(publication: Publication, new_file: Path) -> None:
        assert new_file.exists()
        checked.append(publication.serving_db)
        if publication.serving_db.parent.name == "c":
            raise PublishError(f"{new_file} does not pass")

    with pytest.raises(PublishError, match=r"c/serving\.duckdb\.tmp-\d+ does not pass"):
        publish_databases(build_db, publications, "run-2", verify=verify)

    assert {p.serving_db for p in publications[:3]} <= set(checked)  # a and b were built before c failed
    assert {p.serving_db: p.serving_db.read_bytes() for p in publications} == before
    assert not list(tmp_path.rglob("*.tmp-*"))


def test_jobs_run_at_once_give_their_results_in_order_and_stop_at_the_first_error():
    started: list[int] = []

    def job(i: int) -> int:
        started.append(i)
        time.sleep(0.05 * (3 - i) if i < 3 else 0)
        if i == 3:
            raise ValueError("job 3 failed")
        return i * 10

    assert publish.in_parallel([lambda i=i: job(i) for i in range(3)], 2) == [0, 10, 20]
    started.clear()
    with pytest.raises(ValueError, match="job 3 failed"):
        publish.in_parallel([lambda i=i: job(i) for i in (3, 0, 1, 2, 4, 5)], 1)
    # one at a time: the worker may have taken the next job before the failure was seen; no other starts
    assert started in ([3], [3, 0])


def test_publish_names_the_missing_build_database(tmp_path: Path):
    missing = tmp_path / "warehouse.duckdb"
    with pytest.raises(PublishError, match=f"build database {missing} does not exist"):
        publish_serving_database(missing, tmp_path / "serving.duckdb", "run-1")
    assert not (tmp_path / "serving.duckdb").exists()


def test_publish_refuses_a_build_database_without_the_published_schemas(tmp_path: Path):
    build = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(build)).execute("create schema marts; create table marts.t as select 1 as x").close()
    with pytest.raises(PublishError, match=f"build database {build} has no tables in schema\\(s\\) audit"):
        publish_serving_database(build, tmp_path / "serving.duckdb", "run-1")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("serving") and not p.name.endswith(".lock")] == []


def test_publish_waits_for_a_writer_holding_the_build_database_lock(build_db: Path, tmp_path: Path):
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from core.warehouse import write_connection
        with write_connection(Path(sys.argv[1])) as con:
            con.execute("create or replace table marts.late as select 42 as answer")
            print("writing", flush=True)
            time.sleep(1.0)
        """
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(build_db)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1]
    )
    assert writer.stdout.readline() == "writing\n"
    started = time.monotonic()
    publish_serving_database(build_db, tmp_path / "serving.duckdb", "run-1")
    waited = time.monotonic() - started
    writer.wait(timeout=30)
    assert waited > 0.5  # it waited for the lock instead of failing on DuckDB's file lock
    assert query(tmp_path / "serving.duckdb", "select answer from marts.late") == [(42,)]


def test_parquet_exports_match_the_serving_tables_row_for_row(build_db: Path, tmp_path: Path):
    serving, exports = tmp_path / "serving.duckdb", tmp_path / "exports"
    published = publish_serving_database(build_db, serving, "run-1")

    manifest = export_parquet(serving, exports)

    files = sorted(str(p.relative_to(exports)) for p in exports.rglob("*") if p.is_file())
    assert files == sorted(["manifest.json", *(t.replace(".", "/") + ".parquet" for t in CONTRACT_TABLES)])
    con = duckdb.connect(str(serving), read_only=True)
    try:
        for table in CONTRACT_TABLES:
            parquet = exports / (table.replace(".", "/") + ".parquet")
            assert con.execute(f"select count(*) from '{parquet}'").fetchone()[0] == published["tables"][table]
            for left, right in ((table, f"'{parquet}'"), (f"'{parquet}'", table)):
                extra = con.execute(f"select count(*) from (select * from {left} except all select * from {right})").fetchone()[0]
                assert extra == 0, f"{table}: {extra} rows of {left} are not in {right}"
    finally:
        con.close()
    assert json.loads((exports / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert manifest["run_id"] == "run-1"
    assert manifest["published_at"] == published["published_at"]
    assert {t: f["row_count"] for t, f in manifest["tables"].items()} == published["tables"]


def test_parquet_export_removes_files_of_tables_that_are_gone(build_db: Path, tmp_path: Path):
    serving, exports = tmp_path / "serving.duckdb", tmp_path / "exports"
    publish_serving_database(build_db, serving, "run-1")
    stale = exports / "marts" / "dropped_mart.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"PAR1")

    export_parquet(serving, exports)

    assert not stale.exists()
    assert not list(exports.rglob("*.tmp-*"))


def _all_rows(db: Path, tables: list[str]) -> dict[str, list[tuple]]:
    return {t: sorted(query(db, f"select * from {t}"), key=repr) for t in tables}


def _edit(build_db: Path, sql: str) -> None:
    con = duckdb.connect(str(build_db))
    con.execute(sql)
    con.close()


def test_a_publication_takes_over_the_tables_that_did_not_change_and_writes_the_others(
    build_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    serving = tmp_path / "serving.duckdb"
    assert publish_serving_database(build_db, serving, "run-1")["taken_over"] == []  # nothing to take over

    _edit(build_db, "update marts.rd_intensity set rd_intensity_pct = rd_intensity_pct + 1")
    _edit(build_db, "comment on column marts.dim_region.name_en is 'English name (edited)'")
    second = publish_serving_database(build_db, serving, "run-2")

    assert second["taken_over"] == sorted(set(CONTRACT_TABLES) - {"marts.rd_intensity", "marts.dim_region"})
    assert _all_rows(serving, list(CONTRACT_TABLES)) == _all_rows(build_db, list(CONTRACT_TABLES))
    assert query(serving, "select comment from duckdb_columns() where table_name = 'dim_region' and column_name = 'name_en'") == [
        ("English name (edited)",)
    ]
    assert query(serving, "select run_id, count(*) from meta.publications group by 1 order by 1") == [
        ("run-1", len(CONTRACT_TABLES)), ("run-2", len(CONTRACT_TABLES)),
    ]
    assert publish_serving_database(build_db, serving, "run-3")["taken_over"] == sorted(CONTRACT_TABLES)

    _edit(build_db, "drop table marts.industrial_va_growth")
    monkeypatch.setenv("WAREHOUSE_ALLOW_SHRINK", "marts.industrial_va_growth")
    publish_serving_database(build_db, serving, "run-4")
    assert "marts.industrial_va_growth" not in tables_of(serving)
    assert _all_rows(serving, [t for t in CONTRACT_TABLES if t != "marts.industrial_va_growth"]) == _all_rows(
        build_db, [t for t in CONTRACT_TABLES if t != "marts.industrial_va_growth"]
    )


def test_a_publication_that_changes_most_rows_writes_a_new_file(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    first = publish_serving_database(build_db, serving, "run-1")
    largest = max(first["tables"], key=first["tables"].get)
    others = sum(rows for table, rows in first["tables"].items() if table != largest)
    _edit(build_db, f"insert into {largest} select t.* from {largest} t, range(10)")  # now most of the rows
    assert 11 * first["tables"][largest] > others

    second = publish_serving_database(build_db, serving, "run-2")

    assert second["taken_over"] == []
    assert _all_rows(serving, list(CONTRACT_TABLES)) == _all_rows(build_db, list(CONTRACT_TABLES))
    assert [r for (r,) in query(serving, "select distinct run_id from meta.publications order by 1")] == ["run-1", "run-2"]


def test_parquet_exports_of_tables_that_did_not_change_are_left_as_they_are(build_db: Path, tmp_path: Path):
    serving, exports = tmp_path / "serving.duckdb", tmp_path / "exports"
    publish_serving_database(build_db, serving, "run-1")
    export_parquet(serving, exports)

    def files() -> dict[str, tuple[int, int]]:
        return {str(p.relative_to(exports)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in exports.rglob("*.parquet")}

    before = files()
    _edit(build_db, "update marts.rd_intensity set rd_intensity_pct = rd_intensity_pct + 1")
    publish_serving_database(build_db, serving, "run-2")
    (exports / "marts" / "dim_region.parquet").write_bytes(b"not what was exported")  # edited by hand
    manifest = export_parquet(serving, exports)

    after = files()
    assert {name for name in before if after[name] != before[name]} == {"marts/rd_intensity.parquet", "marts/dim_region.parquet"}
    assert manifest["run_id"] == "run-2"
    for table in CONTRACT_TABLES:
        entry = manifest["tables"][table]
        assert query(serving, f"select count(*) from {table}")[0][0] == entry["row_count"]
        assert sorted(query(serving, f"select * from read_parquet('{exports / entry['path']}')"), key=repr) == sorted(
            query(serving, f"select * from {table}"), key=repr
        )


def test_a_table_changed_in_the_published_file_is_written_again_not_taken_over(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    _edit(serving, "update marts.rd_intensity set rd_intensity_pct = -1")  # someone wrote into the published file

    second = publish_serving_database(build_db, serving, "run-2")

    assert second["taken_over"] == sorted(set(CONTRACT_TABLES) - {"marts.rd_intensity"})
    assert _all_rows(serving, list(CONTRACT_TABLES)) == _all_rows(build_db, list(CONTRACT_TABLES))
    assert query(serving, "select run_id, count(*) from meta.publications group by 1 order by 1") == [
        ("run-1", len(CONTRACT_TABLES)), ("run-2", len(CONTRACT_TABLES)),
    ]


FACTS = "marts.fct_indicator_values"  # a table with a period column


def test_a_changed_table_with_periods_is_updated_in_the_copy_a_period_at_a_time(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    _edit(build_db, f"update {FACTS} set value = value + 1 where period = '2022'")  # a changed period
    _edit(build_db, f"insert into {FACTS} select * replace ('2024' as period) from {FACTS} where period = '2021'")  # a new one
    _edit(build_db, f"delete from {FACTS} where period = '2021'")  # a period gone

    second = publish_serving_database(build_db, serving, "run-2")

    assert second["updated_by_period"] == {FACTS: 3}
    assert second["taken_over"] == sorted(set(CONTRACT_TABLES) - {FACTS})
    assert _all_rows(serving, list(CONTRACT_TABLES)) == _all_rows(build_db, list(CONTRACT_TABLES))
    third = publish_serving_database(build_db, serving, "run-3")
    assert third["updated_by_period"] == {}
    # what the serving asset's log and metadata say of each
    assert [_by_period(second), _by_period(third)] == [f"{FACTS} (3 periods)", "none updated by period"]


def test_a_table_updated_by_period_takes_the_build_s_descriptions(build_db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    _edit(build_db, f"update {FACTS} set value = value + 1 where period = '2022'")
    _edit(build_db, f"comment on column {FACTS}.value is 'The value (edited)'")

    with caplog.at_level("WARNING", logger=publish.__name__):
        second = publish_serving_database(build_db, serving, "run-2")

    assert second["updated_by_period"] == {FACTS: 1}
    assert "written whole" not in caplog.text
    assert query(serving, "select comment from duckdb_columns() where table_name = 'fct_indicator_values' and column_name = 'value'") == [
        ("The value (edited)",)
    ]


def test_periods_edited_in_the_published_file_are_rewritten_too(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    _edit(serving, f"update {FACTS} set value = -1 where period = '2021'")  # someone wrote into the published file
    _edit(build_db, f"update {FACTS} set value = value + 1 where period = '2022'")

    second = publish_serving_database(build_db, serving, "run-2")

    assert second["updated_by_period"] == {FACTS: 2}
    assert _all_rows(serving, [FACTS]) == _all_rows(build_db, [FACTS])


def test_a_table_whose_columns_changed_is_written_whole(build_db: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    _edit(build_db, f"alter table {FACTS} add column source_note varchar default 'new'")

    second = publish_serving_database(build_db, serving, "run-2")

    assert second["updated_by_period"] == {}
    assert FACTS not in second["taken_over"]
    assert _all_rows(serving, [FACTS]) == _all_rows(build_db, [FACTS])


def test_a_table_updated_by_period_that_does_not_hash_to_the_build_is_written_whole(
    build_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    _edit(build_db, f"update {FACTS} set value = value + 1 where period = '2022'")
    monkeypatch.setattr(publish, "_replace_periods", lambda *args: None)  # an update that misses its rows

    second = publish_serving_database(build_db, serving, "run-2")

    assert second["updated_by_period"] == {}
    assert _all_rows(serving, list(CONTRACT_TABLES)) == _all_rows(build_db, list(CONTRACT_TABLES))


def test_a_publication_takes_what_an_untouched_file_holds_from_its_record_and_hashes_a_touched_one(
    build_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Each publication records what the file holds; the next one hashes none of the published tables while
    the file is the one written (only the period it updated, against the build), all of them once it is not."""
    serving = tmp_path / "serving.duckdb"
    publish_serving_database(build_db, serving, "run-1")
    hashed: list[list[str]] = []
    hash_tables = publish._file_digests
    monkeypatch.setattr(publish, "_file_digests", lambda con, tables: (hashed.append(sorted(tables)) if tables else None) or hash_tables(con, tables))
    queries: list[str] = []
    hash_sums = publish._hash_sums
    monkeypatch.setattr(publish, "_hash_sums", lambda con, query, *args: queries.append(query) or hash_sums(con, query, *args))
    _edit(build_db, f"update {FACTS} set value = value + 1 where period = '2022'")

    second = publish_serving_database(build_db, serving, "run-2")

    assert second["updated_by_period"] == {FACTS: 1}
    assert hashed == []  # no published table hashed whole
    assert [q for q in queries if "warehouse" not in q] == [  # the build's tables aside: the period rewritten
        """select * from "marts"."fct_indicator_values" where ("period" in ('2022'))"""
    ]
    hashed.clear()
    os.utime(serving)  # opened read-write, restored, copied over: the record no longer vouches for it

    third = publish_serving_database(build_db, serving, "run-3")

    assert third["taken_over"] == sorted(CONTRACT_TABLES)
    assert hashed == [sorted(CONTRACT_TABLES)]
    assert _all_rows(serving, list(CONTRACT_TABLES)) == _all_rows(build_db, list(CONTRACT_TABLES))


def test_subsets_of_one_query_are_digested_in_one_pass_as_their_own_queries(
    build_db: Path, monkeypatch: pytest.MonkeyPatch
):
    """A group's extract is a subset of the restricted tier's table: digested from one pass over the query,
    it must hash as if its own query had been evaluated (and as the table it becomes), empty subsets too."""
    facts = f"select * from warehouse.{FACTS}"
    regions = [r[0] for r in query(build_db, f"select distinct region_code from {FACTS} order by 1")]
    files = [{FACTS: facts}] + [{FACTS: Subset(facts, "region_code", r)} for r in [*regions, "XX-none"]]
    con = duckdb.connect()
    con.execute(f"attach '{build_db}' as warehouse (read_only)")
    passes = []
    hash_sums = publish._hash_sums
    monkeypatch.setattr(publish, "_hash_sums", lambda *args: passes.append(args[1]) or hash_sums(*args))

    together = digests_of_files(con, files)

    assert passes == [facts]
    one_by_one = [content_digests(con, {FACTS: rows_sql(f[FACTS])}) for f in files]
    assert together == one_by_one
    assert len({d[FACTS].digest for d in together}) == len(files)  # every subset differs from the others
    assert together[-1][FACTS].rows == 0 and together[-1][FACTS].partitions == {}
    assert sum(d[FACTS].rows for d in together[1:]) == together[0][FACTS].rows


def test_a_subset_published_is_taken_over_or_updated_by_period_like_a_table(build_db: Path, tmp_path: Path):
    facts = f"select * from warehouse.{FACTS}"
    regions = [r[0] for r in query(build_db, f"select region_code from {FACTS} group by 1 order by count(*) desc")][:2]
    publications = [Publication(tmp_path / r / "serving.duckdb", {FACTS: Subset(facts, "region_code", r)}) for r in regions]
    publish_databases(build_db, publications, "run-1")
    for publication, region in zip(publications, regions, strict=True):
        assert query(publication.serving_db, f"select count(*) from {FACTS}") == query(
            build_db, f"select count(*) from {FACTS} where region_code = '{region}'")
    period = query(build_db, f"select period from {FACTS} where region_code = '{regions[0]}' group by 1 order by count(*) limit 1")[0][0]
    _edit(build_db, f"update {FACTS} set value = value + 1 where region_code = '{regions[0]}' and period = '{period}'")

    changed, unchanged = publish_databases(build_db, publications, "run-2")

    assert (changed["updated_by_period"], changed["taken_over"]) == ({FACTS: 1}, [])
    assert (unchanged["updated_by_period"], unchanged["taken_over"]) == ({}, [FACTS])
    assert _all_rows(publications[0].serving_db, [FACTS])[FACTS] == sorted(
        query(build_db, f"select * from {FACTS} where region_code = '{regions[0]}'"), key=repr)


def _exported_files(exports: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(exports).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns) for p in exports.rglob("*.parquet")}


def test_a_table_exported_by_period_writes_one_file_per_period_and_only_the_periods_that_changed(
    build_db: Path, tmp_path: Path
):
    serving, exports = tmp_path / "serving.duckdb", tmp_path / "exports"
    publish_serving_database(build_db, serving, "run-1")
    export_parquet(serving, exports)  # the table as one file, as older code exported it
    periods = [p for (p,) in query(serving, f"select distinct period from {FACTS} order by 1")]
    left = exports / "marts" / "fct_indicator_values.tmp-99999.0" / "period=2021"  # by an export killed mid-way
    left.mkdir(parents=True)
    (left / "data_0.parquet").write_bytes(b"PAR1")

    first = export_parquet(serving, exports, by_period={FACTS})

    folder = "marts/fct_indicator_values"
    assert sorted(f for f in _exported_files(exports) if f.startswith("marts/fct_indicator_values")) == [
        f"{folder}/period_{p}.parquet" for p in periods
    ]
    entry = first["tables"][FACTS]
    assert (entry["path"], entry["by"], [f["period"] for f in entry["files"]]) == (f"{folder}/", "period", periods)
    assert entry["row_count"] == sum(f["row_count"] for f in entry["files"]) == query(serving, f"select count(*) from {FACTS}")[0][0]
    everything = f"read_parquet('{exports / folder}/*.parquet')"
    assert _all_rows(serving, [FACTS])[FACTS] == sorted(query(serving, f"select * from {everything}"), key=repr)
    assert query(serving, f"select distinct typeof(period) from {everything}") == [("VARCHAR",)]  # not a Hive partition
    assert not left.parent.exists()

    before = _exported_files(exports)
    _edit(build_db, f"update {FACTS} set value = value + 1 where period = '2022'")  # a changed period
    _edit(build_db, f"insert into {FACTS} select * replace ('2024' as period) from {FACTS} where period = '2021'")  # a new one
    _edit(build_db, f"delete from {FACTS} where period = '2021'")  # a period gone
    publish_serving_database(build_db, serving, "run-2")
    second = export_parquet(serving, exports, by_period={FACTS})

    after = _exported_files(exports)
    assert {f for f in before.keys() & after.keys() if before[f] != after[f]} == {f"{folder}/period_2022.parquet"}
    assert set(after) - set(before) == {f"{folder}/period_2024.parquet"}
    assert set(before) - set(after) == {f"{folder}/period_2021.parquet"}
    assert _all_rows(serving, [FACTS])[FACTS] == sorted(query(serving, f"select * from {everything}"), key=repr)
    assert second["run_id"] == "run-2"

    (exports / folder / "period_2023.parquet").write_bytes(b"edited by hand")
    publish_serving_database(build_db, serving, "run-3")
    export_parquet(serving, exports, by_period={FACTS})
    assert _all_rows(serving, [FACTS])[FACTS] == sorted(query(serving, f"select * from {everything}"), key=repr)

    export_parquet(serving, exports)  # no longer by period: one file again, the folder removed
    assert not (exports / folder).exists()
    assert sorted(query(serving, f"select * from '{exports / folder}.parquet'"), key=repr) == _all_rows(serving, [FACTS])[FACTS]


def test_periods_are_hashed_when_the_serving_file_is_not_the_one_its_record_describes(
    build_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    serving, exports = tmp_path / "serving.duckdb", tmp_path / "exports"
    publish_serving_database(build_db, serving, "run-1")
    export_parquet(serving, exports, by_period={FACTS})
    _edit(build_db, f"update {FACTS} set value = value + 1 where period = '2022'")
    publish_serving_database(build_db, serving, "run-2")
    os.utime(serving, ns=(0, 0))  # touched since its publication recorded what it holds
    hashed = []
    monkeypatch.setattr(publish, "_file_digests", lambda con, tables, real=publish._file_digests: hashed.extend(tables) or real(con, tables))
    before = _exported_files(exports)

    export_parquet(serving, exports, by_period={FACTS})

    after = _exported_files(exports)
    assert hashed == [FACTS]
    assert {f for f in before if before[f] != after[f]} == {"marts/fct_indicator_values/period_2022.parquet"}
    assert sorted(query(serving, f"select * from '{exports}/marts/fct_indicator_values/*.parquet'"), key=repr) == _all_rows(
        serving, [FACTS]
    )[FACTS]


def test_periods_are_written_in_passes_and_one_at_a_time_when_duckdb_splits_a_period(
    build_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    serving = tmp_path / "serving.duckdb"
    _edit(build_db, f"insert into {FACTS} select t.* from {FACTS} t, range(3000)")  # periods interleaved over many chunks
    publish_serving_database(build_db, serving, "run-1")
    periods = [p for (p,) in query(serving, f"select distinct period from {FACTS} order by 1")]
    assert len(periods) > 2
    monkeypatch.setattr(publish, "PERIODS_PER_PASS", 2)
    with caplog.at_level("WARNING", logger=publish.__name__):
        passes = export_parquet(serving, tmp_path / "passes", by_period={FACTS})
    assert caplog.text == ""  # every period came from a partitioned write

    def one_file_open(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(path), read_only=read_only)
        # DuckDB then closes a period's file to write the next one, and opens another for its next rows
        con.execute("set partitioned_write_max_open_files = 1; set partitioned_write_flush_threshold = 1")
        return con

    monkeypatch.setattr(publish, "connect", one_file_open)
    with caplog.at_level("WARNING", logger=publish.__name__):
        split = export_parquet(serving, tmp_path / "split", by_period={FACTS})

    assert "the partitioned write is not one file per period; written a period at a time" in caplog.text
    for exports, manifest in ((tmp_path / "passes", passes), (tmp_path / "split", split)):
        folder = exports / "marts" / "fct_indicator_values"
        assert sorted(p.name for p in folder.iterdir()) == [f"period_{p}.parquet" for p in periods]
        assert [f["period"] for f in manifest["tables"][FACTS]["files"]] == periods
        assert sorted(query(serving, f"select * from '{folder}/*.parquet'"), key=repr) == _all_rows(serving, [FACTS])[FACTS]
        assert sorted(p.name for p in (exports / "marts").iterdir() if p.is_dir()) == ["fct_indicator_values"]  # no staging left
