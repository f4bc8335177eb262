"""Loading SOE submissions (``LANDING_DIR/enterprise/**/*.{xlsx,csv,parquet}``) into the raw tables.

One transaction per file: the valid rows go to ``raw.enterprise_submissions``, every rejected row to
``audit.quarantine`` with the rules it broke, and one row to ``audit.load_log``. Industry and district
codes are checked against the reference tables by ``mapping.py`` on every run, not here. A file that
cannot be read or lacks a required column loads nothing and leaves everything loaded before untouched.
Which files to load, and what was removed, duplicated or restored, is :mod:`ingestion.landing`'s rule
(the content is the file's bytes): a content already loaded is not loaded again. Validation is set-based
SQL (``validation.py``): the file is scanned a few times by DuckDB, never row by row in Python.

The file is read and checked before its transaction, into temporary tables only; the transaction then
only writes (the rows, their quarantine, the file row and its load_log row). Every step scans ``_src``:
a Parquet file or workbook where it is, a CSV in the copy :mod:`ingestion.tabular` makes of it (a
temporary table, or a Parquet file when the CSV is large): each scan of the text would parse it again,
which cost more than the rules themselves.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core import warehouse
from core.periods import PeriodError, parse_period
from ingestion.audit import (
    AUDIT_DDL,
    LoadAttempt,
    LoadSummary,
    QuarantinedRow,
    file_transaction,
    record_failure,
    record_quarantine,
)
from ingestion.enterprise import schema
from ingestion.enterprise.readers import FORMATS, OpenedFile, open_source
from ingestion.enterprise.tables import ENTERPRISE_DDL, ENTERPRISE_FILES
from ingestion.enterprise.validation import (
    Lookup,
    dictionary_columns,
    dictionary_sql,
    distinct_values_sql,
    explained_select,
    key_sql,
    parsed_select,
    plan_lookup,
    period_dictionary_sql,
    quote_literal,
    reasons_sql,
    row_select,
    valid_sql,
)
from ingestion.landing import LandingFile, LandingKind, land
from ingestion.tabular import describe_file_failure, insert_file_row

#: The landing folder of SOE submissions (``LANDING_DIR/enterprise``) and the ``kind`` of their load_log rows.
KIND = "enterprise"
#: Files of the formats of :data:`FORMATS`; the folder may be absent (no files).
LANDING = LandingKind(KIND, FORMATS.keys)


def load_submissions(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, only: Collection[str] | None = None
) -> LoadSummary:
    """Sync ``landing_dir/enterprise/**`` (:mod:`ingestion.landing`; the folder may be absent: no
    submissions, but ``landing_dir`` must exist) and load its new contents in path order."""
    con.execute(AUDIT_DDL)
    con.execute(ENTERPRISE_DDL)

    def load(file: LandingFile, attempt: LoadAttempt) -> None:
        attempt.format = FORMATS[file.path.suffix.lower()]
        load_file(con, file.path, attempt)

    return land(con, landing_dir, LANDING, load, only)


def load_file(con: duckdb.DuckDBPyConnection, path: Path, attempt: LoadAttempt) -> LoadAttempt:
    """Load one file in one transaction and record the attempt; a failure is recorded, not raised."""
    describe = describe_file_failure(attempt)
    try:
        with _load_settings(con), open_source(con, path) as opened:
            lookups = _stage(con, opened)
            with file_transaction(con, attempt, describe):
                _store(con, opened, lookups, attempt)
    except Exception as error:  # reading or checking failed: nothing was written, the failed attempt is recorded
        record_failure(con, attempt, describe, error)
    finally:  # they live outside the file's transaction: dropped after a failure too
        _drop_scratch(con)
    return attempt


#: DuckDB's memory while a file loads: the load of ten million rows peaks at 1.0-1.2 GB with it (1.2-1.3 GB
#: with 3GB, and no faster: its hash tables and the Parquet writer's buffers take what they are given).
LOAD_MEMORY_LIMIT = "1GB"


@contextmanager
def _load_settings(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run a load with :data:`LOAD_MEMORY_LIMIT` (:func:`_stage` also sets ``preserve_insertion_order``),
    and give the connection its settings back afterwards, after a failure too."""
    (ordered,) = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    (memory_limit,) = con.execute("select current_setting('memory_limit')").fetchone()
    con.execute(f"set memory_limit = '{LOAD_MEMORY_LIMIT}'")
    try:
        yield
    finally:
        con.execute(f"set preserve_insertion_order = {str(ordered).lower()}")
        # DuckDB shows the limit rounded ('3.7 GiB' for 4GB): setting that text back would lower the limit a
        # little on every load, so a connection with the project's limit gets exactly that one back.
        con.execute(f"set memory_limit = '{warehouse.CONNECTION_CONFIG['memory_limit']}'")
        if con.execute("select current_setting('memory_limit')").fetchone()[0] != memory_limit:
            con.execute(f"set memory_limit = {quote_literal(memory_limit)}")


def _stage(con: duckdb.DuckDBPyConnection, opened: OpenedFile) -> dict[str, Lookup]:
    """Check every row of ``_src``, into temporary objects only: ``_parsed`` and ``_rows`` (views), the
    dictionaries of distinct values and ``_flagged`` (the rows that break a rule and the repeated keys).
    Returns how each dictionary column is read (:func:`plan_lookup`).

    Outside the file's transaction: DuckDB scans a table created in a running transaction with one thread."""
    # no statement of the load needs its output in input order (the rows carry their numbers): DuckDB joins
    # and inserts much faster without keeping it
    con.execute("set preserve_insertion_order = false")
    con.execute(f"create or replace temp view _parsed as select {parsed_select(opened.source_types)} from _src")
    _build_dictionaries(con, opened)
    lookups = {c.name: plan_lookup(con, c, opened.source_types[c.name]) for c in dictionary_columns()}
    con.execute(f"create or replace temp view _rows as {row_select(list(lookups.values()))}")
    _flag_rows(con, opened, raw_keys_are_canonical=lookups["uscc"].keeps_cell and lookups["period"].keeps_cell)
    return lookups


def _store(
    con: duckdb.DuckDBPyConnection, opened: OpenedFile, lookups: dict[str, Lookup], attempt: LoadAttempt
) -> None:
    """Inside the file's transaction: the valid rows into raw.enterprise_submissions, the flagged ones into
    audit.quarantine with their reasons, the file into raw.enterprise_files."""
    # The insert skips the flagged rows by an anti-join: much cheaper for DuckDB than filtering ten
    # million rows on the rules again, and nothing inserted is ever deleted (deletes make commit slow).
    (inserted,) = con.execute(
        f"""insert into raw.enterprise_submissions
        select {quote_literal(attempt.load_id)}, {quote_literal(attempt.source_file)}, _row,
               {', '.join(_typed(c) for c in schema.columns())}, ?
        from _rows where _row not in (select _row from _flagged where not _keep)""",
        [attempt.loaded_at],
    ).fetchone()
    quarantined = [
        QuarantinedRow(row, reason, json.loads(record))
        for row, reason, record in con.execute(
            "select _row, _reasons, _record from _flagged where _reasons is not null order by _row"
        ).fetchall()
    ]
    collapsed = con.execute("select count(*) from _flagged where _reasons is null and not _keep").fetchone()[0]
    attempt.rows_loaded = inserted
    attempt.rows_quarantined = record_quarantine(con, attempt, quarantined)
    insert_file_row(con, ENTERPRISE_FILES, attempt, opened, inserted + attempt.rows_quarantined + collapsed, collapsed)


def _build_dictionaries(con: duckdb.DuckDBPyConnection, opened: OpenedFile) -> None:
    """``_dict_<column>`` for every dictionary column, from one scan collecting their distinct values."""
    con.execute(f"create or replace temp table _distinct as {distinct_values_sql()}")
    for col in dictionary_columns():
        con.execute(f"create or replace temp table _dict_{col.name} as {dictionary_sql(col, opened.source_types[col.name])}")
    labels = []
    for (label,) in con.execute("select distinct text from _dict_period where text is not null").fetchall():
        try:
            labels.append((label, str(parse_period(label)), None))
        except PeriodError as error:  # parse_period is the one definition of a period
            labels.append((label, None, f"invalid_period: {error}"))
    con.execute("create or replace temp table _period_labels (text varchar, value varchar, problem varchar)")
    if labels:
        con.executemany("insert into _period_labels values (?, ?, ?)", labels)
    con.execute(f"create or replace temp table _dict_period as {period_dictionary_sql()}")


def _flag_rows(con: duckdb.DuckDBPyConnection, opened: OpenedFile, *, raw_keys_are_canonical: bool) -> None:
    """``_flagged``: every row that breaks a rule (with its reasons) and every row whose (uscc, period)
    occurs more than once in the file. ``_keep`` marks the rows that load anyway: the first of exact
    copies, and a valid row whose other occurrences were all rejected for other reasons.

    Two rows with the same (uscc, period) and different values are both quarantined as conflicting: the
    file does not say which one is right. Exact copies collapse to the first.

    The candidate keys come from the dictionary scan when the cells are canonical as received; when some
    are not (``2024-Q3`` next to ``2024Q3``), one more scan hashes the canonical values instead."""
    if raw_keys_are_canonical:
        key = key_sql("_src_uscc", "_src_period")
        con.execute("create or replace temp table _duplicate_keys as select _key as key from _distinct where _key is not null")
    else:
        key = key_sql()
        con.execute(
            f"""create or replace temp table _duplicate_keys as
            select {key} as key from _rows where uscc__ok and period__ok group by key having count(*) > 1"""
        )
    values = ", ".join(_typed(c) for c in schema.columns())
    flagged = f"select * from _rows where not {valid_sql()} or {key} in (select key from _duplicate_keys)"
    con.execute(
        f"""create or replace temp table _flagged as
        select _row, uscc, period, case when not {valid_sql()} then {reasons_sql()} end as _reasons,
               hash({values}) as _values, {_record_json(opened)} as _record, false as _keep
        from ({explained_select(flagged, opened.source_types)})"""
    )
    con.execute(
        """create or replace temp table _duplicates as
        select uscc, period, count(distinct _values) as variants, min(_row) as first_row,
               string_agg(_row::varchar, ', ' order by _row) as row_list
        from _flagged where _reasons is null group by uscc, period"""
    )
    con.execute(
        """update _flagged f set
            _reasons = case when d.variants > 1 then 'conflicting_duplicate: (' || f.uscc || ', ' || f.period
                || ') appears with different values in rows ' || d.row_list || ' of this file' end,
            _keep = d.variants = 1 and f._row = d.first_row
        from _duplicates d
        where f._reasons is null and f.uscc = d.uscc and f.period = d.period"""
    )


def _drop_scratch(con: duckdb.DuckDBPyConnection) -> None:
    """The temporary objects of one file (after a failure too: they live outside its transaction)."""
    for view in ("_rows", "_parsed", "_src"):
        con.execute(f"drop view if exists {view}")
    scratch = ["_flagged", "_distinct", "_duplicate_keys", "_duplicates", "_period_labels"]
    for table in scratch + [f"_dict_{c.name}" for c in dictionary_columns()]:
        con.execute(f"drop table if exists {table}")


def _typed(col: schema.Column) -> str:
    if col.kind == "count":
        return f"cast({col.name} as bigint)"
    return col.name


def _record_json(opened: OpenedFile) -> str:
    """The raw record as JSON (the ``_src_<column>`` cells), keyed by the file's own headers."""
    pairs = ", ".join(
        f"{quote_literal(opened.header.headers[opened.header.positions[c.name]] or c.name)}, "
        f"cast(_src_{c.name} as varchar)"
        for c in schema.columns()
    )
    return f"json_object({pairs})"
