"""A deterministic generator of fictional recognitions registers (format 6), for the demo data and the
benchmark. Not part of the pipeline: nothing here is loaded unless its output is put in a landing folder.

Every holder is made up (``合成认定00000有限公司``, "synthetic"), with a valid USCC of a Chongqing district;
about half belong to a municipal SOE group (the fictional groups of the enterprise generator, and the group
T14-T16 name, ``重庆城市交通开发投资（集团）有限公司``), the rest to none. Every kind of
``ref_recognition_kinds`` occurs, written by its code or its Chinese name; dates are spread over the given
years in the three accepted spellings; a share of recognitions is revoked later. ``--error-rate`` injects
bad rows of every rule (for the benchmark); the same ``--seed`` gives the same file.

    python -m tools.synthetic_registers out.csv --rows 400 --years 2021-2025 --language zh --encoding gb18030
    python -m tools.synthetic_registers bench.csv --rows 1000000 --error-rate 0.001
    python -m tools.synthetic_registers out.csv --rows 80 --years 2026-2026 --last-day 2026-10-31 --prefix SYN26

``--last-day`` ends the dates before the end of the last year (a register of the current year has no date
after the day it is loaded); ``--holder-prefix`` names the holders of a file from another seed apart from
those of the default one (same numbers, other USCCs).
"""

from __future__ import annotations

import argparse
import codecs
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from core.settings import SEEDS_DIR
from ingestion.registers import schema
from ingestion.registers.dates import parse_date
from tools.synthetic_enterprises import GROUPS, uscc_codes

#: The group T14-T16 name (ref_target_scopes): its holders here are fictional.
TRANSPORT_GROUP = "重庆城市交通开发投资（集团）有限公司"
SOE_GROUPS = (TRANSPORT_GROUP, *(g[0] for g in GROUPS))
DISTRICTS = np.array([500103, 500105, 500106, 500107, 500108, 500112, 500113, 500116])
BODIES = {"overseas_invention_patent": "欧洲专利局", "national_high_level_platform": "国家发展和改革委员会",
          "specialized_new_sme": "重庆市经济和信息化委员会", "municipal_industrial_design_centre": "重庆市经济和信息化委员会",
          "renowned_brand": "重庆市国资委", "first_class_modern_enterprise": "重庆市国资委"}
ERRORS = ("invalid_uscc", "invalid_date", "future_date", "revoked_before_recognized", "conflicting_duplicate", "unknown_kind")


@dataclass(frozen=True)
class Spec:
    rows: int = 400
    years: tuple[int, int] = (2021, 2025)
    seed: int = 2025
    revoked_share: float = 0.06
    error_rate: float = 0.0
    prefix: str = "SYN"  # record_id prefix: files from different specs do not share ids
    last_day: date | None = None  # the last possible date (default: 31 December of the last year)
    holder_prefix: str = "合成认定"  # holder names: <prefix><number>有限公司


def kinds() -> list[tuple[str, str]]:
    """(code, Chinese name) of every kind in the seed."""
    with open(SEEDS_DIR / "ref_recognition_kinds.csv", encoding="utf-8", newline="") as handle:
        return [(row["code"], row["name_zh"]) for row in csv.DictReader(handle)]


def generate(spec: Spec) -> pl.DataFrame:
    """``spec.rows`` register rows with the canonical column names, every cell as text."""
    rng = np.random.default_rng(spec.seed)
    n = spec.rows
    holders = max(40, n // 8)
    holder_uscc = uscc_codes(rng.choice(DISTRICTS, holders), rng.integers(31**8, 31**9, holders))
    # the first half of the holders are SOEs; a sixth of those belong to the transport group
    soe = np.arange(holders) < holders // 2
    group_index = np.where(np.arange(holders) % 6 == 0, 0, 1 + np.arange(holders) % (len(SOE_GROUPS) - 1))
    holder_group = np.where(soe, np.array(SOE_GROUPS)[group_index], "")
    holder = rng.integers(0, holders, n)
    kind_list = kinds()
    kind = rng.integers(0, len(kind_list), n)
    first, last = date(spec.years[0], 1, 1).toordinal(), (spec.last_day or date(spec.years[1], 12, 31)).toordinal()
    recognized = rng.integers(first, last + 1, n)
    # the transport group's overseas invention patents (T16): the first three rows, in the last year
    pinned = min(3, n)
    transport = np.flatnonzero(holder_group == TRANSPORT_GROUP)
    holder[:pinned] = transport[:pinned] if len(transport) >= pinned else holder[:pinned]
    kind[:pinned] = [c for c, _ in kind_list].index("overseas_invention_patent")
    recognized[:pinned] = rng.integers(date(spec.years[1], 1, 1).toordinal(), last + 1, pinned)
    revoked = recognized + rng.integers(30, 900, n)
    revoked = np.where((rng.random(n) < spec.revoked_share) & (revoked <= last) & (np.arange(n) >= pinned), revoked, 0)
    codes = np.array([c for c, _ in kind_list])
    names = np.array([z for _, z in kind_list])
    frame = pl.DataFrame(
        {
            "i": np.arange(n),
            "uscc": holder_uscc[holder],
            "holder": holder,
            "group_name": holder_group[holder],
            "code": codes[kind],
            "name_zh": names[kind],
            "by_name": rng.random(n) < 0.5,
            "recognized": pl.Series(recognized - 719163, dtype=pl.Int32).cast(pl.Date),  # ordinal -> epoch days
            "revoked": pl.Series(np.where(revoked > 0, revoked - 719163, -1), dtype=pl.Int32),
            "spelling": rng.integers(0, 3, n),
        }
    ).with_columns(pl.when(pl.col("revoked") >= 0).then(pl.col("revoked").cast(pl.Date)).alias("revoked"))
    frame = frame.select(
        record_id=pl.lit(f"{spec.prefix}-") + pl.col("i").cast(pl.String).str.zfill(7),
        uscc=pl.col("uscc"),
        holder_name=pl.lit(spec.holder_prefix) + pl.col("holder").cast(pl.String).str.zfill(5) + pl.lit("有限公司"),
        group_name=pl.col("group_name"),
        kind=pl.when(pl.col("by_name")).then(pl.col("name_zh")).otherwise(pl.col("code")),
        title=pl.col("name_zh") + pl.col("i").cast(pl.String).str.zfill(5) + pl.lit("号（合成）"),
        recognized_by=pl.col("code").replace_strict(BODIES, default="重庆市科学技术局"),
        recognized_on=_spelled(pl.col("recognized"), pl.col("spelling")),
        reference=pl.lit("渝合成〔") + pl.col("recognized").dt.year().cast(pl.String) + pl.lit("〕")
        + pl.col("i").cast(pl.String) + pl.lit("号"),
        revoked_on=_spelled(pl.col("revoked"), pl.col("spelling")).fill_null(""),
    )
    return _inject_errors(frame, rng, spec.error_rate) if spec.error_rate else frame


def _spelled(day: pl.Expr, spelling: pl.Expr) -> pl.Expr:
    """A date in one of the three accepted spellings."""
    return (
        pl.when(spelling == 0).then(day.dt.strftime("%Y-%m-%d"))
        .when(spelling == 1).then(day.dt.strftime("%Y/%-m/%-d"))
        .otherwise(day.dt.strftime("%Y年%-m月%-d日"))
    )


def _inject_errors(frame: pl.DataFrame, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """Replace a share ``rate`` of the rows by bad rows, one rule each in turn (after the pinned rows)."""
    n = frame.height
    chosen = rng.choice(np.arange(3, n), size=min(n - 3, int(n * rate)), replace=False)
    error = np.full(n, -1)
    error[chosen] = np.arange(len(chosen)) % len(ERRORS)
    frame = frame.with_columns(pl.Series("_error", error), pl.Series("_prev", np.roll(frame["record_id"].to_numpy(), 1)))
    e = pl.col("_error")
    frame = frame.with_columns(
        uscc=pl.when(e == 0).then(pl.col("uscc").str.slice(0, 17) + pl.lit("I")).otherwise(pl.col("uscc")),
        recognized_on=pl.when(e == 1).then(pl.lit("2024-02-30")).when(e == 2).then(pl.lit("2099-01-01"))
        .when(e == 3).then(pl.lit("2024-06-30")).otherwise(pl.col("recognized_on")),
        revoked_on=pl.when(e == 3).then(pl.lit("2024-06-29")).otherwise(pl.col("revoked_on")),
        kind=pl.when(e == 5).then(pl.lit("未知类别")).otherwise(pl.col("kind")),
        # the id of the row before, with other content: both rows are conflicting duplicates
        record_id=pl.when(e == 4).then(pl.col("_prev")).otherwise(pl.col("record_id")),
    )
    return frame.drop("_error", "_prev")


def headers(language: str) -> list[str]:
    return [c.header_zh if language == "zh" else c.header_en for c in schema.columns()]


def write_csv(frame: pl.DataFrame, path: Path, *, language: str = "en", encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.rename(dict(zip(frame.columns, headers(language), strict=True))).write_csv()
    data = text.encode(encoding.removesuffix("-sig"))
    path.write_bytes((codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"") + data)
    return path


def write_xlsx(frame: pl.DataFrame, path: Path, *, title: str) -> Path:
    """The register template: sheet 认定与成果登记, the title in row 1, Chinese headers in row 2."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet(schema.TEMPLATE_SHEET)
    sheet.write_row(0, 0, [title])
    sheet.write_row(1, 0, headers("zh"))
    for index, values in enumerate(frame.iter_rows(), start=2):
        for column, value in enumerate(values):
            if value:
                sheet.write_string(index, column, value)
    workbook.close()
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.synthetic_registers", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the file to write (.csv or .xlsx)")
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--years", default="2021-2025", help="first-last year of the recognitions")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--revoked-share", type=float, default=0.06)
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of bad rows (every rule in turn)")
    parser.add_argument("--prefix", default="SYN", help="record_id prefix")
    parser.add_argument("--last-day", default=None, help="the last possible date (yyyy-mm-dd; default: 31 December of the last year)")
    parser.add_argument("--holder-prefix", default="合成认定", help="holder names: <prefix><number>有限公司")
    parser.add_argument("--only-rows", default=None, help="keep rows start:stop of the generated register (a resubmission)")
    parser.add_argument("--revoke-on", default=None, help="with --only-rows: revoke those rows on this day (yyyy-mm-dd)"
                        " if they were recognized by then")
    parser.add_argument("--language", choices=("zh", "en"), default="en")
    parser.add_argument("--encoding", choices=("utf-8", "utf-8-sig", "gb18030"), default="utf-8")
    parser.add_argument("--title", default="认定与成果登记表（合成数据）")
    args = parser.parse_args(argv)
    first, last = (int(y) for y in args.years.split("-"))
    last_day = date.fromisoformat(args.last_day) if args.last_day else None
    if last_day is not None and last_day.year != last:
        parser.error(f"--last-day {last_day} is not in the last year {last}")
    spec = Spec(args.rows, (first, last), args.seed, args.revoked_share, args.error_rate, args.prefix, last_day, args.holder_prefix)
    frame = generate(spec)
    if args.only_rows:
        start, stop = (int(x) for x in args.only_rows.split(":"))
        frame = frame.slice(start, stop - start)
        if args.revoke_on:  # rows recognized after that day are resubmitted unchanged
            recognized = frame["recognized_on"].map_elements(lambda t: parse_date(t).isoformat(), return_dtype=pl.String)
            revoke = pl.Series(recognized) <= args.revoke_on
            frame = frame.with_columns(revoked_on=pl.when(revoke).then(pl.lit(args.revoke_on)).otherwise(pl.col("revoked_on")))
    if args.out.suffix.lower() == ".xlsx":
        write_xlsx(frame, args.out, title=args.title)
    else:
        write_csv(frame, args.out, language=args.language, encoding=args.encoding)
    print(f"wrote {frame.height} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
