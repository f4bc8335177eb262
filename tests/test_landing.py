"""The landing folder is the truth (ingestion/landing.py): one discovery rule for every kind, content
identity, duplicate / withdrawn / restored rows in audit.load_log, a missing folder is an error, impossible
release dates fail their file; and, through one pipeline run, withdrawn files leave the current marts
while their vintages stay marked withdrawn."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from core import settings
from core.warehouse import write_connection
from ingestion.audit import AUDIT_DDL
from ingestion.enterprise.loader import load_submissions
from ingestion.enterprise.readers import FORMATS
from ingestion import landing as landing_module
from ingestion.landing import LandingError, discover, pending, sha256_of
from ingestion.registers.loader import load_registers
from ingestion.registers.schema import FORMATS as REGISTER_FORMATS
from ingestion.releases.formats import release_extensions
from ingestion.releases.loader import LANDING as RELEASES
from ingestion.releases.loader import load_releases
from orchestration import fingerprint
from orchestration.partitions import pending_partitions
from tests.conftest import run_pipeline
from tests.test_enterprise_loader import FIXTURES as ENTERPRISE_FIXTURES
from tests.test_release_loader import FIXTURES as RELEASE_FIXTURES
from tests.test_release_loader import export, put, sidecar

SHIPPED_LANDING = settings.REPO_ROOT / "data" / "landing"


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    (tmp_path / "landing" / "releases").mkdir(parents=True)
    (tmp_path / "landing" / "enterprise").mkdir(parents=True)
    return tmp_path / "landing"


@pytest.fixture
def con(landing: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with write_connection(settings.warehouse_db_path(), setup=AUDIT_DDL) as connection:
        yield connection


def log(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """audit.load_log in order: (source_file, status, note)."""
    return con.execute("select source_file, status, note from audit.load_log order by loaded_at").fetchall()


def load_id_of(con: duckdb.DuckDBPyConnection, source_file: str) -> str:
    return con.execute(
        "select load_id from audit.load_log where source_file = ? and status = 'loaded'", [source_file]
    ).fetchone()[0]


def current(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select source_file, kind from audit.current_loads order by source_file").fetchall()


# ---------------------------------------------------------------- discovery


@pytest.mark.parametrize(("kind", "extensions"), [("releases", release_extensions()), ("enterprise", FORMATS), ("registers", REGISTER_FORMATS)])
def test_hidden_files_and_folders_lock_files_and_other_extensions_are_skipped_in_every_kind(landing, kind, extensions):
    folder = landing / kind
    for relative in ["x/a.csv", "x/~$book.xlsx", "x/.hidden.csv", ".git/b.csv", "x/.cache/c.csv", "x/readme.txt",
                     "x/a.csv.meta.yml", "y/z/d.XLSX"]:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(b"")
    assert discover(landing, kind, extensions) == [folder / "x" / "a.csv", folder / "y" / "z" / "d.XLSX"]


def test_enterprise_lock_file_is_not_loaded(landing, con):
    shutil.copy(ENTERPRISE_FIXTURES / "bulk_2024q2.csv", landing / "enterprise")
    (landing / "enterprise" / "~$template.xlsx").write_bytes(b"locked by Excel")
    summary = load_submissions(con, landing)
    assert [(a.source_file, a.status) for a in summary.attempts] == [("enterprise/bulk_2024q2.csv", "loaded")]


def test_enterprise_file_in_a_subfolder_loads(landing, con):
    (landing / "enterprise" / "2024" / "q2").mkdir(parents=True)
    shutil.copy(ENTERPRISE_FIXTURES / "bulk_2024q2.csv", landing / "enterprise" / "2024" / "q2")
    summary = load_submissions(con, landing)
    assert (summary.files_loaded, summary.rows_loaded) == (1, 20)
    assert log(con) == [("enterprise/2024/q2/bulk_2024q2.csv", "loaded", None)]
    assert current(con) == [("enterprise/2024/q2/bulk_2024q2.csv", "enterprise")]


def test_missing_landing_dir_is_an_error_naming_the_path_and_the_variable(tmp_path, con):
    missing = tmp_path / "nowhere"
    message = f"the landing folder {missing} does not exist: set LANDING_DIR to the folder that holds releases/"
    with pytest.raises(LandingError) as releases_error:
        load_releases(con, missing)
    with pytest.raises(LandingError) as enterprise_error:
        load_submissions(con, missing)
    assert str(releases_error.value) == str(enterprise_error.value) == message
    assert log(con) == []


def test_missing_releases_folder_is_an_error_and_a_missing_enterprise_folder_is_no_files(tmp_path, con):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LandingError) as error:
        load_releases(con, empty)
    assert str(error.value) == (
        f"the landing folder {empty} has no releases/ folder ({empty / 'releases'} does not exist): "
        "set LANDING_DIR to the folder that holds releases/"
    )
    assert load_submissions(con, empty).attempts == []


# ---------------------------------------------------------------- duplicates, withdrawals, restores


def test_duplicate_file_gets_one_row_naming_the_original_and_loads_nothing(landing, con):
    original = put(landing, "nbs/rd.csv", export("重庆市,526.8\r\n"), sidecar())
    load_releases(con, landing)
    put(landing, "copies/rd (1).csv", original.read_bytes(), sidecar())
    summary = load_releases(con, landing)
    load_releases(con, landing)  # a duplicate is recorded once
    note = f"same content as releases/nbs/rd.csv (load {load_id_of(con, 'releases/nbs/rd.csv')}); nothing loaded"
    assert (summary.files_loaded, summary.files_skipped) == (0, 2)
    assert [(e.source_file, e.status, e.note) for e in summary.events] == [("releases/copies/rd (1).csv", "duplicate", note)]
    assert log(con) == [("releases/nbs/rd.csv", "loaded", None), ("releases/copies/rd (1).csv", "duplicate", note)]
    assert con.execute("select count(*) from raw.release_files").fetchone() == (1,)
    assert current(con) == [("releases/nbs/rd.csv", "releases")]


def test_identical_new_files_in_one_run_load_once(landing, con):
    shutil.copy(ENTERPRISE_FIXTURES / "bulk_2024q2.csv", landing / "enterprise" / "a.csv")
    shutil.copy(ENTERPRISE_FIXTURES / "bulk_2024q2.csv", landing / "enterprise" / "b.csv")
    load_submissions(con, landing)
    note = f"same content as enterprise/a.csv (load {load_id_of(con, 'enterprise/a.csv')}); nothing loaded"
    assert log(con) == [("enterprise/a.csv", "loaded", None), ("enterprise/b.csv", "duplicate", note)]
    assert con.execute("select count(*) from raw.enterprise_submissions").fetchone() == (20,)


def test_removed_file_is_withdrawn_once_with_its_load_and_time(landing, con):
    path = put(landing, "nbs/rd.csv", export("重庆市,526.8\r\n"), sidecar())
    load_releases(con, landing)
    load_id = load_id_of(con, "releases/nbs/rd.csv")
    path.unlink()
    summary = load_releases(con, landing)
    load_releases(con, landing)  # withdrawn once
    assert [(e.load_id, e.status, e.note) for e in summary.events] == [(load_id, "withdrawn", "removed from the landing folder")]
    assert con.execute(
        """select w.load_id, w.source_file, w.sha256 = l.sha256, w.sidecar_sha256 = l.sidecar_sha256, w.loaded_at > l.loaded_at
           from audit.load_log w join audit.load_log l using (load_id) where w.status = 'withdrawn' and l.status = 'loaded'"""
    ).fetchall() == [(load_id, "releases/nbs/rd.csv", True, True, True)]
    assert log(con) == [("releases/nbs/rd.csv", "loaded", None), ("releases/nbs/rd.csv", "withdrawn", "removed from the landing folder")]
    assert current(con) == []
    assert con.execute("select count(*) from raw.release_observations").fetchone() == (1,)  # history stays


def test_a_partition_run_loads_only_its_files_and_withdraws_every_removed_file(landing, con):
    """``only`` (a run's partitions) limits what is loaded; withdrawals are of the whole folder."""
    gone = put(landing, "nbs/gone.csv", export("重庆市,1.5\r\n"), sidecar())
    load_releases(con, landing)
    gone.unlink()
    put(landing, "nbs/a.csv", export("重庆市,526.8\r\n"), sidecar())
    put(landing, "nbs/b.csv", export("重庆市,600.1\r\n"), sidecar())
    assert pending(con, landing, RELEASES) == {"releases/nbs/a.csv", "releases/nbs/b.csv", "releases/nbs/gone.csv"}

    summary = load_releases(con, landing, only={"releases/nbs/a.csv"})

    assert [(a.source_file, a.status) for a in summary.attempts] == [("releases/nbs/a.csv", "loaded")]
    assert [(e.source_file, e.status) for e in summary.events] == [("releases/nbs/gone.csv", "withdrawn")]
    assert current(con) == [("releases/nbs/a.csv", "releases")]
    assert pending(con, landing, RELEASES) == {"releases/nbs/b.csv"}


def test_corrected_file_replaces_the_old_load(landing, con):
    path = put(landing, "nbs/rd.csv", export("重庆市,5268\r\n"), sidecar())
    load_releases(con, landing)
    path.write_bytes(export("重庆市,526.8\r\n"))
    summary = load_releases(con, landing)
    assert (summary.files_loaded, [e.status for e in summary.events]) == (1, ["withdrawn"])
    assert log(con) == [
        ("releases/nbs/rd.csv", "loaded", None),
        ("releases/nbs/rd.csv", "withdrawn", "replaced by new content of the same file"),
        ("releases/nbs/rd.csv", "loaded", None),
    ]
    assert con.execute(
        "select o.value_raw from audit.current_loads join raw.release_observations o using (load_id)"
    ).fetchall() == [("526.8",)]


def test_restored_content_makes_its_load_current_again_without_loading(landing, con):
    shutil.copy(ENTERPRISE_FIXTURES / "bulk_2024q2.csv", landing / "enterprise")
    load_submissions(con, landing)
    load_id = load_id_of(con, "enterprise/bulk_2024q2.csv")
    moved = landing.parent / "bulk_2024q2.csv"
    (landing / "enterprise" / "bulk_2024q2.csv").rename(moved)
    load_submissions(con, landing)
    moved.rename(landing / "enterprise" / "bulk_2024q2.csv")
    summary = load_submissions(con, landing)
    load_submissions(con, landing)  # restored once
    assert (summary.files_loaded, [(e.load_id, e.status, e.note) for e in summary.events]) == (
        0, [(load_id, "restored", "back in the landing folder")]
    )
    assert [row[1] for row in log(con)] == ["loaded", "withdrawn", "restored"]
    assert current(con) == [("enterprise/bulk_2024q2.csv", "enterprise")]
    assert con.execute("select count(*) from raw.enterprise_submissions").fetchone() == (20,)


def test_moved_file_keeps_its_load_and_is_a_duplicate_of_it(landing, con):
    path = put(landing, "a/rd.csv", export("重庆市,526.8\r\n"), sidecar())
    load_releases(con, landing)
    put(landing, "b/rd.csv", path.read_bytes(), sidecar())
    path.unlink()
    Path(f"{path}.meta.yml").unlink()
    summary = load_releases(con, landing)
    assert [e.status for e in summary.events] == ["duplicate"]
    assert current(con) == [("releases/a/rd.csv", "releases")]


def test_sha256_of_a_file_larger_than_a_chunk(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    data = bytes(range(256)) * (1 << 15)  # 8 MiB
    (tmp_path / "big.bin").write_bytes(data)
    assert sha256_of(tmp_path / "big.bin") == hashlib.sha256(data).hexdigest()


@pytest.fixture
def digests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files sha256_of reads, in order; files count as settled as soon as they are written."""
    read: list[str] = []
    file_digest = hashlib.file_digest
    monkeypatch.setattr(landing_module, "_DIGESTS", type(landing_module._DIGESTS)())
    monkeypatch.setattr(landing_module, "_SETTLED_NS", 0)
    monkeypatch.setattr(hashlib, "file_digest", lambda handle, name: read.append(Path(handle.name).name) or file_digest(handle, name))
    return read


def test_a_run_reads_each_landing_file_once_for_the_fingerprint_the_partitions_and_the_ingest_scan(landing, digests):
    put(landing, "rd.csv", export("重庆市,526.8\r\n"), sidecar())
    fingerprint.compute(landing)
    pending_partitions(settings.warehouse_db_path(), landing)
    RELEASES.scan(landing)
    assert sorted(name for name in digests if name.startswith("rd.csv")) == ["rd.csv", "rd.csv.meta.yml"]


def test_a_file_rewritten_with_the_same_size_and_modification_time_is_read_again(tmp_path, digests):
    path = tmp_path / "rd.csv"
    path.write_text("2022,1.0\n")
    first = sha256_of(path)
    mtime = path.stat().st_mtime_ns
    time.sleep(0.05)  # the next write in a later tick of the kernel's clock
    path.write_text("2022,2.0\n")
    os.utime(path, ns=(mtime, mtime))  # what `cp -p` or an unpacked archive may do
    assert sha256_of(path) == hashlib.sha256(b"2022,2.0\n").hexdigest() != first
    assert digests == ["rd.csv", "rd.csv"]


def test_a_file_written_moments_ago_is_not_remembered(tmp_path, digests, monkeypatch):
    monkeypatch.setattr(landing_module, "_SETTLED_NS", 3_600 * 10**9)
    (tmp_path / "rd.csv").write_text("2022,1.0\n")
    sha256_of(tmp_path / "rd.csv")
    sha256_of(tmp_path / "rd.csv")
    assert digests == ["rd.csv", "rd.csv"]


def _large_file(path: Path, fill: bytes = b"1") -> bytes:
    data = fill * landing_module.STORED_MIN_BYTES
    path.write_bytes(data)
    return data


def _next_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what this process remembers, as a new process would."""
    monkeypatch.setattr(landing_module, "_DIGESTS", type(landing_module._DIGESTS)())


def test_the_next_process_does_not_read_a_large_unchanged_file_again(landing, digests, monkeypatch):
    settings.warehouse_dir().mkdir(parents=True)
    data = _large_file(landing / "enterprise" / "history.parquet")
    small = landing / "enterprise" / "q1.csv"
    small.write_text("uscc,period\n")
    for _ in range(2):
        _next_process(monkeypatch)
        assert sha256_of(landing / "enterprise" / "history.parquet") == hashlib.sha256(data).hexdigest()
        sha256_of(small)
    assert digests == ["history.parquet", "q1.csv", "q1.csv"]  # a small file is read again: no record kept
    assert (settings.warehouse_dir() / landing_module.STORED_DIGESTS).is_file()


def test_a_large_file_rewritten_with_the_same_size_and_modification_time_is_read_again_by_the_next_process(
    landing, digests, monkeypatch
):
    settings.warehouse_dir().mkdir(parents=True)
    path = landing / "enterprise" / "history.parquet"
    _large_file(path)
    sha256_of(path)
    mtime = path.stat().st_mtime_ns
    time.sleep(0.05)
    data = _large_file(path, b"2")
    os.utime(path, ns=(mtime, mtime))
    _next_process(monkeypatch)
    assert sha256_of(path) == hashlib.sha256(data).hexdigest()
    assert digests == ["history.parquet", "history.parquet"]


def test_the_record_of_digests_is_a_cache(landing, digests, monkeypatch):
    """A record that cannot be read is read as empty and written again; the entries of removed files go at the
    next write; without a warehouse folder nothing is kept."""
    store = settings.warehouse_dir() / landing_module.STORED_DIGESTS
    gone, kept = landing / "enterprise" / "old.parquet", landing / "enterprise" / "history.parquet"
    _large_file(gone)
    settings.warehouse_dir().mkdir(parents=True)
    sha256_of(gone)
    gone.unlink()
    store.write_text("{not json", encoding="utf-8")
    _large_file(kept)
    _next_process(monkeypatch)
    sha256_of(kept)
    assert [entry[0] for entry in json.loads(store.read_text(encoding="utf-8"))["digests"]] == [str(kept)]
    _large_file(gone)
    sha256_of(gone)
    assert sorted(entry[0] for entry in json.loads(store.read_text(encoding="utf-8"))["digests"]) == sorted([str(gone), str(kept)])

    monkeypatch.setenv("WAREHOUSE_DIR", str(landing.parent / "no such folder"))
    _next_process(monkeypatch)
    sha256_of(kept)
    sha256_of(kept)
    assert digests == ["old.parquet", "history.parquet", "old.parquet", "history.parquet"]
    assert not (landing.parent / "no such folder").exists()


def test_audit_tables_of_older_code_upgrade_and_their_loads_are_recognized(landing):
    """The audit columns and view of this design are added to a build database made without them. (A raw
    release table harmonized at load time is refused instead: see test_release_loader.)"""
    shutil.copy(ENTERPRISE_FIXTURES / "bulk_2024q2.csv", landing / "enterprise")
    with write_connection(settings.warehouse_db_path(), setup=AUDIT_DDL) as old:
        load_submissions(old, landing)
        old.execute("drop view audit.current_loads")  # what the build database of older code lacks
        for table, column in [("load_log", "kind"), ("load_log", "sidecar_sha256"), ("load_log", "note"), ("quarantine", "stage")]:
            old.execute(f"alter table audit.{table} drop column {column}")
    with write_connection(settings.warehouse_db_path(), setup=AUDIT_DDL) as upgraded:
        submissions = load_submissions(upgraded, landing)
        assert (submissions.attempts, submissions.events) == ([], [])
        assert current(upgraded) == [("enterprise/bulk_2024q2.csv", "enterprise")]
        assert upgraded.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = 'audit' and table_name <> 'current_loads'"
            " and column_name in ('kind', 'sidecar_sha256', 'note', 'stage') order by all"
        ).fetchall() == [("load_log", "kind"), ("load_log", "note"), ("load_log", "sidecar_sha256"), ("quarantine", "stage")]


# ---------------------------------------------------------------- impossible release dates


def test_each_impossible_release_date_fails_exactly_its_file_and_the_others_load(landing, con):
    put(landing, "good/rd_2020.csv", export("重庆市,526.8\r\n"), sidecar(release_date="2021-09-22"))
    future = sidecar(release_date="2099-01-01").replace("retrieved: 2026-11-20", "retrieved: 2099-01-02")
    put(landing, "bad/future.csv", export("北京市,2326.6\r\n"), future)
    put(landing, "bad/before_year_end.csv", export("天津市,485.0\r\n"), sidecar(release_date="2020-06-30"))
    put(landing, "bad/before_quarter_end.json", (RELEASE_FIXTURES / "easyquery_quarters_and_months.json").read_bytes(),
        sidecar("nbs_easyquery_json", "2022-09-15"))
    summary = load_releases(con, landing)
    today = date.today()
    assert sorted((a.source_file, a.status, a.error) for a in summary.attempts) == [
        ("releases/bad/before_quarter_end.json", "failed",
         "releases/bad/before_quarter_end.json: release_date 2022-09-15 is before the end of period 2022Q3 (2022-09-30) "
         "reported in row 3"),
        ("releases/bad/before_year_end.csv", "failed",
         "releases/bad/before_year_end.csv: release_date 2020-06-30 is before the end of period 2020 (2020-12-31) "
         "reported in row 5"),
        ("releases/bad/future.csv", "failed", f"releases/bad/future.csv: release_date 2099-01-01 is after the day of loading ({today})"),
        ("releases/good/rd_2020.csv", "loaded", None),
    ]
    assert con.execute("select source_file from raw.release_files").fetchall() == [("releases/good/rd_2020.csv",)]
    assert con.execute("select region_raw from raw.release_observations").fetchall() == [("重庆市",)]
    assert con.execute("select count(*) from audit.quarantine").fetchone() == (0,)


def test_periods_without_a_figure_or_that_cannot_be_parsed_are_left_to_the_mapping_step(landing, con):
    sdmx = (
        "REF_AREA,INDICATOR,UNIT_MEASURE,UNIT_MULT,TIME_PERIOD,OBS_VALUE\n"
        "CN,rd_expenditure,CNY,8,2020,24393.1\n"
        "CN,rd_expenditure,CNY,8,2021,\n"
        "CN,rd_expenditure,CNY,8,2021年1-9月,20000\n"
    )
    put(landing, "sdmx/s.csv", sdmx.encode(), sidecar("sdmx_csv", "2021-03-01"))
    (attempt,) = load_releases(con, landing).attempts
    assert (attempt.status, attempt.error) == ("loaded", None)


# ---------------------------------------------------------------- through the pipeline (dbt)


@pytest.fixture(scope="module")
def withdrawn_run(tmp_path_factory: pytest.TempPathFactory):
    """The shipped landing data loaded, then one release, one enterprise resubmission and one register
    resubmission removed, and one pipeline run."""
    root = tmp_path_factory.mktemp("withdrawal")
    landing = root / "landing"
    shutil.copytree(SHIPPED_LANDING, landing)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LANDING_DIR", str(landing))
        mp.setenv("WAREHOUSE_DIR", str(root / "warehouse"))
        with write_connection(settings.warehouse_db_path(), setup=AUDIT_DDL) as con:
            load_releases(con, landing)
            load_submissions(con, landing)
            load_registers(con, landing)
        for name in ("releases/sdmx/cn_2021_rd_final.csv", "releases/sdmx/cn_2021_rd_final.csv.meta.yml",
                     "enterprise/synthetic_2024_resubmission_utf8_bom.csv", "registers/synthetic_2025_resubmission_utf8.csv"):
            (landing / name).unlink()
        result = run_pipeline()
    con = duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True)
    yield result, con
    con.close()


def test_removed_release_is_withdrawn_and_leaves_the_current_marts_while_its_vintages_stay(withdrawn_run):
    result, con = withdrawn_run
    assert result.success
    assert con.execute(
        "select source_file, status, note from audit.load_log where status = 'withdrawn' order by source_file"
    ).fetchall() == [
        ("enterprise/synthetic_2024_resubmission_utf8_bom.csv", "withdrawn", "removed from the landing folder"),
        ("registers/synthetic_2025_resubmission_utf8.csv", "withdrawn", "removed from the landing folder"),
        ("releases/sdmx/cn_2021_rd_final.csv", "withdrawn", "removed from the landing folder"),
    ]
    assert con.execute(
        "select source_file, value, release_date::varchar, is_withdrawn, is_latest_vintage from marts.fct_indicator_vintages"
        " where region_code = 'CN' and indicator_code = 'rd_expenditure' and period = '2021' order by release_date"
    ).fetchall() == [
        ("releases/sdmx/cn_2021_preliminary.csv", 27864.0, "2022-02-28", False, True),
        ("releases/sdmx/cn_2021_rd_final.csv", 27956.3, "2022-08-31", True, False),
    ]
    assert con.execute(
        "select value, source_file from marts.fct_indicator_values"
        " where region_code = 'CN' and indicator_code = 'rd_expenditure' and period = '2021'"
    ).fetchall() == [(27864.0, "releases/sdmx/cn_2021_preliminary.csv")]
    for mart in ("fct_indicator_values", "indicator_series"):
        assert con.execute(
            f"select count(*) from marts.{mart} where source_file = 'releases/sdmx/cn_2021_rd_final.csv'"
        ).fetchone() == (0,)
    assert con.execute(
        "select count(*) from marts.fct_indicator_vintages where source_file = 'releases/sdmx/cn_2021_rd_final.csv'"
        " and is_withdrawn and not is_latest_vintage"
    ).fetchone()[0] > 0


def test_withdrawn_resubmission_makes_the_previous_submission_current_and_stays_in_the_history(withdrawn_run):
    _, con = withdrawn_run
    assert con.execute(
        """select source_file, is_withdrawn, is_current, count(*) from intermediate.int_enterprise_submissions_versioned
           where (uscc, period) in (select uscc, period from raw.enterprise_submissions
                                    where source_file = 'enterprise/synthetic_2024_resubmission_utf8_bom.csv')
           group by all order by all"""
    ).fetchall() == [
        ("enterprise/synthetic_2024_annual_template.xlsx", False, True, 14),
        ("enterprise/synthetic_2024_resubmission_utf8_bom.csv", True, False, 14),
    ]
    assert con.execute(
        """select count(*) from intermediate.int_enterprise_submissions_current
           where source_file = 'enterprise/synthetic_2024_resubmission_utf8_bom.csv'"""
    ).fetchone() == (0,)


def test_withdrawn_register_resubmission_makes_the_first_versions_current_and_their_revocations_leave(withdrawn_run):
    _, con = withdrawn_run
    assert con.execute(
        """select source_file, is_withdrawn, is_current, count(*), count(revoked_on)
           from intermediate.int_recognitions_versioned
           where record_id in (select record_id from raw.register_records
                               where source_file = 'registers/synthetic_2025_resubmission_utf8.csv')
           group by all order by all"""
    ).fetchall() == [
        ("registers/synthetic_2021_2025_register_gb18030.csv", False, True, 10, 0),
        ("registers/synthetic_2025_resubmission_utf8.csv", True, False, 10, 9),
    ]


def test_a_run_without_its_landing_folder_fails_at_ingestion_with_the_message(tmp_path, monkeypatch):
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    result = run_pipeline()
    message = f"the landing folder {tmp_path / 'nowhere'} does not exist: set LANDING_DIR to the folder that holds releases/"
    assert not result.success
    assert result.errors == [message] and result.runs == []  # nothing ingested, built or published
    assert not (tmp_path / "warehouse" / "serving.duckdb").exists()
