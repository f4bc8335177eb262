"""Tables declared once, as data: the raw, mapped and audit tables the loaders write.

A :class:`Table` names its columns (:class:`Column`); its DDL (with the migrations of columns added after the
first release), its Arrow-batch inserts and the column lists of its quality suite derive from that one
declaration, and ``tests/test_tables.py`` holds the dbt sources' columns to it. The declarations live next
to the loader that writes them (``ingestion/audit.py``, ``ingestion/*/tables.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

#: The Arrow type each DuckDB column type is inserted as (one Arrow batch per insert). JSON goes in as
#: its text: DuckDB casts it on insert, refusing malformed JSON.
_ARROW_TYPES = {
    "varchar": pa.string(),
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "json": pa.string(),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type, lower case (a key of _ARROW_TYPES)
    comment: str = ""
    not_null: bool = False
    primary_key: bool = False
    default: str | None = None  # an SQL expression, e.g. "'load'"
    #: Added after the table was first released: build databases made before get it by ``alter table``.
    added_later: bool = False

    def __post_init__(self) -> None:
        if self.type not in _ARROW_TYPES:
            raise ValueError(f"column {self.name}: type {self.type!r} is not one of {sorted(_ARROW_TYPES)}")
        if self.added_later and (self.not_null or self.primary_key):
            raise ValueError(f"column {self.name}: DuckDB cannot add a column with a constraint to a table")

    @property
    def definition(self) -> str:
        """The type, default and constraints, as ``create table`` and ``add column`` state them."""
        default = f" default {self.default}" if self.default is not None else ""
        constraints = " not null" if self.not_null else ""
        constraints += " primary key" if self.primary_key else ""
        return f"{self.type}{default}{constraints}"


@dataclass(frozen=True)
class Table:
    """A table declared once: its DDL, its inserts, the quality suite's column list and the dbt source's
    columns (tested in ``tests/test_tables.py``) all come from :attr:`columns`."""

    name: str  # schema.table
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        # an added column lands after the existing ones: declared anywhere else, a migrated database
        # would order the columns differently from a new one
        flags = [c.added_later for c in self.columns]
        if flags != sorted(flags):
            raise ValueError(f"{self.name}: the columns added later must come after all the others")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def ddl(self) -> str:
        """``create table if not exists``, then the migrations of the columns added later."""
        return self._create_sql() + self._migrations_sql()

    def _create_sql(self) -> str:
        width = max(len(c.name) for c in self.columns)
        separators = [","] * (len(self.columns) - 1) + [""]
        definitions = [f"{c.name:<{width}} {c.definition}{s}" for c, s in zip(self.columns, separators)]
        comment_at = max((len(d) for c, d in zip(self.columns, definitions) if c.comment), default=0)
        lines = [
            f"    {d:<{comment_at}}  -- {c.comment}" if c.comment else f"    {d}"
            for c, d in zip(self.columns, definitions)
        ]
        return f"create table if not exists {self.name} (\n" + "\n".join(lines) + "\n);\n"

    def _migrations_sql(self) -> str:
        added = [c for c in self.columns if c.added_later]
        if not added:
            return ""
        return f"-- columns of {self.name} added later, for build databases made before them\n" + "".join(
            f"alter table {self.name} add column if not exists {c.name} {c.definition};\n" for c in added
        )

    def types(self, *names: str) -> dict[str, str]:
        """The DuckDB types of the named columns, upper case (as the quality suites state them)."""
        by_name = {c.name: c.type.upper() for c in self.columns}
        return {name: by_name[name] for name in names}

    def insert(self, con: duckdb.DuckDBPyConnection, values: Mapping[str, Sequence[object]]) -> None:
        """Insert one Arrow batch: ``values`` gives every column's values, in any order."""
        if set(values) != set(self.column_names):
            raise ValueError(
                f"insert into {self.name}: columns {sorted(set(values) ^ set(self.column_names))} "
                "are not both given and declared"
            )
        batch = pa.table({c.name: pa.array(values[c.name], _ARROW_TYPES[c.type]) for c in self.columns})
        view = f"_{self.name.replace('.', '_')}_batch"
        columns = ", ".join(self.column_names)
        con.register(view, batch)
        try:
            con.execute(f"insert into {self.name} ({columns}) select {columns} from {view}")
        finally:
            con.unregister(view)


def tables_ddl(*tables: Table) -> str:
    """The DDL of ``tables``, after the ``create schema`` of each schema they are in."""
    schemas = dict.fromkeys(t.name.split(".", 1)[0] for t in tables)
    return "".join(f"create schema if not exists {schema};\n" for schema in schemas) + "".join(t.ddl for t in tables)
