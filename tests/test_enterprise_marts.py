"""marts.soe_innovation and marts.dim_enterprise built by dbt on loaded submissions, checked against an
independent computation in polars over the loaded rows; resubmissions supersede and stay as history."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from core import settings, warehouse
from ingestion.enterprise.loader import load_submissions
from ingestion.enterprise.mapping import map_enterprise
from tools import synthetic_enterprises as synthetic
from tests.test_enterprise_loader import VALID, row, write_csv


FIXTURES = Path(__file__).parent / "fixtures" / "enterprise"
PERIODS = synthetic.period_labels([2021, 2022, 2023, 2024], [2023, 2024])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Samples, a synthetic panel with bad rows, a resubmission and a change of group, loaded and built."""
    root = tmp_path_factory.mktemp("enterprise_marts")
    folder = root / "landing" / "enterprise"
    folder.mkdir(parents=True)
    for sample in ("template_2023.xlsx", "submission_2023_gb18030.csv", "bulk_2024q2.csv"):
        shutil.copy(FIXTURES / sample, folder)
    spec = synthetic.Spec(enterprises=150, periods=PERIODS, seed=21, error_rate=0.01)
    synthetic.write_parquet(synthetic.generate(spec), folder / "panel.parquet")
    # 样例011 (巴渝汽车工业集团 in 2023 and 2024Q2) resubmits 2023 and reports 2024 under another group.
    write_csv(folder / "x_resubmission_2023.csv", [row(rd_expenditure_10k_yuan="6000.0")])
    write_csv(folder / "y_2024.csv", [row(period="2024", group_name="两江电子信息集团")])
    con = warehouse.connect(root / "warehouse.duckdb")
    summary = load_submissions(con, root / "landing")
    rejected = map_enterprise(con).rows_quarantined
    con.close()
    assert summary.files_failed == 0
    assert rejected > 0  # the panel's unknown industry and district codes
    run_dbt(root, "build", "--select", "+soe_innovation", "+dim_enterprise")
    return root / "warehouse.duckdb"


def run_dbt(warehouse_dir: Path, *args: str, succeeds: bool = True) -> str:
    """One dbt command of the project on ``warehouse_dir/warehouse.duckdb``; its output, asserted to succeed
    (or, ``succeeds=False``, to fail)."""
    env = {**os.environ, "WAREHOUSE_DIR": str(warehouse_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            *args,
            "--project-dir", str(settings.DBT_PROJECT_DIR),
            "--profiles-dir", str(settings.DBT_PROJECT_DIR),
            "--target-path", str(warehouse_dir / "dbt_target"),
            "--log-path", str(warehouse_dir / "dbt_logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert (result.returncode == 0) == succeeds, result.stdout[-4000:]
    return result.stdout


def query(db: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def _year_before(period: str) -> str:
    return str(int(period[:4]) - 1) + period[4:]


def expected_soe_innovation(raw: pl.DataFrame) -> pl.DataFrame:
    """The mart recomputed from the loaded rows: latest load per (uscc, period), then per group and ALL."""
    current = raw.sort("loaded_at", "load_id").group_by("uscc", "period").last()
    current = current.with_columns(pl.col("period").map_elements(_year_before, return_dtype=pl.String).alias("prior"))
    prior = current.select(
        "uscc", pl.col("period").alias("prior"), pl.col("rd_expenditure_10k_yuan").alias("rd_prior"),
        pl.col("high_value_invention_patents_valid").alias("hv_prior"),
    )
    current = current.join(prior, on=["uscc", "prior"], how="left")
    aggregates = [
        pl.len().cast(pl.Int64).alias("enterprises"),
        pl.col("rd_expenditure_10k_yuan").sum(),
        pl.col("revenue_10k_yuan").sum(),
        pl.col("rd_expenditure_10k_yuan").filter(pl.col("rd_prior").is_not_null()).sum().alias("rd_matched"),
        pl.col("rd_prior").sum().alias("rd_matched_prior"),
        pl.col("rd_prior").is_not_null().sum().alias("matched"),
        pl.col("invention_patents_granted").sum(),
        pl.col("high_value_invention_patents_valid").sum(),
        pl.col("is_tech_based").sum().cast(pl.Int64).alias("tech_based_enterprises"),
        pl.col("is_hightech").sum().cast(pl.Int64).alias("hightech_enterprises"),
        pl.col("sei_output_10k_yuan").sum(),
        pl.col("industrial_output_10k_yuan").sum(),
        (pl.col("high_value_invention_patents_valid") - pl.col("hv_prior")).sum().alias("hv_added"),
    ]
    by_group = current.group_by("group_name", "period").agg(aggregates)
    overall = current.group_by("period").agg(aggregates).with_columns(pl.lit("ALL").alias("group_name"))
    table = pl.concat([by_group, overall.select(by_group.columns)])
    return table.select(
        "group_name",
        "period",
        "enterprises",
        "rd_expenditure_10k_yuan",
        "revenue_10k_yuan",
        (100 * pl.col("rd_expenditure_10k_yuan") / pl.col("revenue_10k_yuan")).alias("rd_intensity_pct"),
        pl.when((pl.col("matched") > 0) & (pl.col("rd_matched_prior") != 0))
        .then(100 * (pl.col("rd_matched") / pl.col("rd_matched_prior") - 1))
        .alias("rd_growth_pct"),
        "invention_patents_granted",
        "high_value_invention_patents_valid",
        "tech_based_enterprises",
        "hightech_enterprises",
        pl.when(pl.col("industrial_output_10k_yuan") != 0)
        .then(100 * pl.col("sei_output_10k_yuan") / pl.col("industrial_output_10k_yuan"))
        .alias("sei_output_share_pct"),
        pl.when(pl.col("matched") > 0).then(pl.col("hv_added")).alias("high_value_invention_patents_added"),
    ).sort("group_name", "period")


def test_soe_innovation_matches_an_independent_computation_over_the_loaded_rows(built: Path):
    raw = query(built, "select * from raw.enterprise_submissions anti join mapped.enterprise_rejected_rows using (load_id, row_number)")
    expected = expected_soe_innovation(raw)
    actual = query(built, "select * from marts.soe_innovation order by group_name, period")
    assert actual.columns == expected.columns
    assert actual.select("group_name", "period").rows() == expected.select("group_name", "period").rows()
    for name in actual.columns[2:]:
        for got, want in zip(actual[name].to_list(), expected[name].to_list(), strict=True):
            assert got == (None if want is None else pytest.approx(want, rel=1e-9, abs=1e-9)), name
    assert actual.filter(pl.col("rd_growth_pct").is_not_null()).height > 10


def test_soe_innovation_has_every_group_and_all_for_each_period(built: Path):
    groups = query(built, "select distinct group_name from marts.soe_innovation order by 1")["group_name"].to_list()
    assert groups == sorted({g[0] for g in synthetic.GROUPS} | {"ALL"})  # the samples use four of them
    counts = query(
        built,
        """select a.period, a.enterprises, sum(g.enterprises) as in_groups
           from marts.soe_innovation a join marts.soe_innovation g on g.period = a.period and g.group_name <> 'ALL'
           where a.group_name = 'ALL' group by a.period, a.enterprises""",
    )
    assert (counts["enterprises"] == counts["in_groups"]).all()


def test_resubmission_supersedes_and_the_old_figures_stay_as_history(built: Path):
    uscc = VALID["uscc"]
    history = query(
        built,
        f"""select source_file, rd_expenditure_10k_yuan, version, is_current, superseded_by_file
            from intermediate.int_enterprise_submissions_versioned where uscc = '{uscc}' and period = '2023'
            order by version""",
    )
    assert history.rows() == [
        ("enterprise/submission_2023_gb18030.csv", 5133.5, 1, False, "enterprise/x_resubmission_2023.csv"),
        ("enterprise/x_resubmission_2023.csv", 6000.0, 2, True, None),
    ]
    current = query(
        built,
        f"select rd_expenditure_10k_yuan from intermediate.int_enterprise_submissions_current where uscc = '{uscc}' and period = '2023'",
    )
    assert current.rows() == [(6000.0,)]


def test_dim_enterprise_keeps_the_old_group_as_a_closed_version(built: Path):
    versions = query(
        built,
        f"""select version, group_name, first_period, last_period, valid_from::varchar, valid_to::varchar, is_current,
                   industry_name_zh, district_name_zh
            from marts.dim_enterprise where uscc = '{VALID["uscc"]}' order by version""",
    )
    assert versions.rows() == [
        (1, "巴渝汽车工业集团", "2023", "2024Q2", "2023-12-31", "2024-12-31", False, "工程和技术研究和试验发展", "九龙坡区"),
        (2, "两江电子信息集团", "2024", "2024", "2024-12-31", None, True, "工程和技术研究和试验发展", "九龙坡区"),
    ]
    one_current = query(built, "select uscc, count(*) filter (where is_current) as n from marts.dim_enterprise group by uscc")
    assert (one_current["n"] == 1).all()
    enterprises = query(built, "select count(distinct uscc) as n from raw.enterprise_submissions")["n"][0]
    assert one_current.height == enterprises
