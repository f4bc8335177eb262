"""A BI-style reader of serving.duckdb that checks every snapshot it sees is one whole publication.

Run as a separate process while the pipeline republishes the file::

    python tests/serving_reader.py warehouse/serving.duckdb --out reads.jsonl --max-queries 2000 --max-seconds 120

Each iteration opens a new read-only connection, finds the newest publication in ``meta.publications``
and counts the rows of every table that publication lists: in a consistent snapshot the counts equal
the recorded ones. ``--probe-sql`` adds a query whose result is recorded too (tests use it to check
that every table carries the same version). One JSON line per iteration: ``run_id``, ``consistent``
and ``probe``, or ``error``. The reader stops at ``--max-queries``, ``--max-seconds`` or when the
``--stop-file`` exists; it never raises on a failed query, it records it.

No connection stays open between iterations: DuckDB caches one database instance per path and process,
so a connection held open would make every later ``connect`` in this process see the old file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

LATEST_PUBLICATION = """
select table_schema, table_name, row_count, run_id from meta.publications
where run_id = (select run_id from meta.publications order by published_at desc limit 1)
"""


def read_snapshot(con: duckdb.DuckDBPyConnection, probe_sql: str | None) -> dict:
    """What one connection sees: the newest publication and whether the tables match it."""
    published = con.execute(LATEST_PUBLICATION).fetchall()
    counts = {}
    for schema, table, _, _ in published:
        counts[f"{schema}.{table}"] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    expected = {f"{schema}.{table}": rows for schema, table, rows, _ in published}
    return {
        "run_id": published[0][3] if published else None,
        "consistent": bool(published) and counts == expected,
        "probe": list(con.execute(probe_sql).fetchone()) if probe_sql else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("serving_db", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="JSON lines, one per iteration")
    parser.add_argument("--max-queries", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--stop-file", type=Path)
    parser.add_argument("--probe-sql")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.max_seconds
    with open(args.out, "w", encoding="utf-8") as out:
        for i in range(args.max_queries):
            if time.monotonic() > deadline or (args.stop_file and args.stop_file.exists()):
                break
            record: dict = {"i": i}
            try:
                con = duckdb.connect(str(args.serving_db), read_only=True)
                try:
                    record.update(read_snapshot(con, args.probe_sql))
                finally:
                    con.close()
            except duckdb.Error as error:
                record["error"] = f"{type(error).__name__}: {error}"
            out.write(json.dumps(record) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
