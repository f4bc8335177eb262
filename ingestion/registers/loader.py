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

Set-based: the file is read once into a temporary table; USCCs and dates are checked on their distinct
values (dates by :func:`ingestion.registers.dates.parse_date`, the one definition of a register date).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from ingestion.landing import LandingFile, land
from ingestion.registers import schema
from ingestion.registers.dates import DateError, parse_date
from ingestion.registers.tables import REGISTERS_DDL
from ingestion.sql import quote_literal, text_sql
from ingestion.tabular import FileStructureError, OpenedFile, open_source
from ingestion.uscc import uscc_compact_sql, uscc_problem_sql
from ingestion.warehouse import AUDIT_DDL, LoadAttempt, LoadSummary, QuarantinedRow, file_transaction, record_quarantine

#: The landing folder of registers (``LANDING_DIR/registers``) and the ``kind`` of their load_log rows.
KIND = "registers"
_TEXT_COLUMNS = [c.name for c in schema.columns()]
_DATE_COLUMNS = [c.name for c in schema.columns() if c.kind == "date"]
_SCRATCH_TABLES = ("_cells", "_texts", "_date_labels", "_usccs", "_checked", "_duplicates")


def load_registers(con: duckdb.DuckDBPyConnection, landing_dir: Path) -> LoadSummary:
    """Sync ``landing_dir/registers/**`` (the folder may be absent: no registers) and load its new contents."""
    con.execute(AUDIT_DDL)
    con.execute(REGISTERS_DDL)

    def load(file: LandingFile, attempt: LoadAttempt) -> None:
        attempt.format = schema.FORMATS[file.path.suffix.lower()]
        load_file(con, file.path, attempt)

    return land(con, landing_dir, KIND, schema.FORMATS, load)


def load_file(con: duckdb.DuckDBPyConnection, path: Path, attempt: LoadAttempt) -> LoadAttempt:
    """Load one file in one transaction and record the attempt; a failure is recorded, not raised."""
    with file_transaction(con, attempt, _describe_failure(attempt)):
        _load(con, path, attempt)
    return attempt


def _load(con: duckdb.DuckDBPyConnection, path: Path, attempt: LoadAttempt) -> None:
    with open_source(con, path, schema.layout()) as opened:
        # the one read of the file: every cell as received, and as trimmed text (NULL for missing markers)
        texts = ", ".join(f"{text_sql(c, opened.source_types[c])} as {c}" for c in _TEXT_COLUMNS)
        raws = ", ".join(f"cast({c} as varchar) as _src_{c}" for c in _TEXT_COLUMNS)
        con.execute(f"create or replace temp table _cells as select _row, {texts}, {raws} from _src")
    try:
        _parse_dates(con)
        con.execute(
            f"""create or replace temp table _usccs as
            select text, case when problem is null then value end as value, problem
            from (select text, value,
                         case when value is null then 'invalid_uscc: no USCC (a holder is identified by its USCC)'
                              else {uscc_problem_sql('value')} end as problem
                  from (select text, {uscc_compact_sql('text')} as value from (select distinct uscc as text from _cells)))"""
        )
        _check_rows(con, attempt)
        _flag_duplicates(con)
        (inserted,) = con.execute(
            f"""insert into raw.register_records
            select {quote_literal(attempt.load_id)}, {quote_literal(attempt.source_file)}, _row, record_id, uscc,
                   holder_name, group_name, kind, title, recognized_by, recognized_on_text, recognized_on, reference,
                   revoked_on_text, revoked_on, ?
            from _checked where _reasons is null and _keep""",
            [attempt.loaded_at],
        ).fetchone()
        quarantined = [
            QuarantinedRow(row, reason, json.loads(record))
            for row, reason, record in con.execute(
                f"""select k._row, k._reasons, {_record_json(opened)}
                from _checked k join _cells c using (_row) where k._reasons is not null order by k._row"""
            ).fetchall()
        ]
        rows_read, collapsed = con.execute(
            "select count(*), count(*) filter (where _reasons is null and not _keep) from _checked"
        ).fetchone()
        attempt.rows_loaded = inserted
        attempt.rows_quarantined = record_quarantine(con, attempt, quarantined)
        con.execute(
            "insert into raw.register_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                attempt.load_id, attempt.source_file, attempt.sha256, attempt.format, opened.encoding,
                opened.header.language, rows_read, attempt.rows_loaded, attempt.rows_quarantined, collapsed,
                attempt.loaded_at,
            ],
        )
    finally:
        for table in _SCRATCH_TABLES:
            con.execute(f"drop table if exists {table}")


def _parse_dates(con: duckdb.DuckDBPyConnection) -> None:
    """``_date_labels(text, value, problem)`` for every distinct date text of the file."""
    distinct = " union ".join(f"select {c} from _cells where {c} is not null" for c in _DATE_COLUMNS)
    labels = []
    for (text,) in con.execute(distinct).fetchall():
        try:
            labels.append((text, parse_date(text), None))
        except DateError as error:
            labels.append((text, None, str(error)))
    con.execute("create or replace temp table _date_labels (text varchar, value date, problem varchar)")
    if labels:
        con.executemany("insert into _date_labels values (?, ?, ?)", labels)


def _check_rows(con: duckdb.DuckDBPyConnection, attempt: LoadAttempt) -> None:
    """``_checked``: every row with its parsed values, the hash of its content and its reasons (NULL when
    it breaks no rule); ``_keep`` is settled by :func:`_flag_duplicates`."""
    today = quote_literal(attempt.loaded_at.date().isoformat())

    def date_reasons(column: str) -> list[str]:
        d = f"d_{column}"
        return [
            f"case when {d}.problem is not null then 'invalid_date: {column} ''' || c.{column} || ''' ' || {d}.problem end",
            f"case when {d}.value > date {today} then 'future_date: {column} ' || {d}.value || "
            f"' is after the day of loading, ' || date {today} end",
        ]

    reasons = [
        "case when c.record_id is null then 'missing_value: no value in record_id' end",
        "u.problem",
        "case when c.kind is null then 'missing_value: no value in kind' end",
        "case when c.recognized_on is null then 'missing_value: no value in recognized_on' end",
        *date_reasons("recognized_on"),
        *date_reasons("revoked_on"),
        "case when d_revoked_on.value < d_recognized_on.value then 'revoked_before_recognized: revoked_on ' || "
        "d_revoked_on.value || ' is before recognized_on ' || d_recognized_on.value end",
    ]
    valid = (
        "c.record_id is not null and u.value is not null and c.kind is not null and d_recognized_on.value is not null "
        f"and d_recognized_on.value <= date {today} and (c.revoked_on is null or (d_revoked_on.value is not null "
        f"and d_revoked_on.value <= date {today} and d_revoked_on.value >= d_recognized_on.value))"
    )
    joins = " ".join(f"left join _date_labels d_{c} on d_{c}.text = c.{c}" for c in _DATE_COLUMNS)
    con.execute(
        f"""create or replace temp table _checked as
        select c._row, c.record_id, u.value as uscc, c.holder_name, c.group_name, c.kind, c.title, c.recognized_by,
               c.recognized_on as recognized_on_text, d_recognized_on.value as recognized_on, c.reference,
               c.revoked_on as revoked_on_text, d_revoked_on.value as revoked_on,
               hash({', '.join(f'c.{n}' for n in _TEXT_COLUMNS)}) as _content,
               case when not coalesce({valid}, false) then concat_ws('; ', {', '.join(reasons)}) end as _reasons,
               true as _keep
        from _cells c left join _usccs u on u.text is not distinct from c.uscc {joins}"""
    )


def _flag_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    """A record_id on several valid rows: exact copies keep the first; different contents are all
    quarantined as conflicting."""
    con.execute(
        """create or replace temp table _duplicates as
        select record_id, count(distinct _content) as variants, min(_row) as first_row,
               string_agg(_row::varchar, ', ' order by _row) as row_list
        from _checked where _reasons is null group by record_id having count(*) > 1"""
    )
    con.execute(
        """update _checked k set
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
        f"{quote_literal(headers[positions[c]] if c in positions and headers[positions[c]] else c)}, c._src_{c}"
        for c in _TEXT_COLUMNS
    )
    return f"json_object({pairs})"


def _describe_failure(attempt: LoadAttempt):
    """File failures: structure errors, unreadable content (DuckDB) and I/O; anything else propagates."""

    def describe(error: Exception) -> str | None:
        if isinstance(error, FileStructureError | duckdb.Error | OSError):
            text = str(error).strip()
            if isinstance(error, duckdb.Error):
                text = f"cannot be read: {text.splitlines()[0] if text else type(error).__name__}"
            return f"{attempt.source_file}: {text[:1000]}"
        return None

    return describe
