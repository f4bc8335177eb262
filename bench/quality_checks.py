"""Benchmark: the raw.enterprise_submissions suite through Great Expectations vs the same checks in SQL.

``python -m bench.quality_checks [--rows 10000000]``

1. Builds (once, cached under ``bench/out/``) a warehouse with ``--rows`` SOE submission rows, made by
   DuckDB SQL with the loader's own DDL, valid codes from the seeds, and a few bad rows of each kind.
2. In fresh processes, in turn: the SQL floor (every expectation of the suite as DuckDB SQL, all the
   row-level ones in a single pass), the GX run counting only (``run_suite(..., examples=False)``: the
   same work as the floor) and the GX run as Dagster runs it (which also fetches a few examples of each
   failed expectation: one more query each). Each process reports its time and peak RSS; the GX import
   is timed apart (a fixed cost per process).
3. Prints the best time of each, the ratio, the peak RSS, and checks that all found the same counts.

Targets: GX within 1.5x of the SQL floor, under 2 GB RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

from core.settings import REPO_ROOT, SEEDS_DIR
from expectations import get_suite

SUITE = "raw.enterprise_submissions"
OUT_DIR = REPO_ROOT / "bench" / "out"
ROWS_PER_FILE = 1_000_000
#: (what is wrong, how row N of every file is broken, the expectation that must count those rows)
INJECTED = [
    ("negative count", "set rd_personnel = -1 where row_number = 11", "rd_personnel_not_negative"),
    ("R&D above revenue", "set rd_expenditure_10k_yuan = revenue_10k_yuan * 2 where row_number = 12",
     "rd_expenditure_10k_yuan_not_above_revenue_10k_yuan"),
    ("unknown industry", "set industry_code = 'Z9999' where row_number = 13", "industry_code_known"),
    ("bad USCC", "set uscc = 'IO' || substr(uscc, 3) where row_number = 14", "uscc_format"),
]


def _seed_list(name: str, column: str) -> str:
    return f"(select list({column} order by {column}) from read_csv('{SEEDS_DIR / name}', header = true, all_varchar = true))"


def build_warehouse(path: Path, rows: int) -> None:
    """``rows`` submissions in ``rows / 1M`` loads (one period each), plus their files and load log."""
    import duckdb

    from core.warehouse import CONNECTION_CONFIG, SESSION_SETUP
    from ingestion.audit import AUDIT_DDL
    from ingestion.enterprise.tables import ENTERPRISE_DDL

    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp), config=CONNECTION_CONFIG)
    con.execute(SESSION_SETUP)
    con.execute(AUDIT_DDL + ENTERPRISE_DDL)
    con.execute(
        f"""insert into raw.enterprise_submissions
        with codes as (
            select {_seed_list('ref_industry_codes.csv', 'industry_code')} as industries,
                   {_seed_list('ref_chongqing_districts.csv', 'district_code')} as districts
        )
        select 'load-' || (i // {ROWS_PER_FILE}) as load_id,
               'enterprise/bulk_' || (i // {ROWS_PER_FILE}) || '.parquet' as source_file,
               i % {ROWS_PER_FILE} + 1 as row_number,
               '91' || districts[1 + (i % len(districts))] || lpad((i % {ROWS_PER_FILE})::varchar, 9, '0') || 'X' as uscc,
               '合成' || (i % {ROWS_PER_FILE}) || '有限公司' as enterprise_name,
               ['巴渝汽车工业集团', '两江电子信息集团', '山城交通建设投资集团', '渝创机电控股集团'][1 + i % 4] as group_name,
               industries[1 + (i * 7) % len(industries)] as industry_code,
               districts[1 + (i % len(districts))] as district_code,
               (2015 + i // {ROWS_PER_FILE})::varchar as period,
               (1000 + (i % 9973) * 10.5)::double as revenue_10k_yuan,
               ((1000 + (i % 9973) * 10.5) * 0.03)::double as rd_expenditure_10k_yuan,
               i % 500 as rd_personnel, i % 7 as invention_patent_applications, i % 5 as invention_patents_granted,
               i % 300 as invention_patents_valid, i % 100 as high_value_invention_patents_valid,
               (900 + (i % 9973) * 9.5)::double as industrial_output_10k_yuan,
               ((900 + (i % 9973) * 9.5) * 0.3)::double as sei_output_10k_yuan,
               i % 2 = 0 as is_hightech, i % 3 = 0 as is_tech_based, i % 4 = 0 as has_rd_institution,
               timestamp '2026-11-20 10:00:00' as loaded_at
        from range({rows}) r(i), codes"""
    )
    for _, change, _ in INJECTED:
        con.execute(f"update raw.enterprise_submissions {change}")
    con.execute(
        """insert into raw.enterprise_files
        select load_id, any_value(source_file), repeat('0', 64), 'enterprise_parquet', null, 'en', count(*), count(*),
               0, 0, any_value(loaded_at)
        from raw.enterprise_submissions group by load_id"""
    )
    con.execute(
        """insert into audit.load_log (load_id, source_file, sha256, format, release_date, rows_loaded,
                                      rows_quarantined, status, error, loaded_at)
        select load_id, source_file, sha256, format, null, rows_loaded, rows_quarantined, 'loaded', null, loaded_at
        from raw.enterprise_files"""
    )
    con.execute("checkpoint")
    con.close()
    tmp.rename(path)


# ---------------------------------------------------------------- the SQL floor


def floor_sql(table: str, code_sets: dict[str, str]) -> tuple[str, dict[str, str], list[str]]:
    """The suite as SQL: one aggregate over the table for every row-level expectation, one query per
    SQL expectation. Returns (aggregate query, {name: query}, names of the aggregate's columns)."""
    from expectations.spec import substitute_code_sets

    counts: list[tuple[str, str]] = []
    queries: dict[str, str] = {}
    for expect in get_suite(SUITE).expectations:
        kw = expect.kwargs
        kind = expect.expectation
        if kind == "ExpectColumnValuesToNotBeNull":
            counts.append((expect.name, f"{kw['column']} is null"))
        elif kind == "ExpectColumnValuesToMatchRegex":
            regex = kw["regex"].replace("'", "''")
            counts.append((expect.name, f"not regexp_full_match({kw['column']}, '{regex}')"))
        elif kind == "ExpectColumnValuesToBeBetween":
            bounds = [f"{kw['column']} < {kw['min_value']}" if kw["min_value"] is not None else None,
                      f"{kw['column']} > {kw['max_value']}" if kw["max_value"] is not None else None]
            counts.append((expect.name, " or ".join(b for b in bounds if b)))
        elif kind == "ExpectColumnPairValuesAToBeGreaterThanB":
            counts.append((expect.name, f"{kw['column_A']} < {kw['column_B']}"))
        elif kind == "ExpectQueryToReturnNoRows":
            query = substitute_code_sets(kw["unexpected_rows_query"], code_sets).replace("{batch}", table)
            queries[expect.name] = f"select count(*) from ({query})"
        elif kind not in ("ExpectTableColumnsToMatchSet", "ExpectColumnValuesToBeOfType"):
            raise ValueError(f"no SQL floor for {kind} ({expect.name})")
    aggregate = "select " + ", ".join(f"count(*) filter (where {condition})" for _, condition in counts) + f" from {table}"
    return aggregate, queries, [name for name, _ in counts]


def _run_floor(db_path: str) -> dict[str, Any]:
    from core import warehouse
    from expectations.spec import CODE_SETS, code_set_subquery

    suite = get_suite(SUITE)
    started = time.perf_counter()
    con = warehouse.connect(Path(db_path), read_only=True)
    loaded = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'reference'").fetchall()}
    code_sets = {name: code_set_subquery(cs, seed_loaded=cs.seed in loaded) for name, cs in CODE_SETS.items()}
    aggregate, queries, names = floor_sql(suite.table, code_sets)
    found: dict[str, int] = dict(zip(names, con.execute(aggregate).fetchone(), strict=True))
    for name, query in queries.items():
        found[name] = con.execute(query).fetchone()[0]
    columns = dict(con.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ?",
        [suite.schema, suite.table_name],
    ).fetchall())
    con.close()
    for expect in suite.expectations:
        if expect.expectation == "ExpectTableColumnsToMatchSet":
            found[expect.name] = len(set(expect.kwargs["column_set"]) - set(columns))
        elif expect.expectation == "ExpectColumnValuesToBeOfType":
            found[expect.name] = int(columns.get(expect.kwargs["column"]) != expect.kwargs["type_"])
    return {"seconds": time.perf_counter() - started, "failures": {k: v for k, v in found.items() if v}}


def _run_gx(db_path: str, examples: bool) -> dict[str, Any]:
    started = time.perf_counter()
    from expectations import runner

    imported = time.perf_counter()
    result = runner.run_suite(Path(db_path), SUITE, examples=examples)
    done = time.perf_counter()
    failures = {o.name: o.unexpected_count if o.unexpected_count is not None else o.observed_value
                for o in result.outcomes if not o.passed}
    return {"seconds": done - imported, "import_seconds": imported - started, "failures": failures}


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not ``ru_maxrss``: Linux carries that across the
    fork and exec that start a spawned process, so a child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(kind: str, db_path: str, queue: multiprocessing.Queue) -> None:
    report = _run_floor(db_path) if kind == "sql" else _run_gx(db_path, examples=kind == "gx+examples")
    report["peak_rss_mb"] = _peak_rss_mb()
    queue.put(report)


def measure(kind: str, db_path: Path) -> dict[str, Any]:
    """Run one measurement in a fresh process (its own imports and its own peak RSS)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(kind, str(db_path), queue))
    process.start()
    report = queue.get()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"{kind} measurement exited with {process.exitcode}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each kind, in turn")
    args = parser.parse_args(argv)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    db_path = OUT_DIR / f"quality_{args.rows}.duckdb"
    if not db_path.exists():
        started = time.perf_counter()
        build_warehouse(db_path, args.rows)
        print(f"built {db_path} ({args.rows:,} rows) in {time.perf_counter() - started:.1f} s")

    kinds = ("sql", "gx", "gx+examples")
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for _ in range(args.repeat):
        for kind in kinds:
            runs[kind].append(measure(kind, db_path))
            print(f"  {kind}: {runs[kind][-1]['seconds']:.2f} s, peak RSS {runs[kind][-1]['peak_rss_mb']:.0f} MB", flush=True)

    sql, gx, full = (min(runs[k], key=lambda r: r["seconds"]) for k in kinds)
    expected = {name for _, _, name in INJECTED}
    agree = sql["failures"] == gx["failures"] == full["failures"] and set(sql["failures"]) == expected
    print(f"\n{SUITE}, {args.rows:,} rows, {len(get_suite(SUITE).expectations)} expectations, "
          f"{args.repeat} runs each (best shown)")
    print(f"  SQL floor (DuckDB, one pass)        {sql['seconds']:6.2f} s   peak RSS {sql['peak_rss_mb']:5.0f} MB")
    print(f"  GX suite, counts                    {gx['seconds']:6.2f} s   peak RSS {gx['peak_rss_mb']:5.0f} MB"
          f"   ratio {gx['seconds'] / sql['seconds']:.2f}x (target <= 1.5x, < 2048 MB)")
    print(f"  GX suite, + examples of {len(expected)} failures  {full['seconds']:6.2f} s   peak RSS "
          f"{full['peak_rss_mb']:5.0f} MB   ratio {full['seconds'] / sql['seconds']:.2f}x (as Dagster runs it)")
    print(f"  importing GX (once per process)     {gx['import_seconds']:6.2f} s")
    print(f"  failures found: {json.dumps(full['failures'], ensure_ascii=False)}")
    print(f"  same counts in all three, and exactly the injected kinds: {'yes' if agree else 'NO'}")
    if not agree:
        print(f"  found: {json.dumps({k: r['failures'] for k, r in zip(kinds, (sql, gx, full))})}", file=sys.stderr)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
