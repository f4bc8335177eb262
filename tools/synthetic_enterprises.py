"""Synthetic SOE submissions (format 5) for the demo data, the tests and the benchmark.

Everything here is fictional: enterprise names start with ``合成`` ("synthetic"), the groups are
invented, and every figure is drawn from a seeded random generator, so the same arguments always give
the same rows. The one exception is the group: targets of the SOE plans name real groups
(:data:`NAMED_GROUPS`), and ``Spec.group`` makes every generated enterprise a member of such a group so
the targets have figures to be tracked on. The members and their figures are still fictional (names
``合成…``); no real enterprise is given figures. The distributions are shaped like real reporting data: log-normal revenue, R&D intensity
of about 1-6 % drifting upwards, Poisson-like patent counts, industrial output only for industrial
enterprises, a handful of groups of very different sizes, and a panel that is not balanced (some
enterprises start reporting later, some stop), so like-for-like growth differs from the naive one.

``error_rate`` corrupts that share of the rows, cycling through every kind of bad row the loader must
quarantine (:data:`ERROR_KINDS`); the ``injected_error`` column says which row got which.

Run ``python -m tools.synthetic_enterprises --help`` for the command line.
"""

from __future__ import annotations

import argparse
import codecs
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ingestion.enterprise import schema
from ingestion.enterprise.validation import USCC_ALPHABET, USCC_WEIGHTS

#: Fictional municipal SOE groups, their relative size and the GB/T 4754-2017 classes of their members.
GROUPS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("巴渝汽车工业集团", 0.26, ("C3611", "C3612", "C3670", "C3660", "M7320")),
    ("两江电子信息集团", 0.22, ("C3912", "C3982", "C3973", "C3976", "I6513")),
    ("山城交通建设投资集团", 0.18, ("E4812", "G5412", "C3720", "M7481", "I6531")),
    ("渝创机电控股集团", 0.14, ("C3441", "C3811", "C3825", "C3491", "C3424")),
    ("嘉陵新材料集团", 0.12, ("C2614", "C2651", "C3216", "C3091", "C2929")),
    ("缙云能源集团", 0.08, ("D4411", "D4413", "D4420", "C3841", "D4511")),
)
#: Real municipal SOE groups that policy targets name (policy_targets.csv scope ``enterprise:<group>``), as
#: the submissions spell them (ref_target_scopes.group_name), with GB/T 4754-2017 classes for their
#: fictional members: ``Spec.group`` generates only members of one of them.
NAMED_GROUPS: dict[str, tuple[str, ...]] = {
    # Chongqing City Transportation Development & Investment Group (T14-T16): rail transit, roads, engineering
    "重庆城市交通开发投资（集团）有限公司": ("E4814", "G5412", "E4813", "M7481", "C3714"),
}
#: Sections of GB/T 4754 that count as industry (mining, manufacturing, utilities): only they report output.
INDUSTRIAL_SECTIONS = ("B", "C", "D")
#: Chongqing districts where the synthetic enterprises are registered, with weights (central districts first).
DISTRICTS: tuple[tuple[str, float], ...] = (
    ("500112", 0.20), ("500105", 0.12), ("500107", 0.12), ("500106", 0.10), ("500108", 0.08),
    ("500103", 0.08), ("500113", 0.06), ("500109", 0.06), ("500116", 0.04), ("500115", 0.03),
    ("500102", 0.03), ("500101", 0.03), ("500120", 0.02), ("500118", 0.02), ("500243", 0.01),
)
_NAME_SUFFIXES = ("实业有限公司", "科技有限公司", "制造有限公司", "工程有限公司", "信息技术有限公司")

#: Every kind of bad row the generator can inject, in the order it cycles through them.
ERROR_KINDS = (
    "uscc_check_character",
    "uscc_length",
    "uscc_alphabet",
    "unknown_industry_code",
    "unknown_district_code",
    "invalid_period",
    "negative_amount",
    "rd_above_revenue",
    "sei_above_industrial_output",
    "high_value_above_valid_patents",
    "missing_value",
    "conflicting_duplicate",
    "exact_duplicate",
)
#: Enterprises generated at a time: bounds memory for the benchmark's ten million rows.
PART_ENTERPRISES = 50_000


@dataclass(frozen=True)
class Spec:
    """What to generate: ``enterprises`` x ``periods`` rows (fewer where the panel is unbalanced)."""

    enterprises: int
    periods: tuple[str, ...]
    seed: int = 0
    error_rate: float = 0.0
    first_enterprise: int = 0  # numbering offset, so two specs can describe disjoint enterprises
    keep_periods: tuple[str, ...] = ()  # write only these periods of the panel (all when empty)
    revised_share: float = 0.0  # > 0: only this share of the rows, with corrected R&D figures (a resubmission)
    group: str | None = None  # a group of NAMED_GROUPS: every enterprise is a (fictional) member of it

    def __post_init__(self) -> None:
        if self.group is not None and self.group not in NAMED_GROUPS:
            raise ValueError(f"group {self.group!r} is not one of NAMED_GROUPS: {', '.join(NAMED_GROUPS)}")


def period_labels(years: Sequence[int], quarter_years: Sequence[int] = ()) -> tuple[str, ...]:
    """Annual labels for ``years`` and the four quarters of each of ``quarter_years``."""
    return tuple(str(y) for y in years) + tuple(f"{y}Q{q}" for y in quarter_years for q in range(1, 5))


def uscc_codes(district_codes: np.ndarray, organisation_numbers: np.ndarray) -> np.ndarray:
    """Valid USCCs ``91`` + district + 9-character organisation code + check character, vectorized."""
    n = len(district_codes)
    digits = np.empty((n, 17), dtype=np.int64)
    digits[:, 0], digits[:, 1] = 9, 1
    district = district_codes.astype(np.int64)
    for position in range(6):
        digits[:, 7 - position] = district % 10
        district //= 10
    number = organisation_numbers.astype(np.int64)
    for position in range(9):
        digits[:, 16 - position] = number % 31
        number //= 31
    check = (31 - (digits * np.asarray(USCC_WEIGHTS)).sum(axis=1) % 31) % 31
    alphabet = np.array(list(USCC_ALPHABET))
    chars = np.ascontiguousarray(alphabet[np.column_stack([digits, check])])
    return chars.view(f"<U{18}").ravel()


def generate(spec: Spec) -> pl.DataFrame:
    """The submissions of ``spec``: canonical English columns plus ``injected_error`` (null when clean)."""
    return pl.concat(list(generate_parts(spec)))


def generate_parts(spec: Spec) -> Iterator[pl.DataFrame]:
    """:func:`generate` in parts of :data:`PART_ENTERPRISES` enterprises each (same rows, less memory)."""
    for part, start in enumerate(range(0, max(spec.enterprises, 1), PART_ENTERPRISES)):
        count = min(PART_ENTERPRISES, spec.enterprises - start)
        yield _generate_part(spec, spec.first_enterprise + start, count, part)


def _generate_part(spec: Spec, first: int, n: int, part: int) -> pl.DataFrame:
    rng = np.random.default_rng([spec.seed, part])
    labels = list(spec.periods)
    years = np.array([int(p[:4]) for p in labels])
    quarters = np.array([int(p[5]) if "Q" in p else 0 for p in labels])
    first_year = years.min()

    # ---------- enterprises
    ids = np.arange(first, first + n)
    group = rng.choice(len(GROUPS), size=n, p=np.array([g[1] for g in GROUPS]) / sum(g[1] for g in GROUPS))
    industry_choice = rng.integers(0, 5, size=n)
    classes = np.array([g[2] for g in GROUPS])
    group_names = np.array([g[0] for g in GROUPS])
    if spec.group is not None:  # the draws above stay, so the rest of the stream is that of any other spec
        classes, group_names, group = np.array([NAMED_GROUPS[spec.group]]), np.array([spec.group]), np.zeros(n, int)
    industry = classes[group, industry_choice]
    industrial = np.vectorize(lambda code: code[0] in INDUSTRIAL_SECTIONS)(classes)[group, industry_choice]
    weights = np.array([w for _, w in DISTRICTS])
    district = np.array([d for d, _ in DISTRICTS])[rng.choice(len(DISTRICTS), size=n, p=weights / weights.sum())]
    # i -> (i * m + c) mod 31^9 with m coprime to 31 is a bijection: distinct, random-looking codes
    # (m and c depend on the seed only, so codes stay distinct across parts).
    code_rng = np.random.default_rng(spec.seed)
    multiplier = int(code_rng.integers(10**11, 10**12)) // 31 * 31 + 1
    organisation = (ids.astype(np.int64) * multiplier + int(code_rng.integers(0, 31**9))) % 31**9
    uscc = uscc_codes(district, organisation)
    names = np.char.add(np.char.add("合成", np.char.zfill(ids.astype(str), 5)), np.array(_NAME_SUFFIXES)[ids % 5])
    base_revenue = rng.lognormal(mean=np.log(120_000), sigma=1.0, size=n)  # 10k yuan, median 1.2 billion yuan
    revenue_growth = rng.normal(0.06, 0.05, size=n)
    base_intensity = np.clip(rng.gamma(4.0, 0.007, size=n), 0.008, 0.07)  # R&D / revenue, mean about 2.8 %
    base_sei_share = rng.beta(3.0, 5.0, size=n)
    patent_stock = rng.gamma(2.0, 40.0, size=n)
    is_hightech = rng.random(n) < np.clip(base_intensity * 14, 0.05, 0.9)
    is_tech_based = is_hightech | (rng.random(n) < 0.45)
    has_rd_institution = rng.random(n) < 0.7
    # Unbalanced panel: about 12 % join after the first year, about 5 % stop before the last.
    span = years.max() - first_year
    join_year = first_year + np.where(rng.random(n) < 0.12, rng.integers(0, span + 1, size=n), 0)
    leave_year = np.maximum(years.max() - np.where(rng.random(n) < 0.05, rng.integers(0, span + 1, size=n), 0), join_year)

    # Some enterprises are certified during the panel: high-tech or technology-based from a later year on.
    never = np.iinfo(np.int64).max
    hightech_from = np.where(~is_hightech & (rng.random(n) < 0.2), first_year + rng.integers(1, span + 2, size=n), never)
    tech_based_from = np.where(~is_tech_based & (rng.random(n) < 0.25), first_year + rng.integers(1, span + 2, size=n), never)

    # ---------- enterprise x period
    e = np.repeat(np.arange(n), len(labels))
    p = np.tile(np.arange(len(labels)), n)
    present = (years[p] >= join_year[e]) & (years[p] <= leave_year[e])
    e, p = e[present], p[present]
    rows = len(e)
    t = years[p] - first_year
    fraction = np.where(quarters[p] > 0, 0.25, 1.0)  # flows of a quarter are about a quarter of the year's
    noise = rng.lognormal(0.0, 0.08, size=rows)
    revenue = base_revenue[e] * (1 + revenue_growth[e]) ** t * fraction * noise
    intensity = np.clip(base_intensity[e] * (1 + 0.04 * t) * rng.lognormal(0.0, 0.1, size=rows), 0.002, 0.2)
    rd = revenue * intensity
    output = np.where(industrial[e], revenue * rng.uniform(0.85, 1.02, size=rows), 0.0)
    sei = output * np.clip(base_sei_share[e] + 0.02 * t + rng.normal(0, 0.03, size=rows), 0.0, 1.0)
    rd_personnel = rng.poisson(np.maximum(rd / fraction, 1) / 45.0)
    applications = rng.poisson(rd / 900.0 + 0.5)
    granted = rng.poisson(rd / 1800.0 + 0.3)
    valid = rng.poisson(patent_stock[e] * (1 + 0.12 * t) + 1)
    high_value = rng.binomial(valid, 0.3)

    enterprises = pl.DataFrame(
        {
            "uscc": uscc,
            "enterprise_name": names,
            "group_name": group_names[group],
            "industry_code": industry,
            "district_code": district,
        }
    )
    frame = pl.concat(
        [
            enterprises[e],
            pl.DataFrame(
                {
                    "period": pl.Series(labels, dtype=pl.String)[p],
                    "revenue_10k_yuan": np.round(revenue, 1),
                    "rd_expenditure_10k_yuan": np.round(rd, 1),
                    "rd_personnel": rd_personnel,
                    "invention_patent_applications": applications,
                    "invention_patents_granted": granted,
                    "invention_patents_valid": valid,
                    "high_value_invention_patents_valid": high_value,
                    "industrial_output_10k_yuan": np.round(output, 1),
                    "sei_output_10k_yuan": np.minimum(np.round(sei, 1), np.round(output, 1)),
                    "is_hightech": is_hightech[e] | (years[p] >= hightech_from[e]),
                    "is_tech_based": is_tech_based[e] | (years[p] >= tech_based_from[e]) | (years[p] >= hightech_from[e]),
                    "has_rd_institution": has_rd_institution[e],
                },
                schema_overrides={name: pl.Int64 for name in _COUNTS},
            ),
        ],
        how="horizontal",
    ).with_columns(pl.lit(None, pl.String).alias("injected_error"))
    if spec.keep_periods:
        frame = frame.filter(pl.col("period").is_in(spec.keep_periods))
    if spec.revised_share > 0:
        frame = _revise(frame, rng, spec.revised_share)
    return _inject_errors(frame, rng, spec.error_rate) if spec.error_rate > 0 and len(frame) else frame


def _revise(frame: pl.DataFrame, rng: np.random.Generator, share: float) -> pl.DataFrame:
    """A resubmission: ``share`` of the rows with R&D expenditure corrected by -10 % to +10 % (never above
    revenue) and the patents granted by -1 to +1 (never below zero)."""
    picked = np.sort(rng.choice(len(frame), size=min(len(frame), max(1, round(share * len(frame)))), replace=False))
    revised = frame[picked]
    factor = pl.Series(rng.uniform(0.9, 1.1, size=len(revised)))
    step = pl.Series(rng.integers(-1, 2, size=len(revised)))
    return revised.with_columns(
        pl.min_horizontal((pl.col("rd_expenditure_10k_yuan") * factor).round(1), pl.col("revenue_10k_yuan")),
        pl.max_horizontal(pl.col("invention_patents_granted") + step, pl.lit(0)).cast(pl.Int64),
    )


_COUNTS = [c.name for c in schema.columns() if c.kind == "count"]


def _inject_errors(frame: pl.DataFrame, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """Corrupt ``rate`` of the rows, one kind each, cycling through :data:`ERROR_KINDS`. A duplicate kind
    keeps the picked row and adds its (conflicting or exact) copy right after it, both labelled."""
    count = min(len(frame), max(1, round(rate * len(frame))))
    picked = np.sort(rng.choice(len(frame), size=count, replace=False))
    kinds = pl.Series("injected_error", [ERROR_KINDS[i % len(ERROR_KINDS)] for i in range(count)])
    mask = np.zeros(len(frame), dtype=bool)
    mask[picked] = True
    order = pl.Series("_order", np.arange(len(frame), dtype=np.float64))
    chosen = frame[picked].with_columns(kinds, order[picked])
    duplicates = chosen.filter(pl.col("injected_error").is_in(["conflicting_duplicate", "exact_duplicate"]))
    corrupted = pl.concat(
        [_corrupt(chosen.filter(pl.col("injected_error") == kind), kind) for kind in ERROR_KINDS]
    ).with_columns(
        pl.when(pl.col("injected_error").is_in(["conflicting_duplicate", "exact_duplicate"]))
        .then(pl.col("_order") + 0.5)
        .otherwise(pl.col("_order"))
    )
    parts = [frame.filter(~mask).with_columns(order.filter(~mask)), duplicates, corrupted]
    return pl.concat(parts, how="vertical_relaxed").sort("_order").drop("_order")


def _corrupt(rows: pl.DataFrame, kind: str) -> pl.DataFrame:
    if rows.is_empty():
        return rows
    uscc = pl.col("uscc")
    changes: dict[str, pl.Expr] = {
        # the check character of a valid code shifted by one position in the alphabet
        "uscc_check_character": uscc.str.slice(0, 17)
        + uscc.str.slice(17, 1).replace_strict(
            list(USCC_ALPHABET), list(USCC_ALPHABET[1:] + USCC_ALPHABET[0])
        ),
        "uscc_length": uscc.str.slice(0, 17),
        "uscc_alphabet": uscc.str.slice(0, 10) + pl.lit("O") + uscc.str.slice(11, 7),
        "unknown_industry_code": pl.lit("C9999"),
        "unknown_district_code": pl.lit("510104"),  # a district of Chengdu, not Chongqing
        "invalid_period": pl.col("period") + pl.lit("Q5"),
        "negative_amount": -pl.col("rd_expenditure_10k_yuan") - 1,
        "rd_above_revenue": (pl.col("revenue_10k_yuan") * 1.5 + 1).round(1),
        "sei_above_industrial_output": pl.col("industrial_output_10k_yuan") + 100,
        "high_value_above_valid_patents": pl.col("invention_patents_valid") + 3,
        "missing_value": pl.lit(None, pl.Float64),
        "conflicting_duplicate": pl.col("revenue_10k_yuan") + 10,
    }
    target = {
        "uscc_check_character": "uscc",
        "uscc_length": "uscc",
        "uscc_alphabet": "uscc",
        "unknown_industry_code": "industry_code",
        "unknown_district_code": "district_code",
        "invalid_period": "period",
        "negative_amount": "rd_expenditure_10k_yuan",
        "rd_above_revenue": "rd_expenditure_10k_yuan",
        "sei_above_industrial_output": "sei_output_10k_yuan",
        "high_value_above_valid_patents": "high_value_invention_patents_valid",
        "missing_value": "revenue_10k_yuan",
        "conflicting_duplicate": "revenue_10k_yuan",
    }
    if kind not in changes:  # exact_duplicate: the copy is identical
        return rows
    return rows.with_columns(changes[kind].alias(target[kind]))


# ---------- writers


def _as_written(frame: pl.DataFrame, language: str, flag_spelling: tuple[str, str]) -> pl.DataFrame:
    """Drop the bookkeeping column, spell flags as text and use the Chinese or English headers."""
    yes, no = flag_spelling
    flags = [c.name for c in schema.columns() if c.kind == "flag"]
    out = frame.drop("injected_error", strict=False).with_columns(
        pl.when(pl.col(f)).then(pl.lit(yes)).otherwise(pl.lit(no)).alias(f) for f in flags
    )
    if language == "zh":
        out = out.rename({c.name: c.header_zh for c in schema.columns()})
    return out


Frames = pl.DataFrame | Iterable[pl.DataFrame]


def _parts(frames: Frames) -> Iterator[pl.DataFrame]:
    yield from [frames] if isinstance(frames, pl.DataFrame) else frames


def write_parquet(frames: Frames, path: Path) -> Path:
    """A bulk extract as Parquet: English headers, typed columns (flags as booleans)."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for frame in _parts(frames):
            table = frame.drop("injected_error", strict=False).to_arrow()
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return path


def csv_text(frame: pl.DataFrame, *, language: str = "en", header: bool = True) -> str:
    """One part of a CSV extract as text: ``language`` zh (Chinese headers, 是/否) or en (Y/N)."""
    out = _as_written(frame, language, ("是", "否") if language == "zh" else ("Y", "N"))
    return out.write_csv(include_header=header)


def write_csv(frames: Frames, path: Path, *, language: str = "en", encoding: str = "utf-8") -> Path:
    """A CSV extract in ``language`` (see :func:`csv_text`), encoded utf-8, utf-8-sig or gb18030."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        if encoding == "utf-8-sig":
            handle.write(codecs.BOM_UTF8)
        for index, frame in enumerate(_parts(frames)):
            handle.write(csv_text(frame, language=language, header=index == 0).encode(encoding.removesuffix("-sig")))
    return path


def write_xlsx(frames: Frames, path: Path, *, title: str) -> Path:
    """The reporting template: sheet 企业科技创新情况, ``title`` in row 1, Chinese headers in row 2."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    out = _as_written(pl.concat(list(_parts(frames))), "zh", ("是", "否"))
    workbook = xlsxwriter.Workbook(str(path))
    try:
        sheet = workbook.add_worksheet("企业科技创新情况")
        sheet.write_row(0, 0, [title])
        sheet.write_row(1, 0, out.columns)
        for row_index, row in enumerate(out.iter_rows(), start=2):
            for col_index, value in enumerate(row):
                if value is not None:
                    sheet.write(row_index, col_index, value)
    finally:
        workbook.close()
    return path


def write(frames: Frames, path: Path, *, language: str = "en", encoding: str = "utf-8", title: str = "") -> Path:
    """Write in the format named by the file's extension (.parquet, .csv or .xlsx)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return write_parquet(frames, path)
    if suffix == ".csv":
        return write_csv(frames, path, language=language, encoding=encoding)
    if suffix == ".xlsx":
        return write_xlsx(frames, path, title=title or "市属国有企业科技创新统计报表（合成数据）")
    raise ValueError(f"{path}: unsupported extension {suffix!r} (expected .parquet, .csv or .xlsx)")


def _year_range(text: str) -> list[int]:
    if not text:
        return []
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.synthetic_enterprises",
        description="Write synthetic (fictional) SOE submissions in format 5; deterministic for a given seed.",
    )
    parser.add_argument("output", type=Path, help="file to write: .parquet, .csv or .xlsx")
    parser.add_argument("--enterprises", type=int, default=300, help="number of enterprises (default 300)")
    parser.add_argument("--years", default="2021-2024", help="annual periods, e.g. 2021-2024 (default)")
    parser.add_argument("--quarters", default="", help="years whose four quarters to add, e.g. 2023-2024")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of rows to corrupt (default 0)")
    parser.add_argument("--first-enterprise", type=int, default=0, help="numbering offset of the enterprises")
    parser.add_argument(
        "--group", default=None, choices=sorted(NAMED_GROUPS), help="make every enterprise a fictional member of this named group"
    )
    parser.add_argument("--language", choices=["en", "zh"], default="en", help="CSV headers (xlsx is always zh)")
    parser.add_argument("--encoding", choices=["utf-8", "utf-8-sig", "gb18030"], default="utf-8", help="CSV encoding")
    parser.add_argument("--title", default="", help="title row of the xlsx template")
    parser.add_argument(
        "--only-periods", default="", help="comma-separated periods of the panel to write (default: all)"
    )
    parser.add_argument(
        "--revised-share", type=float, default=0.0, help="write only this share of rows, with corrected R&D figures"
    )
    args = parser.parse_args(argv)
    spec = Spec(
        enterprises=args.enterprises,
        periods=period_labels(_year_range(args.years), _year_range(args.quarters)),
        seed=args.seed,
        error_rate=args.error_rate,
        first_enterprise=args.first_enterprise,
        keep_periods=tuple(p.strip() for p in args.only_periods.split(",") if p.strip()),
        revised_share=args.revised_share,
        group=args.group,
    )
    counts = {"rows": 0, "injected": 0}

    def counted(parts: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        for part in parts:
            counts["rows"] += len(part)
            counts["injected"] += part["injected_error"].drop_nulls().len()
            yield part

    write(counted(generate_parts(spec)), args.output, language=args.language, encoding=args.encoding, title=args.title)
    print(f"{args.output}: {counts['rows']} rows, {counts['injected']} with injected errors", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
