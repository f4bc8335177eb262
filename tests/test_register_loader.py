"""The recognitions register loader (format 6): xlsx template and csv with Chinese or English headers in
every encoding, each row rule failing exactly its row, duplicates, whole-file failures, resubmission and
withdrawal at the raw level, and the kind checked against the current seed by the mapping step."""

from __future__ import annotations

import codecs
import json
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from core import settings, warehouse
from ingestion.registers import schema
from ingestion.registers.dates import DateError, parse_date
from ingestion.registers.loader import load_registers
from ingestion.registers.mapping import map_registers

FIXTURES = Path(__file__).parent / "fixtures" / "registers"
HEADERS_EN = [c.name for c in schema.columns()]
HEADERS_ZH = [c.header_zh for c in schema.columns()]

#: A valid row (fictional holder of the samples), as text.
VALID = {
    "record_id": "R-0001",
    "uscc": "9150010641Y1ELYEEX",
    "holder_name": "渝例国028有限公司",
    "group_name": "山城交通建设投资集团",
    "kind": "white_list_platform",
    "title": "白名单平台（示例）",
    "recognized_by": "重庆市科学技术局",
    "recognized_on": "2024-06-30",
    "reference": "渝示〔2024〕1号",
    "revoked_on": "",
}
OTHER_USCC = "91500113JDNUN8FRDM"  # also valid


def row(**changes: str) -> dict[str, str]:
    return {**VALID, **changes}


def write_csv(path: Path, rows: list[dict[str, str]], *, headers: list[str] = HEADERS_EN, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = dict(zip(HEADERS_EN, headers, strict=True))
    lines = [",".join(headers)] + [",".join(r.get(c, "") for c in names) for r in rows]
    data = ("\n".join(lines) + "\n").encode(encoding.removesuffix("-sig"))
    path.write_bytes((codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"") + data)
    return path


def write_xlsx(path: Path, rows: list[dict[str, object]], *, sheet: str = schema.TEMPLATE_SHEET) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    worksheet = workbook.add_worksheet(sheet)
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    worksheet.write_row(0, 0, ["2024年认定与成果登记表（测试）"])
    worksheet.write_row(1, 0, HEADERS_ZH)
    for index, values in enumerate(rows, start=2):
        for column, name in enumerate(HEADERS_EN):
            value = values.get(name)
            if isinstance(value, date):
                worksheet.write_datetime(index, column, datetime(value.year, value.month, value.day), date_format)
            elif value not in (None, ""):
                worksheet.write_string(index, column, str(value))
    workbook.close()
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    (tmp_path / "landing" / "registers").mkdir(parents=True)
    return tmp_path / "landing"


@pytest.fixture
def con(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    connection = warehouse.connect(tmp_path / "warehouse" / "warehouse.duckdb")
    yield connection
    connection.close()


def loaded(con: duckdb.DuckDBPyConnection, columns: str = "record_id") -> list[tuple]:
    return con.execute(f"select {columns} from raw.register_records order by source_file, row_number").fetchall()


def reasons(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select row_number, reason from audit.quarantine order by source_file, row_number").fetchall()


# ---------- the shapes


def test_sample_template_and_bulk_csv_load_with_excel_rows_and_the_bad_date_quarantined(landing: Path, con):
    for name in ("register_2023_2024_template.xlsx", "register_2024_bulk.csv"):
        shutil.copy(FIXTURES / name, landing / "registers")
    summary = load_registers(con, landing)
    assert (summary.files_loaded, summary.rows_loaded, summary.rows_quarantined) == (2, 59, 1)
    files = con.execute(
        "select source_file, format, encoding, header_language, rows_read, rows_loaded from raw.register_files order by 1"
    ).fetchall()
    assert files == [
        ("registers/register_2023_2024_template.xlsx", "register_xlsx", None, "zh", 40, 40),
        ("registers/register_2024_bulk.csv", "register_csv", "utf-8", "en", 20, 19),
    ]
    first = con.execute(
        """select row_number, record_id, kind, recognized_on_text, recognized_on from raw.register_records
           where source_file like '%.xlsx' order by row_number limit 3"""
    ).fetchall()
    assert first == [  # title in row 1, headers in row 2; each of the three date spellings
        (3, "DEV23-0000", "数字化和人工智能应用场景", "2024-12-27", date(2024, 12, 27)),
        (4, "DEV23-0001", "关键核心技术攻关突破", "2024/3/4", date(2024, 3, 4)),
        (5, "DEV23-0002", "municipal_industrial_design_centre", "2023年12月21日", date(2023, 12, 21)),
    ]
    assert reasons(con) == [
        (5, "invalid_date: recognized_on '2024-02-30' is not a day of the calendar (day is out of range for month)")
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("headers", [HEADERS_ZH, HEADERS_EN], ids=["zh", "en"])
def test_csv_in_every_encoding_with_chinese_or_english_headers_loads_the_same_records(landing: Path, con, encoding, headers):
    write_csv(landing / "registers" / "r.csv", [row(), row(record_id="R-0002", kind="白名单平台", revoked_on="2025/1/2")],
              headers=headers, encoding=encoding)
    summary = load_registers(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    assert loaded(con, "row_number, record_id, holder_name, kind, recognized_on, revoked_on") == [
        (2, "R-0001", "渝例国028有限公司", "white_list_platform", date(2024, 6, 30), None),
        (3, "R-0002", "渝例国028有限公司", "白名单平台", date(2024, 6, 30), date(2025, 1, 2)),
    ]
    assert con.execute("select encoding, header_language from raw.register_files").fetchall() == [
        (encoding, "zh" if headers is HEADERS_ZH else "en")
    ]


def test_xlsx_template_with_excel_date_cells_and_without_the_optional_revoked_column(landing: Path, con):
    write_xlsx(landing / "registers" / "t.xlsx", [row(recognized_on=date(2024, 6, 30)), row(record_id="R-0002")])
    load_registers(con, landing)
    assert loaded(con, "row_number, recognized_on_text, recognized_on") == [
        (3, "2024-06-30T00:00:00", date(2024, 6, 30)),
        (4, "2024-06-30", date(2024, 6, 30)),
    ]
    header = ",".join(h for h in HEADERS_EN if h != "revoked_on")
    values = ",".join(VALID[h] for h in HEADERS_EN if h != "revoked_on")
    (landing / "registers" / "no_revocations.csv").write_text(f"{header}\n{values.replace('R-0001', 'R-0003')}\n")
    summary = load_registers(con, landing)
    assert (summary.rows_loaded, summary.files_failed) == (1, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2024-06-30", date(2024, 6, 30)), ("2024/6/30", date(2024, 6, 30)), ("2024年6月30日", date(2024, 6, 30)),
     ("２０２４年６月３０日", date(2024, 6, 30)), ("2024-6-3", date(2024, 6, 3)), ("2024-06-30 00:00:00", date(2024, 6, 30))],
)
def test_every_accepted_date_spelling_parses(text: str, expected: date):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2024.06.30", "30/6/2024", "2024-06", "2024/06-30", "2024-02-30", "June 30, 2024"])
def test_other_date_spellings_are_not_dates(text: str):
    with pytest.raises(DateError):
        parse_date(text)


# ---------- each bad row fails exactly its rule


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"uscc": ""}, "invalid_uscc: no USCC (a holder is identified by its USCC)"),
        ({"uscc": "9150010641Y1ELYEE"}, "invalid_uscc: 9150010641Y1ELYEE has 17 characters, expected 18 (GB 32100-2015)"),
        ({"uscc": "9150010641Y1ELYEEA"}, "invalid_uscc: 9150010641Y1ELYEEA has check character A, expected X (GB 32100-2015)"),
        ({"record_id": ""}, "missing_value: no value in record_id"),
        ({"kind": "—"}, "missing_value: no value in kind"),
        ({"recognized_on": ""}, "missing_value: no value in recognized_on"),
        ({"recognized_on": "2024.06.30"},
         "invalid_date: recognized_on '2024.06.30' is not a date (2024-06-30, 2024/6/30 or 2024年6月30日)"),
        ({"revoked_on": "2025-13-01"}, "invalid_date: revoked_on '2025-13-01' is not a day of the calendar (month must be in 1..12)"),
        ({"recognized_on": "2099-01-01"}, "future_date: recognized_on 2099-01-01 is after the day of loading, {today}"),
        ({"revoked_on": "2099年1月1日"}, "future_date: revoked_on 2099-01-01 is after the day of loading, {today}"),
        ({"revoked_on": "2024-06-29"}, "revoked_before_recognized: revoked_on 2024-06-29 is before recognized_on 2024-06-30"),
    ],
    ids=["missing_uscc", "uscc_length", "uscc_check", "record_id", "kind", "recognized_on", "unparseable_date",
         "unparseable_revocation", "future_recognition", "future_revocation", "revoked_before_recognized"],
)
def test_each_bad_row_is_quarantined_with_exactly_its_rule_and_the_others_load(landing: Path, con, changes, reason):
    bad = {**VALID, "record_id": "R-B", **changes}
    write_csv(landing / "registers" / "r.csv", [row(record_id="R-A"), bad, row(record_id="R-C")])
    summary = load_registers(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 1)
    assert loaded(con) == [("R-A",), ("R-C",)]
    assert reasons(con) == [(3, reason.format(today=date.today().isoformat()))]
    (record,) = con.execute("select record from audit.quarantine").fetchone()
    assert json.loads(record) == {name: value or None for name, value in bad.items()}  # as received; empty cells null


def test_a_row_breaking_several_rules_gets_them_all(landing: Path, con):
    write_csv(landing / "registers" / "r.csv", [row(uscc="123", recognized_on="someday")])
    load_registers(con, landing)
    assert reasons(con) == [(2, "invalid_uscc: 123 has 3 characters, expected 18 (GB 32100-2015); "
                                "invalid_date: recognized_on 'someday' is not a date (2024-06-30, 2024/6/30 or 2024年6月30日)")]


def test_record_id_twice_with_different_content_quarantines_both_and_exact_copies_collapse(landing: Path, con):
    write_csv(
        landing / "registers" / "r.csv",
        [row(record_id="R-1"), row(record_id="R-1", title="另一个平台"), row(record_id="R-2"), row(record_id="R-2"),
         row(record_id="R-3")],
    )
    summary = load_registers(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 2)
    assert loaded(con, "row_number, record_id") == [(4, "R-2"), (6, "R-3")]
    assert reasons(con) == [
        (2, "conflicting_duplicate: record_id 'R-1' appears with different content in rows 2, 3 of this file"),
        (3, "conflicting_duplicate: record_id 'R-1' appears with different content in rows 2, 3 of this file"),
    ]
    assert con.execute("select rows_read, duplicate_rows_collapsed from raw.register_files").fetchall() == [(5, 1)]


def test_a_duplicate_whose_other_row_breaks_a_rule_loads(landing: Path, con):
    write_csv(landing / "registers" / "r.csv", [row(), row(uscc="")])
    summary = load_registers(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (1, 1)
    assert reasons(con) == [(3, "invalid_uscc: no USCC (a holder is identified by its USCC)")]


# ---------- whole-file failures


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("broken.xlsx", b"PK\x03\x04 not a workbook", "registers/broken.xlsx: not a readable XLSX workbook: "),
        ("latin1.csv", "record_id,uscc\nR,\xe9\xff\n".encode("latin-1"), "registers/latin1.csv: not a text file in a supported encoding"),
        ("no_header.csv", "甲,乙,丙\n1,2,3\n".encode(), "registers/no_header.csv: no header row with the format 6 columns"),
        ("empty.csv", b"", "registers/empty.csv: the file is empty (0 bytes)"),
        ("no_uscc.csv", ("record_id,holder_name,group_name,kind,title,recognized_by,recognized_on,reference\n"
                         "R,a,,white_list_platform,t,b,2024-01-01,x\n").encode(),
         "registers/no_uscc.csv: missing required column(s): 统一社会信用代码 / uscc"),
    ],
)
def test_a_file_that_cannot_be_used_fails_naming_the_file_and_problem_and_loads_nothing(landing: Path, con, name, content, error):
    write_csv(landing / "registers" / "good.csv", [row()])
    load_registers(con, landing)
    (landing / "registers" / name).write_bytes(content)
    summary = load_registers(con, landing)
    (attempt,) = summary.attempts
    assert attempt.status == "failed" and attempt.error.startswith(error), attempt.error
    assert loaded(con) == [("R-0001",)]  # nothing of the failed file, nothing before touched
    assert con.execute("select count(*) from raw.register_files").fetchone() == (1,)


def test_xlsx_without_the_template_sheet_fails(landing: Path, con):
    write_xlsx(landing / "registers" / "other.xlsx", [row()], sheet="Sheet1")
    (attempt,) = load_registers(con, landing).attempts
    assert attempt.error == "registers/other.xlsx: no sheet named 认定与成果登记 (the reporting template's sheet); sheets: Sheet1"


# ---------- resubmission, withdrawal, re-ingestion


def test_resubmission_keeps_both_versions_and_an_unchanged_file_is_not_loaded_again(landing: Path, con):
    write_csv(landing / "registers" / "a.csv", [row(), row(record_id="R-0002")])
    load_registers(con, landing)
    assert load_registers(con, landing).files_skipped == 1
    write_csv(landing / "registers" / "b.csv", [row(revoked_on="2025-01-01")])
    load_registers(con, landing)
    assert loaded(con, "source_file, record_id, revoked_on") == [
        ("registers/a.csv", "R-0001", None),
        ("registers/a.csv", "R-0002", None),
        ("registers/b.csv", "R-0001", date(2025, 1, 1)),
    ]


def test_removed_register_is_withdrawn_and_its_rows_stay_as_history(landing: Path, con):
    write_csv(landing / "registers" / "a.csv", [row()])
    write_csv(landing / "registers" / "b.csv", [row(revoked_on="2025-01-01")])
    load_registers(con, landing)
    (landing / "registers" / "b.csv").unlink()
    summary = load_registers(con, landing)
    assert [(e.source_file, e.status) for e in summary.events] == [("registers/b.csv", "withdrawn")]
    assert con.execute("select source_file from audit.current_loads").fetchall() == [("registers/a.csv",)]
    assert len(loaded(con)) == 2


def test_missing_registers_folder_means_no_registers(tmp_path: Path, con):
    (tmp_path / "empty").mkdir()
    summary = load_registers(con, tmp_path / "empty")
    assert (summary.files_loaded, summary.files_failed) == (0, 0)


# ---------- the kind, from the current seed


def test_kind_by_code_or_chinese_name_maps_and_an_unknown_kind_is_quarantined_until_the_seed_has_it(
    landing: Path, con, tmp_path: Path
):
    write_csv(landing / "registers" / "r.csv", [row(), row(record_id="R-2", kind=" 白名单平台 "),
                                                row(record_id="R-3", kind="WHITE_LIST_PLATFORM"),
                                                row(record_id="R-4", kind="未知类别")])
    load_registers(con, landing)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(settings.SEEDS_DIR / "ref_recognition_kinds.csv", seeds)
    summary = map_registers(con, seeds)
    assert (summary.rows_mapped, summary.rows_quarantined) == (3, 1)
    kinds = "select kind, kind_code from mapped.register_kinds order by kind"
    assert con.execute(kinds).fetchall() == [
        ("WHITE_LIST_PLATFORM", "white_list_platform"), ("white_list_platform", "white_list_platform"),
        ("白名单平台", "white_list_platform"),
    ]
    (reason, stage, record) = con.execute("select reason, stage, record from audit.quarantine").fetchone()
    assert (reason, stage) == ("unknown_kind: '未知类别' is neither a code nor a Chinese name of ref_recognition_kinds", "mapping")
    assert json.loads(record)["kind"] == "未知类别"
    with open(seeds / "ref_recognition_kinds.csv", "a", encoding="utf-8") as seed:
        seed.write("unknown_kind_now_known,未知类别,Now known\n")
    summary = map_registers(con, seeds)  # no reload: the seed alone maps the row
    assert (summary.rows_mapped, summary.rows_quarantined) == (4, 0)
    assert con.execute("select count(*) from audit.quarantine").fetchone() == (0,)


def test_spaces_and_missing_markers_are_trimmed_so_a_dash_group_is_no_group(landing: Path, con):
    write_csv(landing / "registers" / "r.csv", [row(group_name="—", uscc=" 9150010641Y1ELYEEX "),
                                                row(record_id=" R-2 ", kind=" 白名单平台", group_name=" 山城交通建设投资集团 ")])
    summary = load_registers(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    assert loaded(con, "record_id, uscc, group_name, kind") == [
        ("R-0001", "9150010641Y1ELYEEX", None, "white_list_platform"),
        ("R-2", "9150010641Y1ELYEEX", "山城交通建设投资集团", "白名单平台"),
    ]


def test_a_failed_file_leaves_the_connection_keeping_insertion_order(landing: Path, con):
    (landing / "registers" / "a_broken.csv").write_bytes("甲,乙\n1,2\n".encode())
    write_csv(landing / "registers" / "b.csv", [row()])
    summary = load_registers(con, landing)
    assert [a.status for a in summary.attempts] == ["failed", "loaded"]
    assert con.execute("select current_setting('preserve_insertion_order')").fetchone() == (True,)


def test_a_failure_while_writing_rolls_back_every_row_of_the_file(landing: Path, con, monkeypatch: pytest.MonkeyPatch):
    """The file is checked before its transaction; what it writes (rows, quarantine, file row) is one
    transaction: a failure on the last write leaves nothing of the file but its failed load_log row."""
    from ingestion.registers import loader

    write_csv(landing / "registers" / "good.csv", [row()])
    load_registers(con, landing)
    write_csv(landing / "registers" / "second.csv", [row(record_id="R-0002"), row(record_id="R-0003", uscc="")])
    real = loader.record_quarantine

    def quarantine_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise duckdb.IOException("IO Error: No space left on device")

    monkeypatch.setattr(loader, "record_quarantine", quarantine_then_fail)
    (attempt,) = load_registers(con, landing).attempts
    assert attempt.status == "failed" and attempt.error.startswith("registers/second.csv: cannot be read: IO Error: No space")
    assert loaded(con) == [("R-0001",)]
    assert con.execute("select count(*) from audit.quarantine").fetchone() == (0,)
    assert con.execute("select count(*) from raw.register_files").fetchone() == (1,)


def test_no_scratch_table_or_view_outlives_a_load_or_a_failure(landing: Path, con):
    (landing / "registers" / "a_broken.csv").write_bytes("甲,乙\n1,2\n".encode())
    write_csv(landing / "registers" / "b.csv", [row(), row(record_id="R-0002", recognized_on="2024-02-30")])
    summary = load_registers(con, landing)
    assert [a.status for a in summary.attempts] == ["failed", "loaded"]
    temporary = con.execute(
        """select table_name from duckdb_tables() where temporary
           union all select view_name from duckdb_views() where temporary and not internal"""
    ).fetchall()
    assert temporary == []
