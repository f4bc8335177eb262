"""Check the industry and district codes of every loaded SOE submission row against the current seeds.

Set-based and cheap at ten million rows: the distinct codes of ``raw.enterprise_submissions`` are
compared with the seed, and only when some are unknown are the rows carrying them looked up (one scan).
The result, rebuilt on every run, is ``mapped.enterprise_rejected_rows`` for every load (dbt leaves those
rows out of the current and the versioned submissions) and the ``mapping`` rows of ``audit.quarantine``
for the current loads, with the row as loaded as JSON keyed by the file's header language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from core import settings
from ingestion.enterprise import schema
from ingestion.enterprise.tables import ENTERPRISE_DDL, MAPPED_ENTERPRISE_DDL
from ingestion.enterprise.validation import quote_literal
from ingestion.mapping import MappingSummary, rebuild

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodeRule:
    """A column whose values must be codes of a seed; ``explanation`` follows the quoted code in the reason."""

    column: str
    seed: str  # file name in the seeds directory; its column of the same name holds the codes
    rule: str
    explanation: str

    def reason_sql(self, code: str) -> str:
        return f"'{self.rule}: ''' || {code} || ''' {self.explanation}'"


CODE_RULES = (
    CodeRule(
        "industry_code", "ref_industry_codes.csv", "unknown_industry_code",
        "is not a GB/T 4754-2017 class (letter + 4 digits, e.g. C3670) in ref_industry_codes",
    ),
    CodeRule(
        "district_code", "ref_chongqing_districts.csv", "unknown_district_code",
        "is not a district or county of Chongqing (GB/T 2260, ref_chongqing_districts)",
    ),
)


def map_enterprise(con: duckdb.DuckDBPyConnection, seeds_dir: Path = settings.SEEDS_DIR) -> MappingSummary:
    """Rebuild the rejected rows and their ``mapping`` quarantine rows from the seeds of ``seeds_dir``."""
    con.execute(ENTERPRISE_DDL)
    con.execute(MAPPED_ENTERPRISE_DDL)
    unknown = 0
    for rule in CODE_RULES:
        seed = quote_literal(str(seeds_dir / rule.seed))
        con.execute(
            f"""create or replace temp table _unknown_{rule.column} as
            select code from (select distinct {rule.column} as code from raw.enterprise_submissions)
            where code not in (select {rule.column} from read_csv({seed}, all_varchar = true))"""
        )
        unknown += con.execute(f"select count(*) from _unknown_{rule.column}").fetchone()[0]
    try:
        with rebuild(con):
            con.execute("delete from mapped.enterprise_rejected_rows")
            con.execute(
                "delete from audit.quarantine where stage = 'mapping' and load_id in (select load_id from raw.enterprise_files)"
            )
            if unknown:
                _reject(con)
        summary = MappingSummary()
        summary.rows_mapped = con.execute(
            "select (select count(*) from raw.enterprise_submissions) - (select count(*) from mapped.enterprise_rejected_rows)"
        ).fetchone()[0]
        summary.reasons.update(
            dict(
                con.execute(
                    f"""select reason, count(*) from mapped.enterprise_rejected_rows
                    where load_id in (select load_id from audit.current_loads) group by reason"""
                ).fetchall()
            )
        )
        summary.rows_quarantined = summary.reasons.total()
    finally:
        for rule in CODE_RULES:
            con.execute(f"drop table if exists _unknown_{rule.column}")
    logger.info("checked enterprise codes: %d rows rejected in current loads", summary.rows_quarantined)
    return summary


def _reject(con: duckdb.DuckDBPyConnection) -> None:
    """Insert the rows with an unknown code: one scan of the raw rows, joined to the few unknown codes."""
    reasons = ", ".join(
        f"case when s.{r.column} in (select code from _unknown_{r.column}) then {r.reason_sql(f's.{r.column}')} end"
        for r in CODE_RULES
    )
    carries_unknown = " or ".join(f"s.{r.column} in (select code from _unknown_{r.column})" for r in CODE_RULES)
    con.execute(
        f"""create or replace temp table _rejected as
        select s.load_id, s.row_number, s.source_file, concat_ws('; ', {reasons}) as reason, {_record_json()} as record
        from raw.enterprise_submissions s join raw.enterprise_files f using (load_id)
        where {carries_unknown}"""
    )
    try:
        con.execute("insert into mapped.enterprise_rejected_rows select load_id, row_number, reason from _rejected")
        con.execute(
            f"""insert into audit.quarantine (load_id, source_file, row_number, reason, record, quarantined_at, stage)
            select load_id, source_file, row_number, reason, record, ?, 'mapping' from _rejected
            where load_id in (select load_id from audit.current_loads) order by load_id, row_number""",
            [datetime.now()],
        )
    finally:
        con.execute("drop table if exists _rejected")


def _record_json() -> str:
    """The row as loaded, as JSON keyed by the headers of the file's language (as the load rows are)."""

    def json_object(header: str) -> str:
        pairs = ", ".join(f"{quote_literal(getattr(c, header))}, cast(s.{c.name} as varchar)" for c in schema.columns())
        return f"json_object({pairs})"

    return f"case f.header_language when 'zh' then {json_object('header_zh')} else {json_object('header_en')} end"
