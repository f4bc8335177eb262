"""The audit tables as issue 9's shared design shapes them, for tests written before every part of it
has landed: the new ``audit.load_log`` and ``audit.quarantine`` columns and the view
``audit.current_loads``. Each statement is a no-op on a warehouse that already has them (from
``ingestion.warehouse.AUDIT_DDL``), so the tests keep passing once it does.
"""

from __future__ import annotations

import duckdb

from ingestion.warehouse import AUDIT_DDL

DESIGN_SQL = """
alter table audit.load_log add column if not exists kind varchar;
alter table audit.load_log add column if not exists sidecar_sha256 varchar;
alter table audit.load_log add column if not exists note varchar;
alter table audit.quarantine add column if not exists stage varchar;
create view if not exists audit.current_loads as
    select load_id, kind, source_file, sha256, sidecar_sha256, format, release_date, loaded_at
    from audit.load_log l
    where status = 'loaded' and coalesce((
        select arg_max(e.status, e.loaded_at) from audit.load_log e
        where e.load_id = l.load_id and e.status in ('loaded', 'withdrawn', 'restored')), 'loaded') <> 'withdrawn';
"""


def create_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The audit schema with the columns and view of the shared design."""
    con.execute(AUDIT_DDL)
    con.execute(DESIGN_SQL)
