"""A Great Expectations datasource for DuckDB files: every metric runs as SQL inside DuckDB.

GX 1.24 has no DuckDB engine, and its generic SQL path returns every result *after* closing the
connection it came from; duckdb-engine then hands back no rows and each expectation fails with
``IndexError: list index out of range``. This module fixes exactly that, through GX's public
extension point (a fluent ``Datasource`` subclass registers itself under its ``type``):

- one connection per validation, held until ``close()``, so results outlive their ``with`` block
  (streamed, never buffered) and the file is released as soon as the validation ends;
- the file is opened ``read_only`` by default, which takes a shared lock only;
- column metadata comes from ``duckdb_columns()`` (duckdb-engine's reflection fails on SQLAlchemy 2.1),
  type names are DuckDB's, and regexes use DuckDB's ``~`` (a full match: suites anchor their patterns);
- ``ExpectQueryToReturnNoRows``: a SQL check that counts its rows in one query.

Import this module before ``gx.get_context()`` for a file context whose configuration holds a
``type: duckdb`` datasource (``expectations.runner`` does). A read-only connection cannot be opened
in a process that holds a read-write connection to the same file: close it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, ClassVar, Literal

import sqlalchemy as sa
from great_expectations.core.result_format import ResultFormat
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations import UnexpectedRowsExpectation
from sqlalchemy.dialects import postgresql

from core.warehouse import CONNECTION_CONFIG, SESSION_SETUP


def _engine_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``create_engine`` arguments with this module's defaults: no pool, read-only, project settings."""
    kwargs = dict(kwargs)
    kwargs.setdefault("poolclass", sa.pool.NullPool)
    kwargs["connect_args"] = {"read_only": True, "config": dict(CONNECTION_CONFIG), **(kwargs.get("connect_args") or {})}
    return kwargs


def _apply_session_setup(engine: sa.Engine) -> sa.Engine:
    """Run the project's session settings (no progress bar) on each new connection, as ``connect`` does."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(SESSION_SETUP)

    return engine


#: DuckDB's type names as SQLAlchemy types: what ``ExpectColumnValuesToBeOfType(type_=...)`` accepts.
DUCKDB_TYPES: dict[str, type[sa.types.TypeEngine]] = {
    "BOOLEAN": sa.BOOLEAN,
    "SMALLINT": sa.SMALLINT,
    "INTEGER": sa.INTEGER,
    "BIGINT": sa.BIGINT,
    "HUGEINT": sa.BIGINT,
    "FLOAT": sa.FLOAT,
    "DOUBLE": sa.DOUBLE,
    "DECIMAL": sa.DECIMAL,
    "VARCHAR": sa.VARCHAR,
    "DATE": sa.DATE,
    "TIMESTAMP": sa.TIMESTAMP,
    "JSON": sa.JSON,
}


def _sql_types_module() -> ModuleType:
    """Where GX looks up SQL types by name and the dialect it builds regex SQL for.

    duckdb-engine's dialect derives from PostgreSQL's and DuckDB accepts PostgreSQL's regex operators
    (``~``, ``!~``), so GX builds its PostgreSQL SQL. One difference: DuckDB's ``~`` matches the
    *whole* value, so suites write anchored patterns (``^...$``). Type names are DuckDB's own.
    """
    module = ModuleType("duckdb_sql_types")
    module.dialect = postgresql.dialect  # type: ignore[attr-defined]
    for name, sql_type in DUCKDB_TYPES.items():
        setattr(module, name, sql_type)
    return module


class _ColumnInspector:
    """The SQLAlchemy inspector, with columns read from ``duckdb_columns()``.

    duckdb-engine 0.17's column reflection queries ``pg_catalog.pg_collation``, which DuckDB lacks,
    and GX's fallback then reads the table without its schema. Everything else is delegated.
    """

    def __init__(self, execution_engine: DuckDBExecutionEngine) -> None:
        self._execution_engine = execution_engine
        self._inspector = sa.inspect(execution_engine.engine)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inspector, name)

    def get_columns(self, table_name: str, schema: str | None = None, **_: Any) -> list[dict[str, Any]]:
        query = sa.text(
            "select column_name, data_type, is_nullable from duckdb_columns() "
            "where table_name = :table and schema_name = coalesce(:schema, current_schema()) "
            "order by column_index"
        ).bindparams(table=str(table_name), schema=schema)
        rows = self._execution_engine.execute_query(query).fetchall()
        if not rows:
            raise sa.exc.NoSuchTableError(f"{schema}.{table_name}" if schema else str(table_name))
        return [
            {"name": name, "type": _sql_type(data_type), "nullable": nullable, "default": None}
            for name, data_type, nullable in rows
        ]

    def get_pk_constraint(self, table_name: str, schema: str | None = None, **_: Any) -> dict[str, Any]:
        return {"constrained_columns": [], "name": None}


def _sql_type(duckdb_type: str) -> sa.types.TypeEngine:
    base = duckdb_type.split("(", 1)[0].strip().upper()
    return DUCKDB_TYPES.get(base, sa.types.NullType)()


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """GX's SQLAlchemy engine on one DuckDB connection, held from the first query until :meth:`close`.

    GX reads each result after its ``with connection`` block has ended; on the one held connection
    the result is still there (and streamed, not buffered). Call :meth:`close` when the validation
    is done: it releases the file.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **_engine_kwargs(kwargs))
        _apply_session_setup(self.engine)
        self.dialect_module = _sql_types_module()

    @contextmanager
    def get_connection(self) -> Iterator[sa.Connection]:
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
        yield self._connection

    def get_inspector(self) -> Any:
        if self._inspector is None:
            self._inspector = _ColumnInspector(self)
        return self._inspector

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


class DuckDBDatasource(SQLDatasource):
    """``context.data_sources.add_duckdb(name, connection_string="duckdb:////abs/path.duckdb")``."""

    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine

    def _create_engine(self) -> sa.Engine:
        engine = sa.create_engine(str(self.connection_string), **_engine_kwargs(self.kwargs or {}))
        return _apply_session_setup(engine)


class ExpectQueryToReturnNoRows(UnexpectedRowsExpectation):
    """``UnexpectedRowsExpectation`` that counts the rows of its query, and fetches them only on request.

    The parent always fetches the rows too, and drops them unless the result format is COMPLETE: on
    a large table that runs the query twice. This one runs ``select count(*) from (<query>)`` only,
    unless the result format asks for examples (``partial_unexpected_count`` > 0 with SUMMARY or
    COMPLETE): then it also returns the first rows under ``details.unexpected_rows``.
    """

    _ROWS_METRIC: ClassVar[str] = "unexpected_rows_query.table"
    _COUNT_METRIC: ClassVar[str] = "unexpected_rows_query.row_count"

    def _example_limit(self, runtime_configuration: dict | None) -> int:
        result_format = self._get_result_format(runtime_configuration=runtime_configuration)
        if isinstance(result_format, str):
            result_format = {"result_format": result_format}
        if result_format.get("result_format") not in (ResultFormat.SUMMARY, ResultFormat.COMPLETE):
            return 0
        return int(result_format.get("partial_unexpected_count", 20))

    def get_validation_dependencies(
        self, execution_engine: Any = None, runtime_configuration: dict | None = None
    ) -> Any:
        dependencies = super().get_validation_dependencies(execution_engine, runtime_configuration)
        if not self._example_limit(runtime_configuration):
            dependencies.remove_metric_configuration(self._ROWS_METRIC)
        return dependencies

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None, execution_engine: Any = None
    ) -> dict:
        count = metrics[self._COUNT_METRIC]
        result: dict[str, Any] = {"observed_value": count}
        limit = self._example_limit(runtime_configuration)
        if limit and metrics.get(self._ROWS_METRIC):
            result["details"] = {"unexpected_rows": metrics[self._ROWS_METRIC][:limit]}
        return {"success": count == 0, "result": result}


def connection_string(db_path: object) -> str:
    """The SQLAlchemy URL of a DuckDB file (an absolute path)."""
    return f"duckdb:///{db_path}"
