"""Publishing: the serving database BI tools open read-only, and the Parquet exports.

``serving.duckdb`` is never written in place. Each publication builds a complete new file next to it
(``serving.duckdb.tmp-<pid>``) from the build database, checkpoints and closes it, then swaps it in with
``os.replace``, which is atomic on one file system. A reader that opened the old file keeps reading the old
inode; a reader that opens the path afterwards sees the new file; nobody sees a half-built state, and
readers never hold a lock the pipeline needs. The Parquet exports are swapped in the same way, file by file.

Every publication appends its row counts to ``meta.publications`` inside the serving database, carrying
the history of earlier publications over from the file it replaces.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ingestion.warehouse import connect, writer_lock

#: Schemas copied from the build database into the serving database (and exported as Parquet).
PUBLISHED_SCHEMAS: tuple[str, ...] = ("marts", "audit")

PUBLICATIONS_DDL = """
create schema if not exists meta;
create table if not exists meta.publications (
    run_id        varchar     not null,  -- the pipeline run (Dagster run id) that published
    published_at  timestamptz not null,  -- when the new file was swapped in (one value per publication)
    table_schema  varchar     not null,
    table_name    varchar     not null,
    row_count     bigint      not null
);
comment on table meta.publications is 'One row per table per publication of this serving database: what was published, when and by which run.';
"""

#: Written last into the exports folder: which publication the Parquet files come from.
EXPORT_MANIFEST = "manifest.json"


class PublishError(RuntimeError):
    """Publishing could not produce a complete serving database; the previous one is left as it was."""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _published_relations(con: duckdb.DuckDBPyConnection, catalog: str, schemas: Sequence[str]) -> list[tuple[str, str]]:
    """(schema, name) of every table and view of ``schemas`` in the attached database ``catalog``."""
    return con.execute(
        """select schema_name, table_name from duckdb_tables() where database_name = $catalog and schema_name in $schemas
           union
           select schema_name, view_name from duckdb_views() where database_name = $catalog and schema_name in $schemas
              and not internal
           order by 1, 2""",
        {"catalog": catalog, "schemas": list(schemas)},
    ).fetchall()


def _copy_comments(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, name: str) -> None:
    """Carry table and column descriptions (dbt ``persist_docs``) over, so BI tools show them."""
    table_comment = con.execute(
        """select comment from duckdb_tables() where database_name = ? and schema_name = ? and table_name = ?
           union all
           select comment from duckdb_views() where database_name = ? and schema_name = ? and view_name = ?""",
        [catalog, schema, name] * 2,
    ).fetchone()
    target = f"{_quote(schema)}.{_quote(name)}"
    if table_comment and table_comment[0]:
        con.execute(f"comment on table {target} is {_sql_string(table_comment[0])}")
    columns = con.execute(
        """select column_name, comment from duckdb_columns()
           where database_name = ? and schema_name = ? and table_name = ? and comment is not null and comment <> ''""",
        [catalog, schema, name],
    ).fetchall()
    for column, comment in columns:
        con.execute(f"comment on column {target}.{_quote(column)} is {_sql_string(comment)}")


def _copy_publication_history(con: duckdb.DuckDBPyConnection, previous: Path) -> None:
    if not previous.exists():
        return
    try:
        con.execute(f"attach {_sql_string(str(previous))} as previous (read_only)")
    except duckdb.Error as error:
        raise PublishError(
            f"cannot read the publication history of the current serving database {previous}: {error}; "
            "move the file away to start a new history"
        ) from error
    try:
        has_history = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'previous' and schema_name = 'meta' and table_name = 'publications'"
        ).fetchone()[0]
        if has_history:
            con.execute(
                "insert into meta.publications by name select run_id, published_at, table_schema, table_name, row_count "
                "from previous.meta.publications"
            )
    finally:
        con.execute("detach previous")


def _remove(*paths: Path) -> None:
    for path in paths:
        with suppress(FileNotFoundError):
            path.unlink()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_atomically(tmp: Path, target: Path) -> None:
    """fsync ``tmp``, swap it in for ``target`` and fsync the folder, so the swap survives a crash."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    _fsync_directory(target.parent)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def publish_serving_database(
    build_db: Path,
    serving_db: Path,
    run_id: str,
    schemas: Sequence[str] = PUBLISHED_SCHEMAS,
) -> dict[str, Any]:
    """Publish every table and view of ``schemas`` in ``build_db`` as tables of a new ``serving_db``.

    Reads the build database read-only under its writer lock (so no writer changes it mid-copy), builds
    ``<serving_db>.tmp-<pid>``, appends this publication to ``meta.publications`` after the history of the
    file it replaces, and swaps the new file in atomically. On any error the temporary file is removed and
    the previous ``serving_db`` is left untouched. Returns what was published: ``run_id``,
    ``published_at``, ``path``, ``size_bytes`` and ``tables`` (``{"marts.dim_region": row_count, ...}``).
    """
    build_db, serving_db = Path(build_db), Path(serving_db)
    if not build_db.exists():
        raise PublishError(f"build database {build_db} does not exist: run the pipeline before publishing")
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving_db.with_name(f"{serving_db.name}.tmp-{os.getpid()}")
    # Publications of the same serving file run one at a time, so none loses another's history row.
    with writer_lock(serving_db):
        _remove(tmp, _wal(tmp))
        try:
            tables, published_at = _build_serving_file(build_db, serving_db, tmp, run_id, schemas)
            if _wal(tmp).exists():
                raise PublishError(f"{_wal(tmp)} was left after closing the new serving database")
            # A WAL next to the live file (someone opened it read-write) must not be replayed onto the new one.
            _remove(_wal(serving_db))
            _replace_atomically(tmp, serving_db)
        except BaseException:
            _remove(tmp, _wal(tmp))
            raise
    return {
        "run_id": run_id,
        "published_at": published_at.isoformat(),
        "path": str(serving_db),
        "size_bytes": serving_db.stat().st_size,
        "tables": tables,
    }


def _build_serving_file(
    build_db: Path, serving_db: Path, tmp: Path, run_id: str, schemas: Sequence[str]
) -> tuple[dict[str, int], datetime]:
    """Write the whole new serving database to ``tmp``; returns the row count per table and the time."""
    con = connect(tmp)
    try:
        with writer_lock(build_db):
            try:
                con.execute(f"attach {_sql_string(str(build_db))} as build (read_only)")
            except duckdb.Error as error:
                raise PublishError(f"cannot open the build database {build_db} read-only: {error}") from error
            relations = _published_relations(con, "build", schemas)
            missing = sorted(set(schemas) - {schema for schema, _ in relations})
            if missing:
                raise PublishError(f"build database {build_db} has no tables in schema(s) {', '.join(missing)}")
            con.execute("begin")
            counts: dict[str, int] = {}
            for schema in schemas:
                con.execute(f"create schema {_quote(schema)}")
            for schema, name in relations:
                target = f"{_quote(schema)}.{_quote(name)}"
                con.execute(f"create table {target} as select * from build.{target}")
                _copy_comments(con, "build", schema, name)
                counts[f"{schema}.{name}"] = con.execute(f"select count(*) from {target}").fetchone()[0]
            con.execute("commit")
            con.execute("detach build")
        con.execute(PUBLICATIONS_DDL)
        _copy_publication_history(con, serving_db)
        published_at = datetime.now(UTC)
        con.executemany(
            "insert into meta.publications values (?, ?, ?, ?, ?)",
            [[run_id, published_at, *key.split(".", 1), rows] for key, rows in counts.items()],
        )
        con.execute("checkpoint")
    finally:
        con.close()
    return counts, published_at


def export_parquet(
    serving_db: Path, exports_dir: Path, schemas: Sequence[str] = PUBLISHED_SCHEMAS
) -> dict[str, Any]:
    """Write every table of ``schemas`` in ``serving_db`` to ``exports_dir/<schema>/<table>.parquet``.

    Each file is written to a temporary name and swapped in with ``os.replace``, so a reader of a Parquet
    file always gets a whole file; exports of tables that no longer exist are removed. ``manifest.json``,
    written last, names the publication (run id, time, row counts) the files come from. Returns the manifest.
    """
    serving_db, exports_dir = Path(serving_db), Path(exports_dir)
    con = connect(serving_db, read_only=True)
    try:
        relations = _published_relations(con, con.execute("select current_database()").fetchone()[0], schemas)
        publication = _latest_publication(con)
        files: dict[str, dict[str, Any]] = {}
        suffix = f".tmp-{os.getpid()}"
        for schema, name in relations:
            target = exports_dir / schema / f"{name}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + suffix)
            try:
                con.execute(
                    f"copy (select * from {_quote(schema)}.{_quote(name)}) to {_sql_string(str(tmp))} "
                    "(format parquet, compression zstd)"
                )
                _replace_atomically(tmp, target)
            except BaseException:
                _remove(tmp)
                raise
            rows = con.execute(f"select count(*) from {_quote(schema)}.{_quote(name)}").fetchone()[0]
            files[f"{schema}.{name}"] = {"path": f"{schema}/{name}.parquet", "row_count": rows}
    finally:
        con.close()
    exported = {exports_dir / info["path"] for info in files.values()}
    for schema in schemas:
        for stale in (exports_dir / schema).glob("*.parquet"):
            if stale not in exported:
                stale.unlink()
    manifest = {**publication, "tables": files}
    manifest_path = exports_dir / EXPORT_MANIFEST
    tmp = manifest_path.with_name(manifest_path.name + suffix)
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _replace_atomically(tmp, manifest_path)
    return manifest


def _latest_publication(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Run id and time of the newest publication recorded in an open serving database."""
    row = con.execute(
        "select run_id, published_at from meta.publications order by published_at desc limit 1"
    ).fetchone()
    if row is None:
        return {"run_id": None, "published_at": None}
    return {"run_id": row[0], "published_at": row[1].isoformat()}
