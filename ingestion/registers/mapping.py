"""Map the kind of every loaded register row onto ``ref_recognition_kinds`` (its code, or its Chinese
name), from the current seed, on every run.

Set-based and cheap at millions of rows: only the *distinct* kinds of ``raw.register_records`` are
resolved against the seed. ``mapped.register_kinds`` lists every kind as written that maps, with its code
(dbt joins the rows to it, so a row whose kind is unknown is left out), and the rows of current loads whose
kind is not (yet) in the seed are the ``mapping`` rows of ``audit.quarantine``. Adding a kind to the seed
maps those rows on the next run, without reloading.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import duckdb

from core import settings
from ingestion.mapping import MappingSummary, rebuild
from ingestion.registers import schema
from ingestion.registers.tables import MAPPED_REGISTERS_DDL, REGISTERS_DDL
from ingestion.sql import quote_literal

logger = logging.getLogger(__name__)

SEED = "ref_recognition_kinds.csv"


def kind_code_sql(kind: str, seed: str) -> str:
    """The code of a kind as written (a code, any case, or the Chinese name; trimmed), NULL when unknown."""
    return (
        f"(select k.code from read_csv({seed}, all_varchar = true) k "
        f"where lower(k.code) = lower(trim({kind})) or k.name_zh = trim({kind}) limit 1)"
    )


def map_registers(con: duckdb.DuckDBPyConnection, seeds_dir: Path = settings.SEEDS_DIR) -> MappingSummary:
    """Rebuild ``mapped.register_kinds`` and the registers' ``mapping`` quarantine rows."""
    con.execute(REGISTERS_DDL)
    con.execute(MAPPED_REGISTERS_DDL)
    seed = quote_literal(str(seeds_dir / SEED))
    con.execute(
        f"""create or replace temp table _register_kinds as
        select kind, {kind_code_sql('kind', seed)} as kind_code
        from (select distinct kind from raw.register_records)"""
    )
    try:
        with rebuild(con):
            con.execute("delete from mapped.register_kinds")
            con.execute("insert into mapped.register_kinds select kind, kind_code from _register_kinds where kind_code is not null")
            con.execute(
                "delete from audit.quarantine where stage = 'mapping' and load_id in (select load_id from raw.register_files)"
            )
            con.execute(
                f"""insert into audit.quarantine (load_id, source_file, row_number, reason, record, quarantined_at, stage)
                select r.load_id, r.source_file, r.row_number,
                       'unknown_kind: ''' || r.kind || ''' is neither a code nor a Chinese name of ref_recognition_kinds',
                       {_record_json()}, ?, 'mapping'
                from raw.register_records r join raw.register_files f using (load_id)
                where r.kind in (select kind from _register_kinds where kind_code is null)
                  and r.load_id in (select load_id from audit.current_loads)
                order by r.load_id, r.row_number""",
                [datetime.now()],
            )
        summary = MappingSummary()
        summary.rows_mapped = con.execute(
            "select count(*) from raw.register_records where kind in (select kind from mapped.register_kinds)"
        ).fetchone()[0]
        summary.reasons.update(
            dict(
                con.execute(
                    """select reason, count(*) from audit.quarantine
                    where stage = 'mapping' and load_id in (select load_id from raw.register_files) group by reason"""
                ).fetchall()
            )
        )
        summary.rows_quarantined = summary.reasons.total()
    finally:
        con.execute("drop table if exists _register_kinds")
    logger.info("mapped register kinds: %d rows with a kind not in %s (current loads)", summary.rows_quarantined, SEED)
    return summary


def _record_json() -> str:
    """The row as loaded, as JSON keyed by the headers of the file's language (as the load rows are)."""
    loaded = {"recognized_on": "recognized_on_text", "revoked_on": "revoked_on_text"}

    def json_object(header: str) -> str:
        pairs = ", ".join(
            f"{quote_literal(getattr(c, header))}, cast(r.{loaded.get(c.name, c.name)} as varchar)" for c in schema.columns()
        )
        return f"json_object({pairs})"

    return f"case f.header_language when 'zh' then {json_object('header_zh')} else {json_object('header_en')} end"
