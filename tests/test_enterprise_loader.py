"""The enterprise submission loader (format 5): every shape, every row rule, duplicates, whole-file
failures, re-ingestion and resubmission history."""

from __future__ import annotations

import codecs
import json
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from core import settings, warehouse
from ingestion.enterprise import schema
from ingestion.enterprise.loader import load_submissions
from ingestion.enterprise.mapping import map_enterprise
from tools import synthetic_enterprises as synthetic

FIXTURES = Path(__file__).parent / "fixtures" / "enterprise"
HEADERS_EN = [c.name for c in schema.columns()]
HEADERS_ZH = [c.header_zh for c in schema.columns()]

#: A valid row of the GB18030 sample (样例011, 2023), as text.
VALID = {
    "uscc": "91500107A6FKWKT0FF",
    "enterprise_name": "样例011实业有限公司",
    "group_name": "巴渝汽车工业集团",
    "industry_code": "M7320",
    "district_code": "500107",
    "period": "2023",
    "revenue_10k_yuan": "96430.6",
    "rd_expenditure_10k_yuan": "5133.5",
    "rd_personnel": "859",
    "invention_patent_applications": "42",
    "invention_patents_granted": "3",
    "invention_patents_valid": "198",
    "high_value_invention_patents_valid": "50",
    "industrial_output_10k_yuan": "80523.4",
    "sei_output_10k_yuan": "40104.3",
    "is_hightech": "是",
    "is_tech_based": "否",
    "has_rd_institution": "是",
}
OTHER_USCC = "91500112RYPCECPY2Q"  # 样例012, also valid


def row(**changes: str) -> dict[str, str]:
    return {**VALID, **changes}


def write_csv(path: Path, rows: list[dict[str, str]], *, headers: list[str] = HEADERS_EN, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = dict(zip(HEADERS_EN, headers, strict=True))
    lines = [",".join(headers)] + [",".join(_csv_cell(r.get(c, "")) for c in names) for r in rows]
    data = ("\n".join(lines) + "\n").encode(encoding.removesuffix("-sig"))
    path.write_bytes((codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"") + data)
    return path


def _csv_cell(value: str) -> str:
    return f'"{value}"' if "," in value else value


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    (tmp_path / "landing" / "enterprise").mkdir(parents=True)
    return tmp_path / "landing"


@pytest.fixture
def con(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    connection = warehouse.connect(tmp_path / "warehouse" / "warehouse.duckdb")
    yield connection
    connection.close()


def loaded(con: duckdb.DuckDBPyConnection, columns: str = "uscc, period") -> list[tuple]:
    return con.execute(f"select {columns} from raw.enterprise_submissions order by source_file, row_number").fetchall()


def quarantined(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select source_file, row_number, reason from audit.quarantine order by source_file, row_number").fetchall()


# ---------- the three shapes


def test_xlsx_template_sample_loads_every_row_with_excel_row_numbers(landing: Path, con):
    shutil.copy(FIXTURES / "template_2023.xlsx", landing / "enterprise")
    summary = load_submissions(con, landing)
    assert (summary.files_loaded, summary.rows_loaded, summary.rows_quarantined) == (1, 10, 0)
    rows = loaded(con, "row_number, uscc, period, revenue_10k_yuan, rd_personnel, is_hightech, is_tech_based, district_code")
    assert [r[0] for r in rows] == list(range(3, 13))  # title in row 1, headers in row 2
    assert rows[0] == (3, "9150010912TH3BJ1XG", "2023", 853339.5, 433, True, True, "500109")
    assert rows[2][3] == 449291.0  # an integral amount typed as a number in Excel
    files = con.execute("select format, encoding, header_language, rows_read from raw.enterprise_files").fetchall()
    assert files == [("enterprise_xlsx", None, "zh", 10)]


def test_gb18030_sample_with_chinese_headers_quarantines_the_wrong_check_character(landing: Path, con):
    shutil.copy(FIXTURES / "submission_2023_gb18030.csv", landing / "enterprise")
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (9, 1)
    assert quarantined(con) == [
        (
            "enterprise/submission_2023_gb18030.csv",
            2,
            "invalid_uscc: 9150010776GFBP00R0 has check character 0, expected X (GB 32100-2015)",
        )
    ]
    (record,) = con.execute("select record from audit.quarantine").fetchone()
    record = json.loads(record)
    assert record["统一社会信用代码"] == "9150010776GFBP00R0"
    assert record["企业名称"] == "样例010实业有限公司"
    assert record["营业收入(万元)"] == "737408.0"
    assert loaded(con, "row_number, uscc, enterprise_name")[0] == (3, "91500107A6FKWKT0FF", "样例011实业有限公司")
    assert con.execute("select encoding, header_language from raw.enterprise_files").fetchall() == [("gb18030", "zh")]


def test_utf8_bulk_extract_with_english_headers_loads(landing: Path, con):
    shutil.copy(FIXTURES / "bulk_2024q2.csv", landing / "enterprise")
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (20, 0)
    assert loaded(con, "row_number, period, has_rd_institution")[:2] == [(2, "2024Q2", True), (3, "2024Q2", True)]
    assert con.execute("select encoding, header_language from raw.enterprise_files").fetchall() == [("utf-8", "en")]


def test_parquet_with_english_headers_loads_every_value_as_written(landing: Path, con):
    frame = synthetic.generate(synthetic.Spec(enterprises=40, periods=("2023", "2024Q1"), seed=3))
    synthetic.write_parquet(frame, landing / "enterprise" / "extract.parquet")
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (len(frame), 0)
    got = con.execute(
        f"select row_number, {', '.join(HEADERS_EN)} from raw.enterprise_submissions order by row_number"
    ).pl()
    assert got["row_number"].to_list() == list(range(1, len(frame) + 1))
    assert got.drop("row_number").equals(frame.drop("injected_error"))


@pytest.mark.parametrize(
    ("encoding", "headers", "expected_language"),
    [("utf-8-sig", HEADERS_ZH, "zh"), ("gb18030", HEADERS_EN, "en"), ("utf-8", HEADERS_ZH, "zh")],
)
def test_csv_in_every_encoding_with_either_header_language_loads(landing: Path, con, encoding, headers, expected_language):
    write_csv(landing / "enterprise" / "a.csv", [row(), row(uscc=OTHER_USCC)], headers=headers, encoding=encoding)
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    assert loaded(con, "enterprise_name, group_name")[0] == ("样例011实业有限公司", "巴渝汽车工业集团")
    assert con.execute("select encoding, header_language from raw.enterprise_files").fetchall() == [
        (encoding, expected_language)
    ]


def test_xlsx_with_numeric_codes_blank_rows_and_notes_loads_the_data_rows(landing: Path, con):
    path = landing / "enterprise" / "template.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("企业科技创新情况")
    sheet.write_row(0, 0, ["2023年度市属国有企业科技创新统计报表"])
    sheet.write_row(2, 0, HEADERS_ZH)  # a blank row between title and header
    values = [VALID[c] for c in HEADERS_EN]
    values[HEADERS_EN.index("district_code")] = 500107  # numbers as Excel numbers
    values[HEADERS_EN.index("period")] = 2023
    values[HEADERS_EN.index("rd_personnel")] = 859.0
    sheet.write_row(3, 0, values)
    sheet.write_row(5, 0, [OTHER_USCC] + [VALID[c] for c in HEADERS_EN[1:]])  # after a blank spacer row
    sheet.write_row(7, 0, ["注：本表为合成测试数据。"])
    workbook.close()
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    assert loaded(con, "row_number, district_code, period, rd_personnel") == [(4, "500107", "2023", 859), (6, "500107", "2023", 859)]


def test_accepted_spellings_load_in_canonical_form(landing: Path, con):
    write_csv(
        landing / "enterprise" / "a.csv",
        [
            row(uscc=" 91500107a6fkwkt0ff ", industry_code="m7320", period="2023年", revenue_10k_yuan="96,430.6",
                is_hightech="Y", is_tech_based="false", has_rd_institution="TRUE"),
            row(uscc="9150-0112-RYPCECPY2Q", period="2024-Q3", is_hightech="n", is_tech_based="True"),
        ],
    )
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    assert loaded(con, "uscc, industry_code, period, revenue_10k_yuan, is_hightech, is_tech_based, has_rd_institution") == [
        ("91500107A6FKWKT0FF", "M7320", "2023", 96430.6, True, False, True),
        ("91500112RYPCECPY2Q", "M7320", "2024Q3", 96430.6, False, True, True),
    ]


# ---------- every row rule


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"uscc": "91500107A6FKWKT0FX"}, "invalid_uscc: 91500107A6FKWKT0FX has check character X, expected F (GB 32100-2015)"),
        ({"uscc": "91500107A6FKWKT0F"}, "invalid_uscc: 91500107A6FKWKT0F has 17 characters, expected 18 (GB 32100-2015)"),
        (
            {"uscc": "91500107A6FKWKTOFF"},
            "invalid_uscc: 91500107A6FKWKTOFF has a character outside the GB 32100-2015 alphabet "
            "(8 digits, then 0-9 and A-Z without I, O, S, V, Z)",
        ),
        (
            {"period": "2023Q5"},
            "invalid_period: unparseable period '2023Q5': expected a year (2022), quarter (2022Q3) or month (2022-09)",
        ),
        ({"rd_expenditure_10k_yuan": "-1"}, "negative_amount: rd_expenditure_10k_yuan = -1.0"),
        ({"rd_personnel": "-3"}, "negative_amount: rd_personnel = -3"),
        (
            {"rd_expenditure_10k_yuan": "100000"},
            "rd_above_revenue: R&D expenditure 100000.0 exceeds revenue 96430.6 (10k yuan)",
        ),
        (
            {"sei_output_10k_yuan": "90000"},
            "sei_above_industrial_output: SEI output 90000.0 exceeds industrial output 80523.4 (10k yuan)",
        ),
        (
            {"high_value_invention_patents_valid": "199"},
            "high_value_above_valid_patents: 199 high-value patents exceed 198 valid invention patents",
        ),
        ({"revenue_10k_yuan": ""}, "missing_value: no value in revenue_10k_yuan"),
        ({"group_name": "—", "period": " "}, "missing_value: no value in group_name, period"),
        ({"revenue_10k_yuan": "abc"}, "invalid_number: not a number: revenue_10k_yuan 'abc'"),
        ({"rd_personnel": "1.5"}, "invalid_number: not a whole number: rd_personnel 1.5"),
        ({"is_hightech": "可能"}, "invalid_flag: is_hightech '可能' is not 是/否/y/n/true/false"),
        (
            {"uscc": "91500107A6FKWKT0FX", "rd_expenditure_10k_yuan": "-5"},
            "invalid_uscc: 91500107A6FKWKT0FX has check character X, expected F (GB 32100-2015); "
            "negative_amount: rd_expenditure_10k_yuan = -5.0",
        ),
    ],
)
def test_each_rule_quarantines_its_row_with_the_reason_and_the_valid_row_loads(landing: Path, con, changes, reason):
    write_csv(landing / "enterprise" / "a.csv", [row(uscc=OTHER_USCC), row(**changes)])
    summary = load_submissions(con, landing)
    assert summary.attempts[0].status == "loaded"
    assert (summary.rows_loaded, summary.rows_quarantined) == (1, 1)
    assert loaded(con, "row_number, uscc") == [(2, OTHER_USCC)]
    assert quarantined(con) == [("enterprise/a.csv", 3, reason)]
    log = con.execute("select status, rows_loaded, rows_quarantined, error from audit.load_log").fetchall()
    assert log == [("loaded", 1, 1, None)]


UNKNOWN_INDUSTRY = "is not a GB/T 4754-2017 class (letter + 4 digits, e.g. C3670) in ref_industry_codes"
UNKNOWN_DISTRICT = "is not a district or county of Chongqing (GB/T 2260, ref_chongqing_districts)"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"industry_code": "C9999"}, f"unknown_industry_code: 'C9999' {UNKNOWN_INDUSTRY}"),
        ({"industry_code": "7320"}, f"unknown_industry_code: '7320' {UNKNOWN_INDUSTRY}"),
        ({"district_code": "510104"}, f"unknown_district_code: '510104' {UNKNOWN_DISTRICT}"),
        (
            {"industry_code": "c9999", "district_code": "510104"},
            f"unknown_industry_code: 'C9999' {UNKNOWN_INDUSTRY}; unknown_district_code: '510104' {UNKNOWN_DISTRICT}",
        ),
    ],
)
def test_unknown_codes_load_and_the_mapping_rejects_their_row_with_the_reason(landing: Path, con, changes, reason):
    write_csv(landing / "enterprise" / "a.csv", [row(uscc=OTHER_USCC), row(**changes)])
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    mapping = map_enterprise(con)
    assert (mapping.rows_mapped, mapping.rows_quarantined, dict(mapping.reasons)) == (1, 1, {reason: 1})
    (load_id,) = con.execute("select load_id from audit.load_log").fetchone()
    assert con.execute("select * from mapped.enterprise_rejected_rows").fetchall() == [(load_id, 3, reason)]
    assert con.execute("select source_file, row_number, reason, stage from audit.quarantine").fetchall() == [
        ("enterprise/a.csv", 3, reason, "mapping")
    ]


def test_a_code_added_to_its_seed_releases_the_rejected_row_without_reloading(landing: Path, con, tmp_path: Path):
    seeds = tmp_path / "seeds"
    shutil.copytree(settings.SEEDS_DIR, seeds)
    write_csv(landing / "enterprise" / "a.csv", [row(uscc=OTHER_USCC), row(industry_code="C9999")])
    load_submissions(con, landing)
    map_enterprise(con, seeds)
    assert quarantined(con) == [("enterprise/a.csv", 3, f"unknown_industry_code: 'C9999' {UNKNOWN_INDUSTRY}")]

    with open(seeds / "ref_industry_codes.csv", "a", encoding="utf-8") as handle:
        handle.write("C9999,测试新增行业,C,制造业,99,测试\n")
    assert load_submissions(con, landing).attempts == []
    mapping = map_enterprise(con, seeds)

    assert (mapping.rows_mapped, mapping.rows_quarantined) == (2, 0)
    assert con.execute("select count(*) from mapped.enterprise_rejected_rows").fetchone() == (0,)
    assert quarantined(con) == []
    assert con.execute("select count(*), count(distinct load_id) from audit.load_log").fetchone() == (1, 1)


def test_mapping_quarantine_is_replaced_and_load_quarantine_kept(landing: Path, con):
    write_csv(landing / "enterprise" / "a.csv", [row(uscc=OTHER_USCC, rd_personnel="-3"), row(district_code="510104")])
    load_submissions(con, landing)
    map_enterprise(con)
    map_enterprise(con)
    assert con.execute("select row_number, stage, split_part(reason, ':', 1) from audit.quarantine order by 1").fetchall() == [
        (2, "load", "negative_amount"),
        (3, "mapping", "unknown_district_code"),
    ]
    (record,) = con.execute("select record from audit.quarantine where stage = 'mapping'").fetchone()
    assert json.loads(record) == {  # the row as loaded, keyed by the file's (English) headers
        **VALID, "district_code": "510104", "is_hightech": "true", "is_tech_based": "false", "has_rd_institution": "true"
    }


def test_quarantined_record_keeps_the_cells_as_received(landing: Path, con):
    write_csv(landing / "enterprise" / "a.csv", [row(revenue_10k_yuan="9x", period=" 2023 ")])
    load_submissions(con, landing)
    (record,) = con.execute("select record from audit.quarantine").fetchone()
    assert json.loads(record) == {**VALID, "revenue_10k_yuan": "9x", "period": " 2023 "}


# ---------- duplicates within a file


def test_conflicting_duplicates_are_both_quarantined(landing: Path, con):
    write_csv(
        landing / "enterprise" / "a.csv",
        [row(), row(uscc=OTHER_USCC), row(rd_expenditure_10k_yuan="5200.0")],
    )
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (1, 2)
    assert loaded(con) == [(OTHER_USCC, "2023")]
    reason = "conflicting_duplicate: (91500107A6FKWKT0FF, 2023) appears with different values in rows 2, 4 of this file"
    assert quarantined(con) == [("enterprise/a.csv", 2, reason), ("enterprise/a.csv", 4, reason)]


def test_exact_duplicates_collapse_to_the_first_even_when_spelled_differently(landing: Path, con):
    write_csv(
        landing / "enterprise" / "a.csv",
        [row(), row(uscc=OTHER_USCC), row(revenue_10k_yuan="96,430.6", is_hightech="Y", period="2023年")],
    )
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    assert loaded(con, "row_number, uscc") == [(2, VALID["uscc"]), (3, OTHER_USCC)]
    counts = con.execute("select rows_read, rows_loaded, rows_quarantined, duplicate_rows_collapsed from raw.enterprise_files")
    assert counts.fetchall() == [(3, 2, 0, 1)]


def test_a_duplicate_of_a_rejected_row_is_no_conflict(landing: Path, con):
    write_csv(landing / "enterprise" / "a.csv", [row(rd_personnel="-3"), row()])
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (1, 1)
    assert loaded(con, "row_number") == [(3,)]
    assert [r[2].split(":")[0] for r in quarantined(con)] == ["negative_amount"]


# ---------- whole-file failures


def test_missing_required_column_fails_the_file_and_keeps_earlier_loads(landing: Path, con):
    write_csv(landing / "enterprise" / "a_good.csv", [row()])
    missing = [h for h in HEADERS_ZH if h != "研发经费支出(万元)"]
    bad = landing / "enterprise" / "b_missing.csv"
    bad.write_text(",".join(missing) + "\n" + ",".join(VALID[c] for c in HEADERS_EN if c != "rd_expenditure_10k_yuan") + "\n")
    summary = load_submissions(con, landing)
    assert [(a.source_file, a.status) for a in summary.attempts] == [
        ("enterprise/a_good.csv", "loaded"),
        ("enterprise/b_missing.csv", "failed"),
    ]
    log = con.execute("select source_file, status, rows_loaded, error from audit.load_log order by source_file").fetchall()
    assert log[1] == (
        "enterprise/b_missing.csv",
        "failed",
        0,
        "enterprise/b_missing.csv: missing required column(s): 研发经费支出(万元) / rd_expenditure_10k_yuan",
    )
    assert loaded(con, "source_file, uscc") == [("enterprise/a_good.csv", VALID["uscc"])]
    assert con.execute("select count(*) from raw.enterprise_files").fetchone() == (1,)


def test_a_malformed_line_fails_the_whole_file_without_loading_its_valid_rows(landing: Path, con):
    path = write_csv(landing / "enterprise" / "a.csv", [row(), row(uscc=OTHER_USCC)])
    path.write_text(path.read_text() + ",".join(VALID.values()) + ",extra,cells\n")
    summary = load_submissions(con, landing)
    assert summary.attempts[0].status == "failed"
    assert summary.attempts[0].error.startswith("enterprise/a.csv: cannot be read: ")
    assert con.execute("select count(*) from raw.enterprise_submissions").fetchone() == (0,)
    assert con.execute("select count(*) from audit.quarantine").fetchone() == (0,)


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("broken.xlsx", b"PK\x03\x04 not really a workbook", "enterprise/broken.xlsx: not a readable XLSX workbook: "),
        ("broken.parquet", b"PAR1 not really parquet", "enterprise/broken.parquet: not a readable Parquet file: "),
        ("binary.csv", bytes(range(256)) * 4, "enterprise/binary.csv: not a text file in a supported encoding: "),
        ("no_header.csv", "甲,乙,丙\n1,2,3\n".encode(), "enterprise/no_header.csv: no header row with the format 5 columns"),
        ("empty.csv", b"", "enterprise/empty.csv: the file is empty (0 bytes)"),
        ("empty.parquet", b"", "enterprise/empty.parquet: the file is empty (0 bytes)"),
        ("empty.xlsx", b"", "enterprise/empty.xlsx: the file is empty (0 bytes)"),
    ],
)
def test_unreadable_files_fail_with_an_error_naming_the_file(landing: Path, con, name, content, error):
    (landing / "enterprise" / name).write_bytes(content)
    summary = load_submissions(con, landing)
    (attempt,) = summary.attempts
    assert attempt.status == "failed"
    assert attempt.error.startswith(error)
    assert con.execute("select status, error from audit.load_log").fetchall() == [("failed", attempt.error)]


def test_a_file_whose_name_is_not_utf8_fails_asking_for_a_new_name_and_the_others_load(landing: Path, con):
    gbk_name = os.fsdecode("报告_2024.csv".encode("gbk"))  # unpacked on Linux from an archive made on Windows
    write_csv(landing / "enterprise" / gbk_name, [row(uscc=OTHER_USCC)])
    write_csv(landing / "enterprise" / "good.csv", [row()])
    summary = load_submissions(con, landing)

    failed = [a for a in summary.attempts if a.status == "failed"]
    assert [a.error for a in failed] == [
        "enterprise/\\xb1\\xa8\\xb8\\xe6_2024.csv: the file name is not UTF-8 (each byte that is not is shown as \\xNN): "
        "rename the file (read as GB18030, its name is 报告_2024.csv)"
    ]
    assert con.execute("select distinct source_file from raw.enterprise_submissions").fetchall() == [("enterprise/good.csv",)]

    (landing / "enterprise" / gbk_name).rename(landing / "enterprise" / "报告_2024.csv")
    (renamed,) = load_submissions(con, landing).attempts
    assert (renamed.source_file, renamed.status) == ("enterprise/报告_2024.csv", "loaded")


def test_workbook_without_the_template_sheet_fails(landing: Path, con):
    path = landing / "enterprise" / "other.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("Sheet1").write_row(0, 0, HEADERS_ZH)
    workbook.close()
    (attempt,) = load_submissions(con, landing).attempts
    assert attempt.error == "enterprise/other.xlsx: no sheet named 企业科技创新情况 (the reporting template's sheet); sheets: Sheet1"


def test_a_load_gives_the_connection_its_settings_back_after_a_failure_too(landing: Path, con):
    """The load lowers DuckDB's memory limit and turns insertion order off; the connection gets both back,
    exactly, whether the file loaded or failed."""
    settings = "select current_setting('memory_limit'), current_setting('preserve_insertion_order')"
    before = con.execute(settings).fetchone()
    write_csv(landing / "enterprise" / "a_good.csv", [row(), row(uscc=OTHER_USCC, rd_personnel="-3")])
    broken = ",".join(HEADERS_EN) + "\n" + ",".join(VALID.values()) + ",extra\n"  # one cell too many
    (landing / "enterprise" / "b_broken.csv").write_text(broken)
    summary = load_submissions(con, landing)
    assert [(a.source_file, a.status) for a in summary.attempts] == [
        ("enterprise/a_good.csv", "loaded"),
        ("enterprise/b_broken.csv", "failed"),
    ]
    assert con.execute(settings).fetchone() == before
    assert con.execute("select count(*) from duckdb_tables() where temporary").fetchone() == (0,)


# ---------- re-ingestion and resubmission


def test_reingesting_the_same_bytes_adds_nothing_but_a_duplicate_row(landing: Path, con):
    shutil.copy(FIXTURES / "bulk_2024q2.csv", landing / "enterprise")
    first = load_submissions(con, landing)
    shutil.copy(FIXTURES / "bulk_2024q2.csv", landing / "enterprise" / "same_bytes_other_name.csv")
    second = load_submissions(con, landing)
    assert (first.files_loaded, second.files_loaded, second.files_skipped) == (1, 0, 2)
    assert con.execute("select source_file, status from audit.load_log order by loaded_at").fetchall() == [
        ("enterprise/bulk_2024q2.csv", "loaded"), ("enterprise/same_bytes_other_name.csv", "duplicate")
    ]
    assert con.execute("select count(*) from raw.enterprise_submissions").fetchone() == (20,)


def test_resubmission_is_a_new_load_and_the_replaced_row_stays(landing: Path, con):
    write_csv(landing / "enterprise" / "a_2023.csv", [row(), row(uscc=OTHER_USCC)])
    load_submissions(con, landing)
    write_csv(landing / "enterprise" / "b_2023_corrected.csv", [row(rd_expenditure_10k_yuan="6000.0")])
    summary = load_submissions(con, landing)
    assert (summary.files_loaded, summary.files_skipped, summary.rows_loaded) == (1, 1, 1)
    history = con.execute(
        """select source_file, rd_expenditure_10k_yuan, loaded_at from raw.enterprise_submissions
           where uscc = ? and period = '2023' order by loaded_at""",
        [VALID["uscc"]],
    ).fetchall()
    assert [(h[0], h[1]) for h in history] == [("enterprise/a_2023.csv", 5133.5), ("enterprise/b_2023_corrected.csv", 6000.0)]
    assert history[0][2] < history[1][2]


def test_files_load_in_name_order_with_paths_relative_to_the_landing_dir(landing: Path, con):
    for name in ("c.csv", "a.csv", "b.csv"):
        write_csv(landing / "enterprise" / name, [row(period={"a.csv": "2021", "b.csv": "2022", "c.csv": "2023"}[name])])
    (landing / "enterprise" / "notes.txt").write_text("not a submission")
    summary = load_submissions(con, landing)
    assert [a.source_file for a in summary.attempts] == ["enterprise/a.csv", "enterprise/b.csv", "enterprise/c.csv"]
    times = con.execute("select period from raw.enterprise_submissions order by loaded_at").fetchall()
    assert times == [("2021",), ("2022",), ("2023",)]


def test_no_enterprise_folder_is_no_submissions(tmp_path: Path, con):
    summary = load_submissions(con, tmp_path)
    assert (summary.attempts, summary.files_skipped) == ([], 0)


def test_parquet_with_chinese_headers_and_typed_codes_loads(landing: Path, con):
    values = {c.header_zh: [VALID[c.name]] for c in schema.columns()}
    values["区县代码"] = [500107]
    values["报告期"] = [2023]
    values["研发人员(人)"] = [859]
    values["是否高新技术企业"] = [True]
    pq.write_table(pa.table(values), landing / "enterprise" / "zh.parquet")
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (1, 0)
    assert loaded(con, "district_code, period, rd_personnel, is_hightech") == [("500107", "2023", 859, True)]


def test_loader_output_matches_the_generated_frame_for_csv_too(landing: Path, con):
    frame = synthetic.generate(synthetic.Spec(enterprises=30, periods=("2022", "2023"), seed=9))
    synthetic.write_csv(frame, landing / "enterprise" / "g.csv", language="zh", encoding="gb18030")
    load_submissions(con, landing)
    got = con.execute(f"select {', '.join(HEADERS_EN)} from raw.enterprise_submissions order by row_number").pl()
    assert got.equals(frame.drop("injected_error").with_columns(pl.col(pl.Float64).round(1)))


def test_a_file_with_only_its_header_loads_no_rows(landing: Path, con):
    write_csv(landing / "enterprise" / "empty.csv", [])
    summary = load_submissions(con, landing)
    assert [(a.status, a.rows_loaded, a.rows_quarantined) for a in summary.attempts] == [("loaded", 0, 0)]
    assert con.execute("select rows_read from raw.enterprise_files").fetchall() == [(0,)]


def test_csv_with_a_title_line_above_the_header_numbers_rows_by_line(landing: Path, con):
    path = write_csv(landing / "enterprise" / "titled.csv", [row(), row(uscc=OTHER_USCC)], headers=HEADERS_ZH)
    path.write_text("2023年度市属国有企业科技创新统计报表\n" + path.read_text())
    summary = load_submissions(con, landing)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    assert loaded(con, "row_number, uscc") == [(3, VALID["uscc"]), (4, OTHER_USCC)]


# ---------- the copy of a CSV


@pytest.mark.parametrize("copy", ["table", "parquet"])
def test_csv_records_keep_their_line_numbers_across_many_row_groups(
    tmp_path: Path, con, copy: str, monkeypatch: pytest.MonkeyPatch
):
    """A CSV is read in parallel into a copy that numbers its records; the order must be the file's, in a
    table and in Parquet. 400,000 lines (48 MB) make several read buffers and four row groups."""
    from ingestion import tabular

    if copy == "parquet":
        monkeypatch.setattr(tabular, "IN_MEMORY_COPY_MAX_BYTES", 0)
    path = tmp_path / "large.csv"
    cells = [VALID[c] for c in HEADERS_EN[2:]]
    lines = (f"{VALID['uscc']},{line}," + ",".join(cells) for line in range(3, 400_003))
    path.write_text("2023年度市属国有企业科技创新统计报表\n" + ",".join(HEADERS_EN) + "\n" + "\n".join(lines) + "\n")
    with tabular.open_source(con, path, schema.layout()):
        numbered = con.execute(
            "select count(*), min(_row), max(_row), count(*) filter (where _row <> cast(enterprise_name as bigint)) from _src"
        ).fetchone()
        in_parquet = con.execute("select count(*) from duckdb_tables() where table_name = '_csv_rows'").fetchone() == (0,)
    assert numbered == (400_000, 3, 400_002, 0)
    assert in_parquet == (copy == "parquet")


def test_the_parquet_copy_of_a_large_csv_lives_next_to_the_database_until_the_file_is_closed(
    landing: Path, con, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from ingestion import tabular

    monkeypatch.setattr(tabular, "IN_MEMORY_COPY_MAX_BYTES", 0)  # every file is large
    copies = []
    real = tabular._copy_rows

    def copy_and_look(con, size, scratch, **kwargs):
        real(con, size, scratch, **kwargs)
        copies.append(sorted(p.name for p in scratch.iterdir()))

    monkeypatch.setattr(tabular, "_copy_rows", copy_and_look)
    write_csv(landing / "enterprise" / "a_good.csv", [row()])
    # a line with cells too many past the first 30,000: beyond what DuckDB samples before it reads the file
    broken = write_csv(landing / "enterprise" / "b_broken.csv", [row(uscc=OTHER_USCC)] * 30_000)
    broken.write_bytes(broken.read_bytes() + (",".join(VALID.values()) + ",extra\n").encode())
    write_csv(landing / "enterprise" / "c_gb18030.csv", [row(period="2024")], encoding="gb18030", headers=HEADERS_ZH)
    summary = load_submissions(con, landing)

    assert [a.status for a in summary.attempts] == ["loaded", "failed", "loaded"]
    assert summary.attempts[1].error == (
        "enterprise/b_broken.csv: cannot be read: CSV error on line 30002: Expected Number of Columns: 18 Found: 19"
    )
    # the broken file fails while it is copied; the GB18030 file's UTF-8 text sits next to its copy
    assert copies == [["records.parquet"], ["records.parquet", "utf8.csv"]]
    assert [p.name for p in (tmp_path / "warehouse").iterdir() if ".scratch-" in p.name] == []


@pytest.mark.parametrize(
    ("last_line", "why"),
    [
        ('"unterminated,quote\n'.encode(), "Value with unterminated quote found."),
        (",".join(VALID.values()).replace("样例", "\udcff").encode("utf-8", "surrogateescape") + b"\n",
         "Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded."),
    ],
    ids=["unterminated quote", "a byte that is not UTF-8 past the first megabyte"],
)
@pytest.mark.parametrize("copy", ["table", "parquet"])
def test_a_csv_line_that_cannot_be_parsed_fails_the_file_naming_the_line_and_why(
    landing: Path, con, last_line, why, copy: str, monkeypatch: pytest.MonkeyPatch
):
    from ingestion import tabular

    if copy == "parquet":
        monkeypatch.setattr(tabular, "IN_MEMORY_COPY_MAX_BYTES", 0)
    path = write_csv(landing / "enterprise" / "a.csv", [row(uscc=OTHER_USCC)] * 30_000)
    path.write_bytes(path.read_bytes() + last_line)
    (attempt,) = load_submissions(con, landing).attempts
    assert attempt.error == f"enterprise/a.csv: cannot be read: CSV error on line 30002: {why}"
    assert con.execute("select count(*) from raw.enterprise_submissions").fetchone() == (0,)


def test_a_scratch_folder_a_killed_load_left_is_removed_by_the_next_load(
    landing: Path, con, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    leftover = tmp_path / "warehouse" / "warehouse.duckdb.scratch-4211"
    leftover.mkdir()
    (leftover / "records.parquet").write_bytes(b"PAR1 half written")
    write_csv(landing / "enterprise" / "a.csv", [row()])
    with caplog.at_level("WARNING", logger="core.warehouse"):
        summary = load_submissions(con, landing)
    assert summary.rows_loaded == 1
    assert not leftover.exists()
    assert f"removing {leftover}, left by an interrupted load" in caplog.messages


def test_a_database_in_memory_gets_its_scratch_folder_in_the_system_temporary_folder():
    con = duckdb.connect()
    with warehouse.scratch_folder(con) as folder:
        assert folder.is_dir() and folder.parent == Path(tempfile.gettempdir())
    assert not folder.exists()
