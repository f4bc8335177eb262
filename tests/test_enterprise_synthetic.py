"""The synthetic generator: deterministic, valid by default, and every injected bad row is caught by
the loader (or, for unknown codes, the mapping step) with the rule it was made to break."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from stdnum.cn import uscc as stdnum_uscc

from core import settings, warehouse
from ingestion.enterprise.loader import load_submissions
from ingestion.enterprise.mapping import map_enterprise
from tools import synthetic_enterprises as synthetic

PERIODS = synthetic.period_labels([2022, 2023, 2024], [2024])

#: The rule the loader names for each kind of injected error (exact duplicates are not an error).
RULE_OF_KIND = {
    "uscc_check_character": "invalid_uscc",
    "uscc_length": "invalid_uscc",
    "uscc_alphabet": "invalid_uscc",
    "unknown_industry_code": "unknown_industry_code",
    "unknown_district_code": "unknown_district_code",
    "invalid_period": "invalid_period",
    "negative_amount": "negative_amount",
    "rd_above_revenue": "rd_above_revenue",
    "sei_above_industrial_output": "sei_above_industrial_output",
    "high_value_above_valid_patents": "high_value_above_valid_patents",
    "missing_value": "missing_value",
    "conflicting_duplicate": "conflicting_duplicate",
}


def test_same_seed_same_rows_other_seed_other_rows():
    spec = synthetic.Spec(enterprises=120, periods=PERIODS, seed=7, error_rate=0.05)
    first, second = synthetic.generate(spec), synthetic.generate(spec)
    assert first.equals(second)
    other = synthetic.generate(synthetic.Spec(enterprises=120, periods=PERIODS, seed=8, error_rate=0.05))
    assert not first.equals(other)


def test_parts_make_the_same_rows_as_the_whole(monkeypatch: pytest.MonkeyPatch):
    spec = synthetic.Spec(enterprises=25, periods=PERIODS, seed=1)
    whole = synthetic.generate(spec)
    monkeypatch.setattr(synthetic, "PART_ENTERPRISES", 10)
    parts = list(synthetic.generate_parts(spec))
    assert len(parts) == 3
    assert pl.concat(parts)["uscc"].unique().len() == 25  # codes stay distinct across parts
    assert whole["uscc"].unique().len() == 25


def test_clean_panel_is_valid_and_shaped_like_reporting_data():
    frame = synthetic.generate(synthetic.Spec(enterprises=400, periods=PERIODS, seed=11))
    assert frame["injected_error"].null_count() == len(frame)
    assert all(stdnum_uscc.is_valid(code) for code in frame["uscc"].unique())
    assert frame["uscc"].str.slice(0, 8).str.starts_with("91500").all()
    assert frame.select(pl.struct("uscc", "period").is_unique().all()).item()
    assert set(frame["group_name"].unique()) == {g[0] for g in synthetic.GROUPS}
    assert (frame["rd_expenditure_10k_yuan"] <= frame["revenue_10k_yuan"]).all()
    assert (frame["sei_output_10k_yuan"] <= frame["industrial_output_10k_yuan"]).all()
    assert (frame["high_value_invention_patents_valid"] <= frame["invention_patents_valid"]).all()
    annual = frame.filter(pl.col("period") == "2023")
    intensity = (annual["rd_expenditure_10k_yuan"] / annual["revenue_10k_yuan"]).median()
    assert 0.01 < intensity < 0.06
    assert annual["revenue_10k_yuan"].max() > 10 * annual["revenue_10k_yuan"].median()  # log-normal tail
    assert len(frame) < 400 * len(PERIODS)  # an unbalanced panel: some enterprises join late or leave


def test_error_rate_injects_every_kind_in_turn():
    frame = synthetic.generate(synthetic.Spec(enterprises=200, periods=PERIODS, seed=5, error_rate=0.03))
    counts = dict(frame.group_by("injected_error").len().drop_nulls().iter_rows())
    assert set(counts) == set(synthetic.ERROR_KINDS)
    # Each duplicate kind labels the original row and its copy.
    assert counts["conflicting_duplicate"] % 2 == 0 and counts["exact_duplicate"] % 2 == 0


def test_loader_and_mapping_catch_every_injected_row_with_the_rule_it_breaks(tmp_path: Path):
    frame = synthetic.generate(synthetic.Spec(enterprises=200, periods=PERIODS, seed=5, error_rate=0.03))
    landing = tmp_path / "landing"
    synthetic.write_csv(frame, landing / "enterprise" / "injected.csv", language="zh", encoding="gb18030")
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    summary = load_submissions(con, landing)
    mapping = map_enterprise(con)

    labelled = frame.with_row_index("line", offset=2).filter(pl.col("injected_error").is_not_null())
    bad = labelled.filter(pl.col("injected_error") != "exact_duplicate")
    quarantine = dict(con.execute("select row_number, reason from audit.quarantine").fetchall())
    assert sorted(quarantine) == bad["line"].to_list()
    for line, kind in bad.select("line", "injected_error").iter_rows():
        assert quarantine[line].split(":")[0] == RULE_OF_KIND[kind], (line, kind, quarantine[line])
    copies = labelled.filter(pl.col("injected_error") == "exact_duplicate").height // 2
    unknown_codes = bad.filter(pl.col("injected_error").is_in(["unknown_industry_code", "unknown_district_code"])).height
    assert (summary.rows_quarantined, mapping.rows_quarantined) == (bad.height - unknown_codes, unknown_codes)
    assert summary.rows_loaded == len(frame) - (bad.height - unknown_codes) - copies
    assert con.execute("select duplicate_rows_collapsed from raw.enterprise_files").fetchone() == (copies,)


def test_resubmission_share_revises_rd_of_some_rows_only():
    spec = synthetic.Spec(enterprises=200, periods=("2024",), seed=3)
    original = synthetic.generate(spec)
    revised = synthetic.generate(synthetic.Spec(enterprises=200, periods=("2024",), seed=3, revised_share=0.1))
    assert len(revised) == round(0.1 * len(original))
    joined = revised.join(original, on=["uscc", "period"], suffix="_before")
    assert len(joined) == len(revised)
    assert (joined["rd_expenditure_10k_yuan"] != joined["rd_expenditure_10k_yuan_before"]).any()
    assert (joined["rd_expenditure_10k_yuan"] <= joined["revenue_10k_yuan"]).all()
    assert (joined["revenue_10k_yuan"] == joined["revenue_10k_yuan_before"]).all()


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_command_line_writes_a_loadable_file(tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]):
    output = tmp_path / "landing" / "enterprise" / f"synthetic{suffix}"
    code = synthetic.main(
        [str(output), "--enterprises", "15", "--years", "2023-2024", "--only-periods", "2024", "--seed", "4"]
    )
    assert code == 0
    rows = int(capsys.readouterr().err.split(": ")[1].split(" rows")[0])
    summary = load_submissions(warehouse.connect(tmp_path / "w.duckdb"), tmp_path / "landing")
    assert (summary.rows_loaded, summary.rows_quarantined) == (rows, 0)
    assert 10 <= rows <= 15


def test_command_line_help_exits_cleanly(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_info:
        synthetic.main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "synthetic (fictional) SOE submissions in format 5; deterministic for a given seed" in text
    assert "--only-periods" in text and "--error-rate" in text


def test_named_group_gives_every_enterprise_to_that_group_with_fictional_names():
    group = "重庆城市交通开发投资（集团）有限公司"
    spec = synthetic.Spec(enterprises=18, periods=synthetic.period_labels([2024, 2025]), seed=2025, first_enterprise=300, group=group)
    frame = synthetic.generate(spec)
    assert frame["group_name"].unique().to_list() == [group]
    assert frame["enterprise_name"].str.starts_with("合成").all()
    assert set(frame["industry_code"].unique()) <= set(synthetic.NAMED_GROUPS[group])
    assert all(stdnum_uscc.is_valid(code) for code in frame["uscc"].unique())
    assert frame.equals(synthetic.generate(spec))  # deterministic
    with pytest.raises(ValueError, match="is not one of NAMED_GROUPS"):
        synthetic.Spec(enterprises=1, periods=("2024",), group="某某集团")


def test_shipped_named_group_file_is_what_the_documented_command_writes(tmp_path: Path):
    shipped = settings.REPO_ROOT / "data" / "landing" / "enterprise" / "synthetic_ctdi_group_2021_2025_annual_gb18030.csv"
    written = tmp_path / shipped.name
    synthetic.main([
        str(written), "--enterprises", "18", "--first-enterprise", "300", "--years", "2021-2025", "--seed", "2025",
        "--group", "重庆城市交通开发投资（集团）有限公司", "--language", "zh", "--encoding", "gb18030",
    ])
    assert written.read_bytes() == shipped.read_bytes()
    other = pl.read_csv(settings.REPO_ROOT / "data" / "landing" / "enterprise" / "synthetic_2025_annual.csv")
    assert not set(pl.read_csv(shipped, encoding="gb18030")["统一社会信用代码"]) & set(other["uscc"])
