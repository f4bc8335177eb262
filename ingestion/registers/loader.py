"""Loading recognitions registers (``LANDING_DIR/registers/**/*.{xlsx,csv}``, format 6) into the raw tables.

One transaction per file: the valid rows go to ``raw.register_records`` (as received, with the USCC in
its compact form and both dates parsed), every rejected row to ``audit.quarantine`` (stage ``load``) with
the rules it broke, and one row to ``audit.load_log``. Which files to load, and what was removed,
duplicated or restored, is :mod:`ingestion.landing`'s rule. A file that cannot be read or lacks a required
column loads nothing and leaves everything loaded before untouched. The kind is checked against the seed
``ref_recognition_kinds`` by ``mapping.py`` on every run, not here.

Row rules (a row breaking several gets them all, joined by ``; ``):

- ``invalid_uscc``: no USCC, or not a GB 32100-2015 code (length, alphabet, check character);
- ``missing_value``: no ``record_id``, ``kind`` or ``recognized_on``;
- ``invalid_date``: a date that is not ``2024-06-30``, ``2024/6/30`` or ``2024年6月30日``, or not a day;
- ``future_date``: a date after the day of loading;
- ``revoked_before_recognized``: ``revoked_on`` before ``recognized_on``;
- ``conflicting_duplicate``: one ``record_id`` twice in the file with different content (every such row
  is quarantined: the file does not say which is right); exact copies collapse to the first.

Set-based: the rows are checked where :func:`ingestion.tabular.open_source` opened them (a CSV in its
copy), before the file's transaction (which then only writes); USCCs and dates are checked on their
distinct values (dates by :func:`ingestion.registers.dates.parse_date`, the one definition of a register
date).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.audit import (
    AUDIT_DDL,
    LoadAttempt,
    LoadSummary,
    QuarantinedRow,
    file_transaction,
    record_failure,
    record_quarantine,
)
from ingestion.enterprise.validation import INLINE_LIMIT, Lookup, plan_lookup
from ingestion.landing import LandingFile, LandingKind, land
from ingestion.registers import schema
from ingestion.registers.dates import DateError, parse_date
from ingestion.registers.tables import REGISTER_FILES, REGISTERS_DDL
from ingestion.sql import quote_literal, text_sql
from ingestion.tabular import OpenedFile, describe_file_failure, insert_file_row, open_source
from ingestion.uscc import uscc_compact_sql, uscc_problem_sql

#: The landing folder of registers (``LANDING_DIR/registers``) and the ``kind`` of their load_log rows.
KIND = "registers"
#: Files of the formats of :data:`FORMATS`; the folder may be absent (no files).
LANDING = LandingKind(KIND, schema.FORMATS.keys)
COLUMNS = {c.name: c for c in schema.columns()}
_COLUMNS = list(COLUMNS)
_DATE_COLUMNS = [c.name for c in schema.columns() if c.kind == "date"]
#: Checked through their distinct values.
_DICTIONARY_COLUMNS = ["uscc", "group_name", "kind", *_DATE_COLUMNS]
#: The record_id as trimmed text (NULL for a missing marker), computed once per row in ``_cells``.
_RECORD_ID = "p._record_id"
_NO_USCC = "invalid_uscc: no USCC (a holder is identified by its USCC)"
_SCRATCH_TABLES = (
    "_cells", "_distinct", "_distinct_pairs", "_date_labels", "_flagged", "_duplicates", *(f"_dict_{c}" for c in _DICTIONARY_COLUMNS)
)


def load_registers(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, only: Collection[str] | None = None
) -> LoadSummary:
    """Sync ``landing_dir/registers/**`` (the folder may be absent: no registers) and load its new contents."""
    con.execute(AUDIT_DDL)
    con.execute(REGISTERS_DDL)

    def load(file: LandingFile, attempt: LoadAttempt) -> None:
        attempt.format = schema.FORMATS[file.path.suffix.lower()]
        load_file(con, file.path, attempt)

    return land(con, landing_dir, LANDING, load, only)


def load_file(con: duckdb.DuckDBPyConnection, path: Path, attempt: LoadAttempt) -> LoadAttempt:
    """Load one file in one transaction and record the attempt; a failure is recorded, not raised.

    The file is checked first, into temporary tables only (nothing the warehouse keeps), outside the file's
    transaction: DuckDB scans a table created in the running transaction with one thread. Everything the
    load writes (the rows, their quarantine, the file and its load_log row) is then written in one
    transaction."""
    (ordered,) = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    describe = describe_file_failure(attempt)
    try:
        with open_source(con, path, schema.layout()) as opened:
            lookups = _stage(con, attempt)
            with file_transaction(con, attempt, describe):
                _store(con, opened, lookups, attempt)
    except Exception as error:  # reading or checking failed: nothing was written, the failed attempt is recorded
        record_failure(con, attempt, describe, error)
    finally:  # _stage turns it off; after a failure too, the connection gets its setting back
        con.execute(f"set preserve_insertion_order = {str(ordered).lower()}")
        _drop_scratch(con)
    return attempt


def _stage(con: duckdb.DuckDBPyConnection, attempt: LoadAttempt) -> dict[str, Lookup]:
    """Check every row of ``_src``: ``_cells`` (its rows with the record_id as trimmed text) and the view
    ``_rows`` over it, the dictionaries of distinct values and ``_flagged`` (the rows that break a rule, and the
    repeated record_ids). Temporary objects only. Returns how each row's USCC, group, kind and dates are
    read (:func:`_plan_lookups`)."""
    # no statement of the load needs its output in input order (the rows carry their numbers): DuckDB joins
    # and inserts much faster without keeping it
    con.execute("set preserve_insertion_order = false")
    # the record_id as text, which every step below needs, trimmed once (a million cells take 0.2 s each time)
    con.execute(f"create or replace temp table _cells as select *, {text_sql('record_id')} as _record_id from _src")
    cells = ", ".join(f"{c} as _src_{c}" for c in _COLUMNS)
    con.execute(f"create or replace temp view _rows as select _row, {cells}, _record_id from _cells")
    _build_dictionaries(con)
    lookups = _plan_lookups(con)
    _flag_rows(con, attempt, lookups)
    _flag_duplicates(con)
    return lookups


def _store(con: duckdb.DuckDBPyConnection, opened: OpenedFile, lookups: dict[str, Lookup], attempt: LoadAttempt) -> None:
    """Inside the file's transaction: the valid rows into raw.register_records, the flagged ones into
    audit.quarantine with their reasons, the file into raw.register_files."""
    (inserted,) = con.execute(
        f"""insert into raw.register_records
        select {quote_literal(attempt.load_id)}, {quote_literal(attempt.source_file)}, p._row, {_RECORD_ID},
               {lookups['uscc'].value_sql}, p._src_holder_name, {lookups['group_name'].value_sql},
               {lookups['kind'].value_sql}, p._src_title, p._src_recognized_by,
               d_recognized_on.text, d_recognized_on.value, p._src_reference,
               d_revoked_on.text, d_revoked_on.value, ?
        from _rows p {_joins(lookups)}
        where p._row not in (select _row from _flagged where not _keep)""",
        [attempt.loaded_at],
    ).fetchone()
    quarantined = [
        QuarantinedRow(row, reason, json.loads(record))
        for row, reason, record in con.execute(
            f"select _row, _reasons, {_record_json(opened)} from _flagged where _reasons is not null order by _row"
        ).fetchall()
    ]
    (rows_read,) = con.execute("select count(*) from _src").fetchone()
    (collapsed,) = con.execute("select count(*) from _flagged where _reasons is null and not _keep").fetchone()
    attempt.rows_loaded = inserted
    attempt.rows_quarantined = record_quarantine(con, attempt, quarantined)
    insert_file_row(con, REGISTER_FILES, attempt, opened, rows_read, collapsed)


def _drop_scratch(con: duckdb.DuckDBPyConnection) -> None:
    """The temporary objects of one file (after a failure too: they live outside its transaction)."""
    con.execute("drop view if exists _rows")
    con.execute("drop view if exists _src")
    for table in _SCRATCH_TABLES:
        con.execute(f"drop table if exists {table}")


def _distinct_sql(name: str) -> str:
    return f"select distinct {name} as raw, {text_sql(name)} as text from _distinct where {name} is not null"


def _build_dictionaries(con: duckdb.DuckDBPyConnection) -> None:
    """One scan of the rows for the distinct values of the USCC, group, kind and date cells, the distinct
    (recognized_on, revoked_on) pairs and (``_key``) the hashes of the record_ids that occur more than once; then ``_dict_<column>(raw, text, value,
    problem)`` for each of those columns (dates parsed by :func:`parse_date`)."""
    sets = ", ".join(f"(_src_{n})" for n in _DICTIONARY_COLUMNS) + ", (_src_recognized_on, _src_revoked_on), (_key)"
    con.execute(
        f"""create or replace temp table _distinct as
        select {', '.join(f'_src_{n} as {n}' for n in _DICTIONARY_COLUMNS)}, _key,
               grouping(_src_recognized_on, _src_revoked_on) = 0 as _pair
        from (select *, hash({_RECORD_ID}) as _key from _rows p)
        group by grouping sets ({sets}) having grouping(_key) = 1 or count(*) > 1"""
    )
    con.execute(
        """create or replace temp table _distinct_pairs as
        select distinct recognized_on, revoked_on from _distinct where _pair and revoked_on is not null"""
    )
    con.execute(
        f"""create or replace temp table _dict_uscc as
        select raw, text, case when problem is null then value end as value, problem
        from (select raw, text, value,
                     case when value is null then {quote_literal(_NO_USCC)} else {uscc_problem_sql('value')} end as problem
              from (select raw, text, {uscc_compact_sql('text')} as value from ({_distinct_sql('uscc')})))"""
    )
    for name in ("group_name", "kind"):  # free text: the value is the trimmed text (NULL for missing markers)
        con.execute(f"create or replace temp table _dict_{name} as select raw, text, text as value from ({_distinct_sql(name)})")
    texts = " union ".join(f"select text from ({_distinct_sql(c)}) where text is not null" for c in _DATE_COLUMNS)
    labels = []
    for (text,) in con.execute(texts).fetchall():
        try:
            labels.append((text, parse_date(text), None))
        except DateError as error:
            labels.append((text, None, str(error)))
    batch = pa.table(  # one Arrow batch: executemany inserts row by row
        {
            "text": pa.array([t for t, _, _ in labels], pa.string()),
            "value": pa.array([v for _, v, _ in labels], pa.date32()),
            "problem": pa.array([p for _, _, p in labels], pa.string()),
        }
    )
    con.register("_date_labels_batch", batch)
    try:
        con.execute("create or replace temp table _date_labels as select * from _date_labels_batch")
    finally:
        con.unregister("_date_labels_batch")
    for name in _DATE_COLUMNS:
        con.execute(
            f"""create or replace temp table _dict_{name} as
            select d.raw, d.text, l.value, l.problem from ({_distinct_sql(name)}) d left join _date_labels l using (text)"""
        )


def _plan_lookups(con: duckdb.DuckDBPyConnection) -> dict[str, Lookup]:
    """How each row gets its USCC, group and kind (no join when the cells are canonical as received:
    :func:`ingestion.enterprise.validation.plan_lookup`) and its dates (a join on the date dictionary)."""
    lookups = {name: plan_lookup(con, COLUMNS[name], "VARCHAR") for name in ("uscc", "group_name", "kind")}
    for name in ("group_name", "kind"):  # a missing marker ('—') kept as the cell would read as a value
        lookup = lookups[name]
        if lookup.keeps_cell:
            lookups[name] = Lookup(lookup.column, f"case when {lookup.ok_sql} then {lookup.value_sql} end", lookup.ok_sql)
    for name in _DATE_COLUMNS:
        lookups[name] = Lookup(COLUMNS[name], f"d_{name}.value", f"d_{name}.value is not null", join=True)
    return lookups


def _joins(lookups: dict[str, Lookup], alias: str = "p") -> str:
    return " ".join(
        f"left join _dict_{name} d_{name} on d_{name}.raw = {alias}._src_{name}"
        for name, lookup in lookups.items()
        if lookup.join
    )


def _member(expression: str, values_sql: str, con: duckdb.DuckDBPyConnection) -> str:
    """SQL testing whether ``expression`` is one of the values ``values_sql`` selects: a list of literals
    when they are few (no join for DuckDB to plan), else a semi-join."""
    values = [v for (v,) in con.execute(values_sql).fetchall()]
    if len(values) > INLINE_LIMIT:
        return f"{expression} in ({values_sql})"
    if not values:
        return "false"
    literals = ", ".join(quote_literal(v) if isinstance(v, str) else str(v) for v in values)
    return f"list_contains([{literals}], {expression})"


def _flag_rows(con: duckdb.DuckDBPyConnection, attempt: LoadAttempt, lookups: dict[str, Lookup]) -> None:
    """``_flagged``: every row that breaks a rule (with its reasons) and every row whose record_id occurs
    more than once in the file, with its cells as received. ``_keep``: the row loads anyway (valid so far;
    :func:`_flag_duplicates` settles it for duplicates); the insert skips the others.

    The scan of every row joins nothing: the bad date cells, the bad (recognized, revoked) pairs and the
    repeated record_ids are known from the dictionaries; only the flagged rows are joined for reasons."""
    today = f"date {quote_literal(attempt.loaded_at.date().isoformat())}"
    bad_date = "select raw from _dict_{0} where (value is null or value > " + today + ") and text is not null"
    bad_recognized = _member("p._src_recognized_on", bad_date.format("recognized_on"), con)
    bad_revoked = _member("p._src_revoked_on", bad_date.format("revoked_on"), con)
    bad_pairs = _member(
        "hash(p._src_recognized_on, p._src_revoked_on)",
        # materialized first: else DuckDB plans the date comparison as a nested loop join of the dictionaries
        "with p as materialized (select p.*, r.value as recognized from _distinct_pairs p"
        " join _dict_recognized_on r on r.raw = p.recognized_on)"
        " select hash(p.recognized_on, p.revoked_on) from p join _dict_revoked_on v on v.raw = p.revoked_on"
        " where v.value < p.recognized",
        con,
    )
    missing_recognized = _member("p._src_recognized_on", "select raw from _dict_recognized_on where text is null", con)
    repeated = _member(f"hash({_RECORD_ID})", "select _key from _distinct where _key is not null", con)
    valid = (
        f"{_RECORD_ID} is not null and {lookups['uscc'].ok_sql} and {lookups['kind'].ok_sql} "
        f"and p._src_recognized_on is not null and not {missing_recognized} and not {bad_recognized} "
        f"and (p._src_revoked_on is null or not ({bad_revoked} or {bad_pairs}))"
    )
    raw = ", ".join(f"p._src_{c}" for c in _COLUMNS)

    def date_reasons(column: str) -> list[str]:
        d = f"d_{column}"
        return [
            f"case when {d}.problem is not null then 'invalid_date: {column} ' || {_quoted(d + '.text')} || ' ' || {d}.problem end",
            f"case when {d}.value > {today} then 'future_date: {column} ' || {d}.value || "
            f"' is after the day of loading, ' || {today} end",
        ]

    reasons = [
        "case when f.record_id is null then 'missing_value: no value in record_id' end",
        f"case when f._src_uscc is null then {quote_literal(_NO_USCC)} else u.problem end",
        "case when k.value is null then 'missing_value: no value in kind' end",
        "case when d_recognized_on.text is null then 'missing_value: no value in recognized_on' end",
        *date_reasons("recognized_on"),
        *date_reasons("revoked_on"),
        "case when d_revoked_on.value < d_recognized_on.value then 'revoked_before_recognized: revoked_on ' || "
        "d_revoked_on.value || ' is before recognized_on ' || d_recognized_on.value end",
    ]
    date_joins = " ".join(f"left join _dict_{c} d_{c} on d_{c}.raw = f._src_{c}" for c in _DATE_COLUMNS)
    con.execute(
        f"""create or replace temp table _flagged as
        select f._row, f.record_id, {', '.join(f'f._src_{c}' for c in _COLUMNS)}, f._content,
               case when not f._valid then concat_ws('; ', {', '.join(reasons)}) end as _reasons, f._valid as _keep
        from (
            select p._row, {_RECORD_ID} as record_id, {raw}, hash({raw}) as _content, coalesce({valid}, false) as _valid
            from _rows p
            where not coalesce({valid}, false) or {repeated}
        ) f
        left join _dict_uscc u on u.raw = f._src_uscc
        left join _dict_kind k on k.raw = f._src_kind
        {date_joins}"""
    )


def _quoted(expression: str) -> str:
    """SQL rendering a text expression in single quotes, for reasons: ``'2024-02-30'``."""
    return f"'''' || {expression} || ''''"


def _flag_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    """A record_id on several valid rows: exact copies keep the first; different contents are all
    quarantined as conflicting (the file does not say which is right)."""
    con.execute(
        """create or replace temp table _duplicates as
        select record_id, count(distinct _content) as variants, min(_row) as first_row,
               string_agg(_row::varchar, ', ' order by _row) as row_list
        from _flagged where _reasons is null group by record_id having count(*) > 1"""
    )
    con.execute(
        """update _flagged k set
            _reasons = case when d.variants > 1 then 'conflicting_duplicate: record_id ''' || k.record_id
                || ''' appears with different content in rows ' || d.row_list || ' of this file' end,
            _keep = d.variants = 1 and k._row = d.first_row
        from _duplicates d
        where k._reasons is null and k.record_id = d.record_id"""
    )


def _record_json(opened: OpenedFile) -> str:
    """The raw record as JSON (the cells as received), keyed by the file's own headers."""
    positions, headers = opened.header.positions, opened.header.headers
    pairs = ", ".join(
        f"{quote_literal(headers[positions[c]] if c in positions and headers[positions[c]] else c)}, cast(_src_{c} as varchar)"
        for c in _COLUMNS
    )
    return f"json_object({pairs})"
