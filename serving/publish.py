"""Publishing: the serving database BI tools open read-only, and the Parquet exports.

``serving.duckdb`` is never written in place. Each publication builds a complete new file next to it
(``serving.duckdb.tmp-<pid>``) from the build database, checkpoints and closes it, then swaps it in with
``os.replace``, which is atomic on one file system. A reader that opened the old file keeps reading the old
inode; a reader that opens the path afterwards sees the new file; nobody sees a half-built state, and
readers never hold a lock the pipeline needs. The Parquet exports are swapped in the same way, file by file.

Every publication appends its row counts to ``meta.publications`` inside the serving database, carrying
the history of earlier publications over from the file it replaces, with the fingerprint of the inputs it
was built from (``inputs_sha256``, see :mod:`orchestration.fingerprint`) when the run knows it, and each
table's content digest (:func:`content_digests`).

A publication costs what changed: a table whose digest is the one the current file published is taken
over from a copy of that file instead of being written again (when the tables that changed hold at most
half of the rows, so the file does not grow with free space; and only if the file is untouched since the
publication recorded what it holds (:data:`HOLDINGS_SUFFIX`) or the copy still hashes to that digest, so a
file someone wrote into is corrected), and a Parquet export whose table kept its digest
stays as it is. Ten million unchanged enterprise rows cost a hash (about 0.5 s) instead of a copy
(about 5 s) and a Parquet file (about 2.5 s). The digests of every file of a publication are taken in one
pass per query: a group's extract is a :class:`Subset` of a restricted table, summed from that table's pass.

A changed table with a ``period`` column (:data:`PARTITION_COLUMN`: the enterprise facts) is updated in
that copy a period at a time: the published table is hashed per period, and only the periods whose rows
differ from the build's are deleted and inserted again. The updated table must then hash to the build's
digest, or it is written whole.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import stat
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import duckdb

from core import settings
from core.files import fsync_directory
from core.warehouse import connect, is_lock_conflict, writer_lock

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Schemas copied from the build database into the serving database (and exported as Parquet).
PUBLISHED_SCHEMAS: tuple[str, ...] = ("marts", "audit")
#: Serving files built at once, each on a DuckDB connection of its own (DuckDB works outside the GIL).
PARALLEL_BUILDS = 2
#: A changed table with this column is updated in the copy of the published file a period at a time, as
#: the dbt models build the enterprise facts: a new quarter's submissions rewrite that quarter only.
PARTITION_COLUMN = "period"

PUBLICATIONS_DDL = """
create schema if not exists meta;
create table if not exists meta.publications (
    run_id        varchar     not null,  -- the pipeline run (Dagster run id) that published
    published_at  timestamptz not null,  -- when the new file was swapped in (one value per publication)
    table_schema  varchar     not null,
    table_name    varchar     not null,
    row_count     bigint      not null,
    inputs_sha256 varchar,               -- fingerprint of the landing files, seeds, dbt project and code it was built from
    content_digest varchar               -- of the table's columns, descriptions and rows (see content_digests)
);
-- a copy of a file of older code, taken over (see _build_serving_file)
alter table meta.publications add column if not exists inputs_sha256 varchar;
alter table meta.publications add column if not exists content_digest varchar;
comment on table meta.publications is 'One row per table per publication of this serving database: what was published, when and by which run.';
comment on column meta.publications.inputs_sha256 is 'SHA-256 fingerprint of what the publication was built from: the landing files, the dbt seeds and project, the code and the reporting date; null when the run did not record it.';
comment on column meta.publications.content_digest is 'SHA-256 of the published table: its columns and their types, its descriptions, its row count and an order-independent sum of its row hashes. Equal digests: the same table (a later publication takes it over without writing it again).';
"""

#: The name the build database is attached under while publishing: the one dbt's views refer to it by
#: (dbt-duckdb names the catalog after the file, ``warehouse.duckdb``), so views can be copied too.
BUILD_CATALOG = "warehouse"

#: zstd at its fastest level: 15% faster to write than the default level for 2% larger files (10M rows:
#: 1.9 s instead of 2.3 s, 158 MB instead of 155 MB; snappy: 1.7 s but 260 MB).
PARQUET_OPTIONS = "compression zstd, compression_level 1"

#: Written last into the exports folder: which publication the Parquet files come from.
EXPORT_MANIFEST = "manifest.json"


class PublishError(RuntimeError):
    """Publishing could not produce a complete serving database; the previous one is left as it was."""


class ShrinkError(PublishError):
    """A mart that had rows would be published empty or with less than half of them."""


#: A mart may lose up to this share of its published rows without being confirmed on purpose.
MAX_SHRINK_SHARE = 0.5


def shrinking_tables(
    previous: dict[str, int], current: dict[str, int], allowed: frozenset[str] | None
) -> list[str]:
    """The marts of ``previous`` (row counts of the last publication) that ``current`` empties or more
    than halves, as ``"marts.x: 120 -> 0 rows"``; a table named in ``allowed`` (None: all) is let through.
    A mart that disappears counts as emptied."""
    shrinking = []
    for table, before in sorted(previous.items()):
        after = current.get(table, 0)
        if not table.startswith("marts.") or before == 0 or after >= before * (1 - MAX_SHRINK_SHARE):
            continue
        if allowed is None or table in allowed:
            continue
        shrinking.append(f"{table}: {before} -> {after} rows")
    return shrinking


def _check_shrinkage(con: duckdb.DuckDBPyConnection, counts: dict[str, int], allowed: frozenset[str] | None) -> None:
    """Raise :class:`ShrinkError` when this publication empties or halves a mart of the previous one."""
    previous = dict(
        con.execute(
            """select table_schema || '.' || table_name, row_count from meta.publications
               qualify published_at = max(published_at) over ()"""
        ).fetchall()
    )
    shrinking = shrinking_tables(previous, counts, allowed)
    if shrinking:
        names = ",".join(t.split(":", 1)[0] for t in shrinking)
        raise ShrinkError(
            "not publishing: against the last publication, "
            + "; ".join(shrinking)
            + f". If the inputs really shrank (files withdrawn on purpose), confirm it by running again with "
            f"{settings.ALLOW_SHRINK_VARIABLE}={names} (or =all); the current serving database is unchanged."
        )


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _qualified(table: str) -> str:
    """``"schema"."name"`` of a ``schema.name``."""
    return ".".join(map(quote_identifier, table.split(".", 1)))


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def published_relations(con: duckdb.DuckDBPyConnection, catalog: str, schemas: Sequence[str]) -> list[tuple[str, str]]:
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
    target = f"{quote_identifier(schema)}.{quote_identifier(name)}"
    if table_comment and table_comment[0]:
        con.execute(f"comment on table {target} is {sql_string(table_comment[0])}")
    columns = con.execute(
        """select column_name, comment from duckdb_columns()
           where database_name = ? and schema_name = ? and table_name = ? and comment is not null and comment <> ''""",
        [catalog, schema, name],
    ).fetchall()
    for column, comment in columns:
        con.execute(f"comment on column {target}.{quote_identifier(column)} is {sql_string(comment)}")


def _copy_publication_history(con: duckdb.DuckDBPyConnection, previous: Path) -> None:
    """Carry ``meta.publications`` over from the file being replaced. A damaged file (not a DuckDB file any
    more) is replaced all the same, its history lost and said so: readers must not be left with it. A file
    another program holds open read-write stops the publication instead: its history is intact."""
    if not previous.exists():
        return
    try:
        con.execute(f"attach {sql_string(str(previous))} as previous (read_only)")
    except duckdb.Error as error:
        problem = str(error).strip().splitlines()[0]
        if is_lock_conflict(error):
            raise PublishError(
                f"cannot read the publication history of the current serving database {previous} ({problem}): "
                "close the program that holds it open read-write (readers open it read-only) and run again"
            ) from error
        logger.warning(
            "the current serving database %s cannot be read (%s): it is replaced by a new one, whose publication "
            "history starts with this publication", previous, problem,
        )
        return
    try:
        has_history = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'previous' and schema_name = 'meta' and table_name = 'publications'"
        ).fetchone()[0]
        if has_history:
            con.execute(
                "insert into meta.publications by name select * from previous.meta.publications"
            )
    finally:
        con.execute("detach previous")


#: What a temporary file's name carries before the pid of the process writing it.
TMP_MARK = ".tmp-"


def remove_leftovers(folder: Path, pattern: str) -> list[Path]:
    """Delete the temporary files (and their WALs) matching ``pattern`` below ``folder`` that interrupted
    publications or exports left behind; call it holding the lock that serializes their writers."""
    leftovers = sorted(folder.rglob(pattern)) if folder.is_dir() else []
    for path in leftovers:
        logger.warning("removing %s, left by an interrupted publication", path)
        if path.is_dir():  # a staging folder of an export by period
            shutil.rmtree(path, ignore_errors=True)
        else:
            _remove(path)
    return leftovers


@contextmanager
def disk_full_named(path: Path) -> Iterator[None]:
    """Turn a full disk while writing ``path`` into one :class:`PublishError` that names the path."""
    try:
        yield
    except (OSError, duckdb.IOException) as error:
        if getattr(error, "errno", None) != errno.ENOSPC and "No space left on device" not in str(error):
            raise
        raise PublishError(f"No space left on device while writing '{path}': free some space and run again") from error


def _remove(*paths: Path) -> None:
    for path in paths:
        with suppress(FileNotFoundError):
            path.unlink()


def _replace_atomically(tmp: Path, target: Path) -> None:
    """fsync ``tmp``, swap it in for ``target`` and fsync the folder, so the swap survives a crash."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    fsync_directory(target.parent)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


@dataclass(frozen=True)
class Relation:
    """Rows computed in Python that the queries of a tier read, as a temporary table."""

    columns: Mapping[str, str]  # name -> DuckDB type
    rows: Sequence[tuple]

    def create_temporary(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        columns = ", ".join(f"{quote_identifier(c)} {t}" for c, t in self.columns.items())
        con.execute(f"create temporary table {quote_identifier(name)} ({columns})")
        if self.rows:  # executemany refuses an empty list
            con.executemany(f"insert into {quote_identifier(name)} values ({', '.join('?' * len(self.columns))})", self.rows)


def copy_all(build_db: Path, schemas: Sequence[str]) -> dict[str, str]:
    """Every table and view of ``schemas`` in ``build_db``, copied as it is."""
    con = duckdb.connect()
    try:
        with writer_lock(build_db):
            try:
                con.execute(f"attach {sql_string(str(build_db))} as {BUILD_CATALOG} (read_only)")
            except duckdb.Error as error:
                raise PublishError(f"cannot open the build database {build_db} read-only: {error}") from error
            relations = published_relations(con, BUILD_CATALOG, schemas)
    finally:
        con.close()
    missing = sorted(set(schemas) - {schema for schema, _ in relations})
    if missing:
        raise PublishError(f"build database {build_db} has no tables in schema(s) {', '.join(missing)}")
    return {f"{schema}.{name}": f"select * from {BUILD_CATALOG}.{quote_identifier(schema)}.{quote_identifier(name)}" for schema, name in relations}


def publish_serving_database(
    build_db: Path,
    serving_db: Path,
    run_id: str,
    schemas: Sequence[str] = PUBLISHED_SCHEMAS,
    inputs_sha256: str | None = None,
) -> dict[str, Any]:
    """Publish every table and view of ``schemas`` in ``build_db`` as tables of a new ``serving_db``
    (one :class:`Publication` of :func:`publish_databases`). Returns what was published: ``run_id``,
    ``published_at``, ``path``, ``size_bytes``, ``inputs_sha256`` and ``tables`` (``{"marts.dim_region": row_count, ...}``).
    """
    build_db = Path(build_db)
    if not build_db.exists():
        raise PublishError(f"build database {build_db} does not exist: run the pipeline before publishing")
    with writer_lock(build_db):
        (published,) = publish_databases(
            build_db, [Publication(Path(serving_db), copy_all(build_db, schemas))], run_id, inputs_sha256=inputs_sha256
        )
    return published


@dataclass(frozen=True)
class Publication:
    """One serving database to publish: its path, its tables (see :func:`_build_serving_file`), its mode.

    ``kept_when_unchanged``: when the live file holds exactly these tables already (see
    :func:`_holds_already`), it is left as it is: no new file, no row in its ``meta.publications``. Not for a
    file whose latest publication must name every run (``make run`` reads the public file's to decide whether
    anything changed)."""

    serving_db: Path
    tables: Mapping[str, TableRows]
    file_mode: int = 0o644
    kept_when_unchanged: bool = False


def publish_databases(
    build_db: Path,
    publications: Sequence[Publication],
    run_id: str,
    relations: Mapping[str, Relation] | None = None,
    verify: Callable[[Publication, Path], None] | None = None,
    inputs_sha256: str | None = None,
) -> list[dict[str, Any]]:
    """Publish every database of ``publications`` from ``build_db``: all or none. ``inputs_sha256``, the
    fingerprint of the inputs the build database was built from, is recorded with each publication.

    A publication :attr:`~Publication.kept_when_unchanged` whose live file holds its tables already is left as
    it is (``unchanged`` in what is returned, with the run, time and inputs of the publication that wrote it).
    Each new file is built next to the one it replaces (``<serving_db>.tmp-<pid>``) from the build database
    read-only, with this publication appended to ``meta.publications`` after the history of the file it
    replaces, and handed to ``verify`` (which raises to stop the publication). Only when every file is
    built and verified are they swapped in, in the order given, each with an atomic rename: a reader sees a
    whole old file or a whole new one. On any error the temporary files are removed and every previous
    file is left untouched. Returns, per publication, ``run_id``, ``published_at``, ``path``,
    ``size_bytes``, ``inputs_sha256``, ``tables`` (row count per table), ``taken_over`` (the tables taken over
    unchanged from the file it replaces), ``updated_by_period`` (the tables updated there a period at a time,
    with the number of periods written) and ``unchanged``.
    """
    build_db = Path(build_db)
    allowed_shrinkage = settings.allowed_shrinkage()

    def build(publication: Publication, built_digests: Mapping[str, TableDigest], tmp: Path) -> _Built:
        """Build and verify ``publication``'s new file in ``tmp``, unless its live file holds its tables already."""
        if publication.kept_when_unchanged and (written_by := _holds_already(publication, built_digests)):
            return _Built(publication, None, {t: d.rows for t, d in built_digests.items()}, written_by,
                          sorted(built_digests), {})
        with disk_full_named(tmp):
            tables, published_at, kept, by_period = _build_serving_file(
                build_db, publication.serving_db, tmp, run_id, publication.tables, built_digests, allowed_shrinkage,
                relations, inputs_sha256,
            )
        if _wal(tmp).exists():
            raise PublishError(f"{_wal(tmp)} was left after closing the new serving database")
        if verify is not None:
            verify(publication, tmp)
        written_by = {"run_id": run_id, "published_at": published_at.isoformat(), "inputs_sha256": inputs_sha256}
        return _Built(publication, tmp, tables, written_by, kept, by_period)

    with ExitStack() as locks:
        # Publications of the same serving file run one at a time, so none loses another's history row, and
        # a temporary file found here is left by an interrupted publication.
        for publication in publications:
            publication.serving_db.parent.mkdir(parents=True, exist_ok=True)
            locks.enter_context(writer_lock(publication.serving_db, "publishing"))
            remove_leftovers(publication.serving_db.parent, f"{publication.serving_db.name}{TMP_MARK}*")
        new_files = [_new_file(publication.serving_db) for publication in publications]
        try:
            with writer_lock(build_db):
                scratch = duckdb.connect()
                try:
                    _attach_build(scratch, build_db, relations)
                    digests = digests_of_files(scratch, [publication.tables for publication in publications])
                finally:
                    scratch.close()
                built = in_parallel(
                    [partial(build, *job) for job in zip(publications, digests, new_files, strict=True)], PARALLEL_BUILDS
                )
            for done, file_digests in zip(built, digests, strict=True):
                if done.new_file is None:
                    continue
                serving_db = done.publication.serving_db
                os.chmod(done.new_file, done.publication.file_mode)
                # A WAL next to the live file (someone opened it read-write) must not be replayed onto the new one.
                _remove(_wal(serving_db), _holdings_path(serving_db))
                _replace_atomically(done.new_file, serving_db)
                _record_holdings(serving_db, file_digests, done.publication.file_mode, done.written_by)
        except BaseException:
            for new_file in new_files:  # swapped in ones are gone from there already
                _remove(new_file, _wal(new_file))
            raise
    return [
        {
            **done.written_by,
            "path": str(done.publication.serving_db),
            "size_bytes": done.publication.serving_db.stat().st_size,
            "tables": done.tables,
            "taken_over": done.taken_over,
            "updated_by_period": done.updated_by_period,
            "unchanged": done.new_file is None,
        }
        for done in built
    ]


def _new_file(serving_db: Path) -> Path:
    """Where this process builds the file that replaces ``serving_db``."""
    return serving_db.with_name(f"{serving_db.name}{TMP_MARK}{os.getpid()}")


def in_parallel(jobs: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """The results of ``jobs``, in their order, run ``workers`` at a time in threads. On the first error (or an
    interrupt of the caller) the jobs not started are cancelled and the running ones waited for; then the
    error is raised."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(job) for job in jobs]
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception()), None)
        if failed is not None:
            raise failed.exception()
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Built(NamedTuple):
    """A publication ready to be swapped in: its new file (None: the live file holds its tables already and is
    left as it is), the row count per table, the publication that wrote the file (run id, time, inputs), the
    tables taken over from the live file and those updated there by period (with the periods written)."""

    publication: Publication
    new_file: Path | None
    tables: dict[str, int]
    written_by: dict[str, Any]
    taken_over: list[str]
    updated_by_period: dict[str, int]


@dataclass(frozen=True)
class Subset:
    """The rows of ``query`` whose ``column`` holds ``value``: a group's extract of a restricted table.
    Every subset of one query (and the query itself) is digested in one pass over it."""

    query: str
    column: str
    value: str


#: What a published table holds: the rows of a query, or a :class:`Subset` of them.
TableRows = str | Subset


def rows_sql(rows: TableRows) -> str:
    """The query of a table's rows."""
    if isinstance(rows, str):
        return rows
    return f"select * from ({rows.query}) where {quote_identifier(rows.column)} = {sql_string(rows.value)}"


def _query_of(rows: TableRows) -> str:
    """The query a table's rows are all or a :class:`Subset` of."""
    return rows if isinstance(rows, str) else rows.query


@dataclass(frozen=True)
class TableDigest:
    """What :func:`content_digests` finds of one table."""

    digest: str
    rows: int
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type)
    #: Per value of :data:`PARTITION_COLUMN`: its rows and the sum of their hashes; None without that column.
    partitions: dict[Any, tuple[int, int]] | None = None


def content_digests(
    con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableRows], catalog: str = BUILD_CATALOG
) -> dict[str, TableDigest]:
    """Per table of ``tables`` ("schema.table" -> its rows, e.g. a query over the build database attached as
    ``warehouse``): the SHA-256 of its columns and their types, the descriptions of the table of that name
    in ``catalog`` (those it is published with), its row count and the sum of its rows' hashes
    (order-independent), with DuckDB's version (whose hash function it is). A table with a
    :data:`PARTITION_COLUMN` is hashed per period in the same pass. Hashing ten million rows takes about
    a tenth of copying them."""
    return digests_of_files(con, [tables], catalog)[0]


def digests_of_files(
    con: duckdb.DuckDBPyConnection, files: Sequence[Mapping[str, TableRows]], catalog: str = BUILD_CATALOG
) -> list[dict[str, TableDigest]]:
    """:func:`content_digests` of the tables of several files at once: each query is evaluated once, however
    many files publish it or a :class:`Subset` of it (the restricted tier and every group's extract read the
    same enterprise facts)."""
    columns: dict[str, tuple[tuple[str, str], ...]] = {}
    splits: dict[str, str | None] = {}  # query -> the column its subsets split it by
    for rows in (r for tables in files for r in tables.values()):
        query = _query_of(rows)
        if query not in columns:
            columns[query] = tuple((c[0], c[1]) for c in con.execute(f"describe ({query})").fetchall())
            splits[query] = None
        if isinstance(rows, Subset):
            if splits[query] not in (None, rows.column):
                raise ValueError(f"subsets of one query split by {splits[query]} and by {rows.column}: {query}")
            splits[query] = rows.column
    # query -> {(value of its split column, period): (rows, sum of row hashes)}; one pass per query
    sums = {query: _hash_sums(con, query, columns[query], splits[query]) for query in columns}
    comments: dict[str, list[str]] = {}
    digests = []
    for tables in files:
        found = {}
        for table, rows in tables.items():
            if table not in comments:
                comments[table] = _comments(con, catalog, table)
            query = _query_of(rows)
            selected = [(key[1], part) for key, part in sums[query].items() if isinstance(rows, str) or key[0] == rows.value]
            found[table] = _digest(columns[query], comments[table], selected)
        digests.append(found)
    return digests


def _hash_sums(
    con: duckdb.DuckDBPyConnection, query: str, columns: tuple[tuple[str, str], ...], split: str | None
) -> dict[tuple[Any, Any], tuple[int, int]]:
    """``(value of split, period) -> (rows, sum of their hashes)`` of ``query``'s rows (None for a column it
    is not grouped by)."""
    row_hash = f"hash({', '.join(quote_identifier(c) for c, _ in columns)})::hugeint"
    keys = [quote_identifier(split) if split else "null", quote_identifier(PARTITION_COLUMN) if PARTITION_COLUMN in dict(columns) else "null"]
    return {
        (value, period): (rows, int(hashes))
        for value, period, rows, hashes in con.execute(
            f"select {keys[0]}, {keys[1]}, count(*), sum({row_hash}) from ({query}) group by all having count(*) > 0"
        ).fetchall()
    }


def _comments(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[str]:
    """The description of ``table`` in ``catalog`` and those of its columns."""
    schema, name = table.split(".", 1)
    return [c[0] for c in con.execute(
        """select comment from duckdb_tables() where database_name = $catalog and schema_name = $schema and table_name = $name
           union all
           select comment from duckdb_views() where database_name = $catalog and schema_name = $schema and view_name = $name
           union all
           (select column_name || ': ' || comment from duckdb_columns()
            where database_name = $catalog and schema_name = $schema and table_name = $name and comment <> ''
            order by column_index)""",
        {"catalog": catalog, "schema": schema, "name": name},
    ).fetchall()]


def _digest(columns: tuple[tuple[str, str], ...], comments: list[str], sums: Sequence[tuple[Any, tuple[int, int]]]) -> TableDigest:
    """A table's digest from its columns, its descriptions and ``(period, (rows, sum of hashes))`` of its rows."""
    partitions: dict[Any, tuple[int, int]] = {}
    for period, (rows, hashes) in sums:
        before = partitions.get(period, (0, 0))
        partitions[period] = (before[0] + rows, before[1] + hashes)
    count = sum(rows for rows, _ in partitions.values())
    total = str(sum(hashes for _, hashes in partitions.values())) if partitions else None
    signature = [duckdb.__version__, [list(c) for c in columns], comments, count, total]
    digest = hashlib.sha256(json.dumps(signature, default=str).encode("utf-8")).hexdigest()
    return TableDigest(digest, count, columns, partitions if PARTITION_COLUMN in dict(columns) else None)


def _file_digests(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> dict[str, TableDigest]:
    """:func:`content_digests` of tables of the database ``con`` is open on (a serving file), as stored."""
    catalog = con.execute("select current_database()").fetchone()[0]
    return content_digests(con, {t: f"select * from {_qualified(t)}" for t in tables}, catalog)


@dataclass(frozen=True)
class _Published:
    """What the file being replaced holds: each table's digest as published, and the periods of the changed
    tables that can be updated a period at a time (same columns). ``recorded``: taken from the record of
    what the untouched file holds (:data:`HOLDINGS_SUFFIX`), not hashed, so a copy of it need not be either."""

    digests: dict[str, str]
    partitions: dict[str, dict[Any, tuple[int, int]]]
    recorded: bool = False


#: Next to each serving file, what :func:`publish_databases` wrote into it: each table's digest, columns and
#: per-period sums, with the file's identity then (size, modification time, inode). While the file keeps that
#: identity, the next publication takes it as what the file holds instead of hashing the tables again (1.5-3 s
#: at ten million rows); a file someone wrote into, replaced or restored is hashed as before.
HOLDINGS_SUFFIX = ".holds.json"


def _holdings_path(serving_db: Path) -> Path:
    return serving_db.with_name(f".{serving_db.name}{HOLDINGS_SUFFIX}")


def _identity(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def _record_holdings(
    serving_db: Path, digests: Mapping[str, TableDigest], file_mode: int, publication: Mapping[str, Any]
) -> None:
    """Write what the just published ``serving_db`` holds (its tables hash to ``digests``) and which
    ``publication`` (run id, time, inputs) wrote it, readable by whom the file is (``file_mode``)."""
    tables = {
        table: {
            "digest": d.digest,
            "rows": d.rows,
            "columns": [list(c) for c in d.columns],
            "partitions": None if d.partitions is None else [[p, rows, str(hashes)] for p, (rows, hashes) in d.partitions.items()],
        }
        for table, d in digests.items()
    }
    path = _holdings_path(serving_db)
    try:
        path.write_text(json.dumps({"file": _identity(serving_db), "publication": dict(publication), "tables": tables}),
                        encoding="utf-8")
        os.chmod(path, file_mode)
    except (OSError, TypeError, ValueError) as error:  # periods JSON cannot hold, a full disk: hashed next time
        logger.warning("%s: what it holds is not recorded (%s); the next publication hashes it", serving_db, error)
        _remove(path)


def _recorded(serving_db: Path) -> dict[str, Any] | None:
    """The record :func:`_record_holdings` wrote, if ``serving_db`` is still the file it describes."""
    try:
        recorded = json.loads(_holdings_path(serving_db).read_text(encoding="utf-8"))
        return recorded if recorded["file"] == _identity(serving_db) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _holds_already(publication: Publication, digests: Mapping[str, TableDigest]) -> dict[str, Any] | None:
    """The publication (run id, time, inputs) that wrote the live file of ``publication``, when that file holds
    exactly the tables of ``digests`` and nothing else, untouched since (its record), with no WAL beside it
    (someone opened it read-write) and with the file mode asked for; None otherwise."""
    serving_db = publication.serving_db
    recorded = _recorded(serving_db)
    if recorded is None or not isinstance(recorded.get("publication"), dict) or _wal(serving_db).exists():
        return None
    if stat.S_IMODE(serving_db.stat().st_mode) != publication.file_mode:
        return None
    try:
        held = {table: t["digest"] for table, t in recorded["tables"].items()}
    except (AttributeError, KeyError, TypeError):
        return None
    return recorded["publication"] if held == {table: d.digest for table, d in digests.items()} else None


def _holdings(serving_db: Path) -> dict[str, TableDigest] | None:
    """What ``serving_db`` holds, as its publication recorded it, if the file is still the one written."""
    recorded = _recorded(serving_db)
    if recorded is None:
        return None
    try:
        return {
            table: TableDigest(
                t["digest"], t["rows"], tuple(tuple(c) for c in t["columns"]),
                None if t["partitions"] is None else {p: (rows, int(hashes)) for p, rows, hashes in t["partitions"]},
            )
            for table, t in recorded["tables"].items()
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _published(serving_db: Path, built: Mapping[str, TableDigest]) -> _Published:
    """What the live file holds: its record (:func:`_holdings`) while the file is untouched, else read from the
    file (read-only, like any reader; nothing for a file of older code, a missing or an unreadable file)."""
    if not serving_db.exists():
        return _Published({}, {})
    holdings = _holdings(serving_db)
    if holdings is not None:
        digests = {table: held.digest for table, held in holdings.items()}
        return _Published(digests, _updatable(built, {t: holdings[t] for t in _changed_by_period(built, digests)}), True)
    try:
        con = duckdb.connect(str(serving_db), read_only=True)
    except duckdb.Error:
        return _Published({}, {})
    try:
        digests = _latest_digests(con)
        catalog = con.execute("select current_database()").fetchone()[0]
        changed = [t for t in _changed_by_period(built, digests) if has_relation(con, catalog, t)]
        return _Published(digests, _updatable(built, _file_digests(con, changed)))
    except duckdb.Error:
        return _Published({}, {})
    finally:
        con.close()


def _changed_by_period(built: Mapping[str, TableDigest], published: Mapping[str, str]) -> list[str]:
    """The published tables with a period column whose digest the build changed."""
    return [t for t, d in built.items() if d.partitions is not None and t in published and published[t] != d.digest]


def _updatable(built: Mapping[str, TableDigest], found: Mapping[str, TableDigest]) -> dict[str, dict[Any, tuple[int, int]]]:
    """The per-period sums of the published tables ``found`` that can be updated a period at a time (same columns)."""
    return {t: f.partitions for t, f in found.items() if f.columns == built[t].columns and f.partitions is not None}


def _attach_build(con: duckdb.DuckDBPyConnection, build_db: Path, relations: Mapping[str, Relation] | None) -> None:
    try:
        con.execute(f"attach {sql_string(str(build_db))} as {BUILD_CATALOG} (read_only)")
    except duckdb.Error as error:
        raise PublishError(f"cannot open the build database {build_db} read-only: {error}") from error
    for name, relation in (relations or {}).items():
        relation.create_temporary(con, name)


def _build_serving_file(
    build_db: Path,
    serving_db: Path,
    tmp: Path,
    run_id: str,
    tables: Mapping[str, TableRows],
    digests: Mapping[str, TableDigest],
    allowed_shrinkage: frozenset[str] | None,
    relations: Mapping[str, Relation] | None = None,
    inputs_sha256: str | None = None,
) -> tuple[dict[str, int], datetime, list[str], dict[str, int]]:
    """Write the whole new serving database to ``tmp``: every table of ``tables`` ("schema.table" -> its
    rows, over the build database attached as ``warehouse`` and over ``relations``, rows handed over by the
    caller), whose digests are ``digests``. Tables whose digest is the one ``serving_db`` published come from
    a copy of that file, and a changed table with a period column is updated there a period at a time (see
    the module). Returns the row count per table, the time, the tables taken over and the periods rewritten
    per table so updated. Call it under the build database's writer lock."""
    counts = {table: d.rows for table, d in digests.items()}
    published = _published(serving_db, digests)
    kept = sorted(t for t, d in digests.items() if published.digests.get(t) == d.digest)
    by_period = {t: _changed_periods(digests[t].partitions or {}, live) for t, live in published.partitions.items()}
    rewritten_rows = sum(count for t, count in counts.items() if t not in kept and t not in by_period) + sum(
        (digests[t].partitions or {}).get(p, (0, 0))[0] for t, periods in by_period.items() for p in periods
    )
    from_copy = bool(kept or by_period) and rewritten_rows <= sum(counts.values()) / 2
    if from_copy:
        shutil.copyfile(serving_db, tmp)
    else:
        kept, by_period = [], {}  # a new file: taking a few tables over would leave the file mostly free space
    con = connect(tmp)
    try:
        if kept and not published.recorded:  # the file may have been written into since: the copy is hashed again
            found = _file_digests(con, kept)
            kept = [t for t in kept if found[t].digest == digests[t].digest]
        _attach_build(con, build_db, relations)
        con.execute("begin")
        existing = {f"{schema}.{name}" for schema, name in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name <> 'meta'").fetchall()}
        for table, periods in by_period.items():
            _replace_periods(con, table, rows_sql(tables[table]), periods)
        by_period = {t: len(periods) for t, periods in by_period.items() if _holds(con, t, digests[t], periods)}
        for table in sorted(existing - set(kept) - set(by_period)):
            con.execute(f"drop table {_qualified(table)}")
        for schema in sorted({table.split(".", 1)[0] for table in tables}):
            con.execute(f"create schema if not exists {quote_identifier(schema)}")
        for table, rows in tables.items():
            if table in kept or table in by_period:
                continue
            con.execute(f"create table {_qualified(table)} as {rows_sql(rows)}")
            _carry_comments(con, table)
        for (schema,) in con.execute(
            """select schema_name from duckdb_schemas() where database_name = current_database() and not internal
               and schema_name not in ('main', 'meta') and schema_name not in
               (select schema_name from duckdb_tables() where database_name = current_database())"""
        ).fetchall():
            con.execute(f"drop schema {quote_identifier(schema)}")
        con.execute("commit")
        con.execute(f"detach {BUILD_CATALOG}")
    except BaseException:
        con.close()
        raise
    try:
        con.execute(PUBLICATIONS_DDL)
        if not from_copy:  # a copy of the current file has its history already
            _copy_publication_history(con, serving_db)
        _check_shrinkage(con, counts, allowed_shrinkage)
        published_at = datetime.now(UTC)
        con.executemany(
            "insert into meta.publications (run_id, published_at, table_schema, table_name, row_count, inputs_sha256, "
            "content_digest) values (?, ?, ?, ?, ?, ?, ?)",
            [[run_id, published_at, *key.split(".", 1), rows, inputs_sha256, digests[key].digest] for key, rows in counts.items()],
        )
        con.execute("checkpoint")
    finally:
        con.close()
    return counts, published_at, kept, by_period


def _changed_periods(built: Mapping[Any, tuple[int, int]], live: Mapping[Any, tuple[int, int]]) -> list[Any]:
    """The periods whose rows differ between the build and the published table (new and gone ones too)."""
    return sorted((p for p in built.keys() | live.keys() if built.get(p) != live.get(p)), key=lambda p: (p is None, str(p)))


def _replace_periods(con: duckdb.DuckDBPyConnection, table: str, query: str, periods: Sequence[Any]) -> None:
    """Delete the rows of ``periods`` from the copied ``table`` and insert them from ``query``. The periods are
    written as literals: DuckDB then reads only their row groups of the build's tables (a subquery made it
    evaluate the whole query first: 0.45 s per tier for a quarter of ten million rows)."""
    if periods:
        in_periods = _in_periods(periods)
        con.execute(f"delete from {_qualified(table)} where {in_periods}")
        con.execute(f"insert into {_qualified(table)} select * from ({query}) where {in_periods}")
    _carry_comments(con, table)


def _in_periods(periods: Sequence[Any]) -> str:
    """The condition of the rows of ``periods`` (None: no period), the periods as literals."""
    column = quote_identifier(PARTITION_COLUMN)
    named = [p for p in periods if p is not None]
    return "(" + " or ".join(
        ([f"{column} in ({', '.join(sql_string(str(p)) for p in named)})"] if named else [])
        + ([f"{column} is null"] if None in periods else [])
    ) + ")"


def _carry_comments(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The descriptions of the build's ``table`` (``schema.name``), onto the table of that name being published."""
    if has_relation(con, BUILD_CATALOG, table):
        _copy_comments(con, BUILD_CATALOG, *table.split(".", 1))


def _holds(con: duckdb.DuckDBPyConnection, table: str, expected: TableDigest, periods: Sequence[Any]) -> bool:
    """Whether the table updated a period at a time now hashes to the build's digest (else it is written whole).
    Only the rewritten ``periods`` are hashed again, with the table's columns, descriptions and row count: its
    other periods are those of the copied file, whose sums are the build's (that is why they were not
    rewritten). Hashing all of it again took 0.5 s per ten million rows and tier."""
    catalog = con.execute("select current_database()").fetchone()[0]
    columns = tuple((c[0], c[1]) for c in con.execute(f"describe {_qualified(table)}").fetchall())
    query = f"select * from {_qualified(table)} where {_in_periods(periods)}"
    rewritten = [(period, part) for (_, period), part in _hash_sums(con, query, columns, None).items()] if periods else []
    kept = [(period, part) for period, part in (expected.partitions or {}).items() if period not in periods]
    found = _digest(columns, _comments(con, catalog, table), kept + rewritten)
    rows = con.execute(f"select count(*) from {_qualified(table)}").fetchone()[0]
    if (found.digest, rows) != (expected.digest, expected.rows):
        logger.warning("%s: updated by period, it does not hash to the build's table: written whole", table)
    return (found.digest, rows) == (expected.digest, expected.rows)


def has_relation(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> bool:
    """Whether the attached database ``catalog`` has the table or view ``table`` ("schema.name")."""
    schema, name = table.split(".", 1)
    return (schema, name) in published_relations(con, catalog, [schema])


def export_parquet(
    serving_db: Path,
    exports_dir: Path,
    schemas: Sequence[str] | None = None,
    file_mode: int = 0o644,
    by_period: Collection[str] = (),
) -> dict[str, Any]:
    """Write every table of ``schemas`` (None: every schema but ``meta``) in ``serving_db`` to
    ``exports_dir/<schema>/<table>.parquet``, each file with ``file_mode``; a table of ``by_period`` (with a
    :data:`PARTITION_COLUMN`) to one file per period, ``exports_dir/<schema>/<table>/period_<period>.parquet``
    (:func:`period_file_name`).

    All files are first written under temporary names; only when every one of them is complete are they
    swapped in with ``os.replace`` (so a full disk or a crash half-way leaves the previous exports as they
    were, and a reader of a Parquet file always gets a whole file). Exports of tables and periods that no
    longer exist are removed, and temporary files an interrupted export left behind are deleted first. A
    table whose content digest (``meta.publications``) is the one the manifest lists for its file, still of
    the size written, is not exported again; nor is a period whose rows (their count and the sum of their
    hashes) are those the manifest lists for its file.
    ``manifest.json``, written last, names the publication (run id, time) the files come from, and per file
    its row count, size and the digest of the table it holds (per period: its rows' count and hash sum).
    Returns the manifest.
    """
    serving_db, exports_dir = Path(serving_db), Path(exports_dir)
    suffix = f"{TMP_MARK}{os.getpid()}"
    written: dict[Path, Path] = {}  # temporary file -> its final path
    unchanged: set[Path] = set()  # exports of tables or periods whose content did not change since they were written
    with writer_lock(exports_dir, "exporting Parquet"):
        remove_leftovers(exports_dir, f"*{TMP_MARK}*")
        try:
            con = connect(serving_db, read_only=True)
            try:
                catalog = con.execute("select current_database()").fetchone()[0]
                if schemas is None:
                    schemas = [r[0] for r in con.execute(
                        "select distinct schema_name from duckdb_tables() where database_name = ? and schema_name <> 'meta' "
                        "order by 1", [catalog]).fetchall()]
                relations = published_relations(con, catalog, schemas)
                publication = _latest_publication(con)
                digests = _latest_digests(con)
                previous = _exported_files(exports_dir)
                holdings = _holdings(serving_db) or {}
                files: dict[str, dict[str, Any]] = {}
                for schema, name in relations:
                    table = f"{schema}.{name}"
                    exported = previous.get(table)
                    if table in by_period and _has_column(con, table, PARTITION_COLUMN):
                        files[table] = _export_periods(
                            con, table, exports_dir, exported, digests.get(table), holdings.get(table), suffix, written,
                            unchanged,
                        )
                        continue
                    target = exports_dir / schema / f"{name}.parquet"
                    if _export_is_current(exported, digests.get(table), target):
                        files[table] = exported  # the same table, already exported: left as it is
                        unchanged.add(target)
                        continue
                    tmp = _export_rows(con, f"select * from {_qualified(table)}", target, suffix, written)
                    rows = con.execute(f"select count(*) from {_qualified(table)}").fetchone()[0]
                    files[table] = {
                        "path": f"{schema}/{name}.parquet", "row_count": rows, "size_bytes": tmp.stat().st_size,
                        "content_digest": digests.get(table),
                    }
            finally:
                con.close()
            manifest = {**publication, "tables": files}
            manifest_path = exports_dir / EXPORT_MANIFEST
            tmp = manifest_path.with_name(manifest_path.name + suffix)
            written[tmp] = manifest_path
            with disk_full_named(tmp):
                tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
                for tmp_file in written:
                    with open(tmp_file, "rb") as handle:
                        os.fsync(handle.fileno())
        except BaseException:
            _remove(*written)
            _remove_staging(exports_dir, suffix)
            raise
        for tmp_file, target in written.items():  # the manifest last: it names what is there
            os.chmod(tmp_file, file_mode)
            os.replace(tmp_file, target)
        for folder in {target.parent for target in written.values()}:
            fsync_directory(folder)
        _remove_staging(exports_dir, suffix)
        _remove_stale_exports(exports_dir, set(written.values()) | unchanged)
    return manifest


def period_file_name(period: Any) -> str:
    """The file of one period of a table exported by period: ``period_2024Q1.parquet`` (the value
    percent-encoded where it is not a plain label; ``period_none.parquet`` for rows without a period).
    Not ``period=2024Q1/``: readers would take such folders for Hive partitions and guess the period's type
    from the folder names (an integer when every period is a year)."""
    return f"period_{'none' if period is None else quote(str(period), safe='')}.parquet"


def _export_rows(con: duckdb.DuckDBPyConnection, query: str, target: Path, suffix: str, written: dict[Path, Path]) -> Path:
    """Write the rows of ``query`` to a temporary file next to ``target``, registered in ``written``; returns it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + suffix)
    written[tmp] = target
    with disk_full_named(tmp):
        con.execute(f"copy ({query}) to {sql_string(str(tmp))} (format parquet, {PARQUET_OPTIONS})")
    return tmp


def _export_periods(
    con: duckdb.DuckDBPyConnection,
    table: str,
    exports_dir: Path,
    exported: Mapping[str, Any] | None,
    digest: str | None,
    held: TableDigest | None,
    suffix: str,
    written: dict[Path, Path],
    unchanged: set[Path],
) -> dict[str, Any]:
    """Export ``table`` a period at a time (see :func:`export_parquet`); returns its manifest entry. The rows of
    each period (count and hash sum) come from what the serving file was recorded to hold (``held``), else
    from hashing the table."""
    schema, name = table.split(".", 1)
    exported = exported if exported is not None and exported.get("by") == PARTITION_COLUMN else None  # else one file
    if exported is not None and digest is not None and exported.get("content_digest") == digest and all(
        _is_file_of_size(exports_dir / f["path"], f.get("size_bytes")) for f in exported["files"]
    ):
        unchanged.update(exports_dir / f["path"] for f in exported["files"])
        return dict(exported)
    found = held if held is not None and held.partitions is not None else _file_digests(con, [table])[table]
    columns = [list(c) for c in found.columns]
    before = {f["period"]: f for f in exported["files"]} if exported is not None and exported.get("columns") == columns else {}
    entries, to_write = [], {}  # period -> its file
    for period, (rows, hashes) in sorted((found.partitions or {}).items(), key=lambda p: (p[0] is None, str(p[0]))):
        key = None if period is None else str(period)
        target = exports_dir / schema / name / period_file_name(key)
        entries.append({"period": key, "path": target.relative_to(exports_dir).as_posix(), "row_count": rows, "rows_hash": str(hashes)})
        last = before.get(key)
        if last is not None and (last.get("row_count"), last.get("rows_hash")) == (rows, str(hashes)) and _is_file_of_size(
            target, last.get("size_bytes")
        ):
            unchanged.add(target)
        else:
            to_write[period] = target
    new_files = {str(p) if p is not None else None: tmp for p, tmp in _export_partitions(con, table, to_write, suffix, written).items()}
    for entry in entries:
        entry["size_bytes"] = new_files.get(entry["period"], exports_dir / entry["path"]).stat().st_size
    return {
        "path": f"{schema}/{name}/", "row_count": found.rows, "content_digest": digest, "by": PARTITION_COLUMN,
        "columns": columns, "files": entries,
    }


#: Periods written in one pass by :func:`_export_partitions`: DuckDB keeps at most 100 files open in a partitioned
#: write (``partitioned_write_max_open_files``) and splits a period into several files beyond that.
PERIODS_PER_PASS = 64


def _export_partitions(
    con: duckdb.DuckDBPyConnection, table: str, files: Mapping[Any, Path], suffix: str, written: dict[Path, Path]
) -> dict[Any, Path]:
    """Write the rows of each period of ``files`` (period -> its file) to a temporary file, registered in
    ``written``; returns the temporary file of each period. Several periods are written in one pass over the
    table, with DuckDB's ``partition_by`` into a staging folder next to the files (removed by
    :func:`_remove_staging`): a query per period would read the table once for each."""
    periods = list(files)
    staged: dict[Any, list[Path]] = {}
    if len(periods) > 1:
        folder = files[periods[0]].parent
        folder.mkdir(parents=True, exist_ok=True)
        for start in range(0, len(periods), PERIODS_PER_PASS):
            staging = folder.with_name(f"{folder.name}{suffix}.{start}")
            with disk_full_named(staging):
                con.execute(
                    f"copy (select * from {_qualified(table)} where {_in_periods(periods[start:start + PERIODS_PER_PASS])}) "
                    f"to {sql_string(str(staging))} (format parquet, partition_by ({quote_identifier(PARTITION_COLUMN)}), "
                    f"write_partition_columns true, {PARQUET_OPTIONS})"
                )
            for file in sorted(staging.glob("*/*.parquet")):
                (period,) = con.execute(
                    f"select {quote_identifier(PARTITION_COLUMN)} from read_parquet({sql_string(str(file))}, "
                    "hive_partitioning = false) limit 1"
                ).fetchone()
                staged.setdefault(period, []).append(file)
    new_files = {period: found[0] for period, found in staged.items() if len(found) == 1 and period in files}
    if len(new_files) < len(staged):
        logger.warning("%s: the partitioned write is not one file per period; written a period at a time", table)
    written.update({tmp: files[period] for period, tmp in new_files.items()})
    for period in periods:
        if period not in new_files:
            query = f"select * from {_qualified(table)} where {_in_periods([period])}"
            new_files[period] = _export_rows(con, query, files[period], suffix, written)
    return new_files


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    schema, name = table.split(".", 1)
    return con.execute(
        """select count(*) > 0 from duckdb_columns() where database_name = current_database() and schema_name = ?
           and table_name = ? and column_name = ?""",
        [schema, name, column],
    ).fetchone()[0]


def _is_file_of_size(path: Path, size: Any) -> bool:
    return path.is_file() and path.stat().st_size == size


def _remove_staging(exports_dir: Path, suffix: str) -> None:
    """Delete the staging folders of this export (:func:`_export_partitions`), emptied by the swap or not."""
    for staging in exports_dir.glob(f"*/*{suffix}.*"):
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)


def _remove_stale_exports(exports_dir: Path, exported: set[Path]) -> None:
    """Delete the Parquet files below ``exports_dir`` that ``exported`` does not name (tables and periods that are
    gone, a table now exported by period), and the folders of tables exported by period left empty."""
    for stale in exports_dir.rglob("*.parquet"):
        if stale not in exported:
            stale.unlink()
    for folder in exports_dir.glob("*/*/"):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _publications_have(con: duckdb.DuckDBPyConnection, column: str) -> bool:
    """Whether ``meta.publications`` of an open serving database has ``column`` (files of older code lack some)."""
    return con.execute(
        """select count(*) > 0 from duckdb_columns() where database_name = current_database() and schema_name = 'meta'
           and table_name = 'publications' and column_name = ?""",
        [column],
    ).fetchone()[0]


def _latest_digests(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The content digest of each table of the latest publication in an open serving database."""
    if not _publications_have(con, "content_digest"):
        return {}
    return dict(con.execute(
        """select table_schema || '.' || table_name, content_digest from meta.publications
           where content_digest is not null qualify published_at = max(published_at) over ()"""
    ).fetchall())


def _exported_files(exports_dir: Path) -> dict[str, dict[str, Any]]:
    """The files the last export's manifest lists (none when it is missing or unreadable)."""
    try:
        manifest = json.loads((exports_dir / EXPORT_MANIFEST).read_text(encoding="utf-8"))
        return {table: dict(entry) for table, entry in manifest["tables"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _export_is_current(exported: Mapping[str, Any] | None, digest: str | None, target: Path) -> bool:
    """Whether ``target`` is the export of the table with content ``digest`` and still the file written."""
    return (
        exported is not None
        and digest is not None
        and exported.get("content_digest") == digest
        and _is_file_of_size(target, exported.get("size_bytes"))
    )


def _latest_publication(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Run id, time and inputs fingerprint of the newest publication recorded in an open serving database."""
    row = con.execute(
        f"select run_id, published_at, {'inputs_sha256' if _publications_have(con, 'inputs_sha256') else 'null'} "
        "from meta.publications order by published_at desc limit 1"
    ).fetchone()
    if row is None:
        return {"run_id": None, "published_at": None, "inputs_sha256": None}
    return {"run_id": row[0], "published_at": row[1].isoformat(), "inputs_sha256": row[2]}


def latest_publication(serving_db: Path) -> dict[str, Any] | None:
    """The newest publication of ``serving_db`` (``run_id``, ``published_at``, ``inputs_sha256``, and
    ``tables`` and ``rows``: how many tables and rows it published); None when the file does not exist or
    records none. Opens the file read-only, like any reader."""
    serving_db = Path(serving_db)
    if not serving_db.is_file():
        return None
    try:
        con = connect(serving_db, read_only=True)
    except duckdb.Error:
        return None
    try:
        if not con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'meta' and table_name = 'publications'"
        ).fetchone()[0]:
            return None
        publication = _latest_publication(con)
        if publication["run_id"] is None:
            return None
        tables, rows = con.execute(
            "select count(*), sum(row_count) from meta.publications "
            "where published_at = (select max(published_at) from meta.publications)"
        ).fetchone()
        return {**publication, "tables": tables, "rows": int(rows or 0)}
    except duckdb.Error:
        return None
    finally:
        con.close()
