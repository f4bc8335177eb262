"""The synthetic register generator (tools/): deterministic, every kind, revocations, the transport
group's 2025 overseas patents, bad rows of every rule that the loader quarantines, and the shipped demo
files are its output."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from core import settings, warehouse
from ingestion.registers.loader import load_registers
from ingestion.registers.dates import parse_date
from ingestion.registers.mapping import map_registers
from tools import synthetic_registers as synthetic

SHIPPED = settings.REPO_ROOT / "data" / "landing" / "registers"


def test_same_seed_same_rows_with_every_kind_revocations_and_the_transport_group():
    spec = synthetic.Spec(rows=400)
    frame = synthetic.generate(spec)
    assert frame.equals(synthetic.generate(spec))
    codes = {code for code, _ in synthetic.kinds()}
    names = dict((zh, code) for code, zh in synthetic.kinds())
    assert {names.get(k, k) for k in frame["kind"]} == codes
    assert frame.filter(pl.col("revoked_on") != "").height == 18
    first = frame.head(3)
    assert first["group_name"].to_list() == [synthetic.TRANSPORT_GROUP] * 3
    assert {names.get(k, k) for k in first["kind"]} == {"overseas_invention_patent"}


def test_injected_bad_rows_are_quarantined_with_every_rule(tmp_path: Path):
    landing = tmp_path / "landing"
    synthetic.write_csv(synthetic.generate(synthetic.Spec(rows=2000, error_rate=0.03)), landing / "registers" / "r.csv")
    con = warehouse.connect(tmp_path / "w.duckdb")
    summary = load_registers(con, landing)
    map_registers(con)
    rules = dict(con.execute(
        "select split_part(reason, ':', 1) as rule, count(*) from audit.quarantine group by rule"
    ).fetchall())
    con.close()
    assert set(rules) == set(synthetic.ERRORS)
    assert rules["conflicting_duplicate"] == 2 * 10  # 60 bad rows, 10 per rule; a conflict quarantines both rows
    assert summary.rows_loaded + summary.rows_quarantined == 2000


def test_shipped_demo_files_are_the_generators_output(tmp_path: Path):
    args = ["--rows", "400", "--years", "2021-2025", "--seed", "2025"]
    synthetic.main([str(tmp_path / "a.csv"), *args, "--language", "zh", "--encoding", "gb18030"])
    synthetic.main([str(tmp_path / "b.csv"), *args, "--only-rows", "100:110", "--revoke-on", "2025-09-30"])
    assert (tmp_path / "a.csv").read_bytes() == (SHIPPED / "synthetic_2021_2025_register_gb18030.csv").read_bytes()
    assert (tmp_path / "b.csv").read_bytes() == (SHIPPED / "synthetic_2025_resubmission_utf8.csv").read_bytes()
    synthetic.main([
        str(tmp_path / "c.csv"), "--rows", "80", "--years", "2026-2026", "--last-day", "2026-10-31", "--seed", "2026",
        "--prefix", "SYN26", "--holder-prefix", "合成认定B", "--language", "zh", "--encoding", "utf-8-sig",
    ])
    assert (tmp_path / "c.csv").read_bytes() == (SHIPPED / "synthetic_2026_register_utf8_bom.csv").read_bytes()


def test_last_day_bounds_every_date_and_holder_prefix_names_the_holders():
    spec = synthetic.Spec(rows=200, years=(2026, 2026), seed=7, last_day=date(2026, 3, 31), holder_prefix="合成认定B")
    frame = synthetic.generate(spec)
    days = [parse_date(t) for t in frame["recognized_on"]] + [parse_date(t) for t in frame["revoked_on"] if t]
    assert min(days) >= date(2026, 1, 1) and max(days) <= date(2026, 3, 31)
    assert all(name.startswith("合成认定B") for name in frame["holder_name"])


def test_row_numbers_of_a_large_csv_are_its_line_numbers(tmp_path: Path):
    """Rows are numbered from the order the file was copied in (no per-record numbering while reading):
    across DuckDB's parallel chunks every quarantined row still names its line."""
    path = synthetic.write_csv(synthetic.generate(synthetic.Spec(rows=300_000, error_rate=0.0005)), tmp_path / "registers" / "r.csv")
    con = warehouse.connect(tmp_path / "w.duckdb")
    load_registers(con, tmp_path)
    quarantined = con.execute("select row_number, record ->> 'record_id' from audit.quarantine order by row_number").fetchall()
    (last,) = con.execute("select max(row_number) from raw.register_records").fetchone()
    con.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(quarantined) > 100 and last == len(lines)
    assert all(lines[number - 1].startswith(record_id + ",") for number, record_id in quarantined)
