"""What each published database holds: the public tier, the restricted tier and one extract per SOE group.

========== ============================================== ===================================== ======
tier       file                                           who gets it                           mode
========== ============================================== ===================================== ======
public     ``WAREHOUSE_DIR/serving.duckdb``               every BI user                         0644
restricted ``WAREHOUSE_DIR/restricted/serving.duckdb``    the warehouse team, SASAC analysts    0640
group      ``WAREHOUSE_DIR/groups/<group>/serving.duckdb`` that SOE group only                  0640
========== ============================================== ===================================== ======

Each tier is a set of tables, each defined by a query over the build database (attached as ``warehouse``)
and over ``disclosure_decisions``, the decisions of :mod:`serving.disclosure` registered on the
connection. The restricted tier holds everything. The public tier holds no enterprise-level table, the
quarantine of statistical releases only, and the enterprise aggregates after disclosure control: a
suppressed cell of ``soe_innovation`` and every target figure taken from one are published without a value,
flagged ``c``. A group's extract holds its enterprises' submissions and its own aggregates.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from core import settings
from core.warehouse import writer_lock
from serving.disclosure import (
    COLUMN_MEASURES,
    CONFIDENTIAL,
    Decision,
    DisclosureError,
    DisclosureRules,
    decide_in_database,
    public_problems,
)
from serving.publish import (
    BUILD_CATALOG,
    PARALLEL_BUILDS,
    Publication,
    PublishError,
    Relation,
    Subset,
    TableRows,
    export_parquet,
    has_relation,
    in_parallel,
    publish_databases,
    published_relations,
    quote_identifier,
    sql_string,
)

#: The schemas every tier is built from.
SOURCE_SCHEMAS: tuple[str, ...] = ("marts", "audit")
#: Enterprise-level tables: restricted tier (and, filtered, the group extracts) only.
ENTERPRISE_TABLES: frozenset[str] = frozenset(
    {
        "marts.dim_enterprise",
        "marts.fct_enterprise_submissions",
        "marts.fct_enterprise_submission_history",
        "marts.soe_innovation_concentration",
    }
)
#: The enterprise facts, ten million rows and more, grow a period at a time: the restricted tier and the group
#: extracts export them one Parquet file per period, so a new quarter writes that quarter's file only.
EXPORTED_BY_PERIOD: frozenset[str] = frozenset({"marts.fct_enterprise_submissions", "marts.fct_enterprise_submission_history"})
#: The tables of a group's extract, each filtered to the group's own rows.
GROUP_TABLES: tuple[str, ...] = (
    "marts.dim_enterprise",
    "marts.fct_enterprise_submissions",
    "marts.fct_enterprise_submission_history",
    "marts.soe_innovation",
)
#: ``audit.load_log.kind`` of the statistical releases (the landing folder, ``ingestion.releases.loader.KIND``):
#: the only loads whose quarantined rows the public tier keeps.
RELEASES_KIND = "releases"
#: Quality suites on enterprise data: the public tier keeps their results without the observed values.
CONFIDENTIAL_SUITES = ("raw.enterprise", "raw.register", "mapped.enterprise", "marts.soe_innovation")
#: Restricted: every suppressed cell and withheld column of the public ``soe_innovation``, and why.
DECISIONS_TABLE = "disclosure.soe_innovation_withheld"


@dataclass(frozen=True)
class Tier:
    name: str
    serving_db: Path
    exports_dir: Path
    file_mode: int
    tables: Mapping[str, TableRows]  # "schema.table" -> query over the build database and `disclosure_decisions`
    #: Left as it is when it holds these tables already (:attr:`serving.publish.Publication.kept_when_unchanged`):
    #: the restricted tier and the group extracts; not the public one, whose latest publication `make run` reads
    #: to tell whether anything changed.
    kept_when_unchanged: bool = False


def _ref(table: str) -> str:
    schema, name = table.split(".", 1)
    return f"{BUILD_CATALOG}.{quote_identifier(schema)}.{quote_identifier(name)}"


#: Registered on the connection that builds the tiers: the columns withheld from each public row.
WITHHELD_RELATION = "disclosure_decisions"
WITHHELD_COLUMNS = {"group_name": "varchar", "period": "varchar", "withheld": "varchar[]"}
#: Long form for the restricted tier.
DECISION_RELATION = "disclosure_decision_rows"
DECISION_COLUMNS = {"group_name": "varchar", "period": "varchar", "item_kind": "varchar", "item": "varchar", "reason": "varchar"}


def withheld_rows(decisions: Mapping[tuple[str, str], Decision]) -> list[tuple]:
    return [(group, period, sorted(d.withheld)) for (group, period), d in sorted(decisions.items()) if d.withheld]


def decision_rows(decisions: Mapping[tuple[str, str], Decision]) -> list[tuple]:
    rows = []
    for (group, period), d in sorted(decisions.items()):
        rows += [(group, period, "suppressed measure", m, why) for m, why in sorted(d.suppressed.items())]
        rows += [(group, period, "withheld column", c, why) for c, why in sorted(d.withheld.items())]
    return rows


def _public_soe_innovation(columns: Sequence[str]) -> str:
    """``soe_innovation`` with the withheld values removed, and the row flagged."""
    selected = [
        f"case when list_contains(d.withheld, {sql_string(c)}) then null else s.{quote_identifier(c)} end as {quote_identifier(c)}"
        if c in COLUMN_MEASURES else f"s.{quote_identifier(c)}"
        for c in columns
    ]
    selected.append(f"case when len(d.withheld) > 0 then '{CONFIDENTIAL}' end as disclosure_flag")
    selected.append("array_to_string(d.withheld, ', ') as withheld_columns")
    return (
        f"select {', '.join(selected)} from {BUILD_CATALOG}.marts.soe_innovation s "
        f"left join {WITHHELD_RELATION} d using (group_name, period)"
    )


def _masked_targets(table: str, columns: Sequence[str], value_columns: Sequence[str], period_column: str) -> str:
    """``table`` (keyed by ``target_id``) with the figures of SOE targets taken from a suppressed cell of
    ``soe_innovation`` (the target's group, ``period_column``) removed; their status says ``confidential``."""
    confidential = "coalesce(list_contains(d.withheld, ti.measure), false)"
    selected = []
    for column in columns:
        if column in value_columns:
            selected.append(f"case when {confidential} then null else t.{quote_identifier(column)} end as {quote_identifier(column)}")
        elif column == "status":
            selected.append(f"case when {confidential} then 'confidential' else t.status end as status")
        else:
            selected.append(f"t.{quote_identifier(column)}")
    selected.append(f"case when {confidential} then '{CONFIDENTIAL}' end as disclosure_flag")
    return (
        f"select {', '.join(selected)} from {_ref(table)} t "
        f"join {BUILD_CATALOG}.reference.policy_targets targets using (target_id) "
        f"left join {BUILD_CATALOG}.reference.ref_target_scopes scopes on scopes.scope = targets.scope "
        f"left join {BUILD_CATALOG}.reference.ref_target_indicators ti "
        "on ti.indicator = targets.indicator and ti.source_model = 'soe_innovation' "
        f"left join {WITHHELD_RELATION} d "
        f"on ti.indicator is not null and d.group_name = scopes.group_name and d.period = t.{quote_identifier(period_column)}"
    )


def plan_tiers(con: duckdb.DuckDBPyConnection, relations: Sequence[tuple[str, str]]) -> list[Tier]:
    """The tiers to publish from the attached build database whose tables are ``relations``."""
    tables = [f"{schema}.{name}" for schema, name in relations]
    restricted = {t: f"select * from {_ref(t)}" for t in tables}
    restricted[DECISIONS_TABLE] = f"select * from {DECISION_RELATION}"

    def columns(table: str) -> list[str]:
        schema, name = table.split(".", 1)
        return [r[0] for r in con.execute(
            f"select column_name from duckdb_columns() where database_name = '{BUILD_CATALOG}' and schema_name = ? "
            "and table_name = ? order by column_index", [schema, name]).fetchall()]

    public = {t: f"select * from {_ref(t)}" for t in tables if t not in ENTERPRISE_TABLES}
    if "marts.soe_innovation" in tables:
        public["marts.soe_innovation"] = _public_soe_innovation(columns("marts.soe_innovation"))
    if {"audit.quarantine", "audit.load_log"} <= set(tables):
        public["audit.quarantine"] = (
            f"select q.* from {BUILD_CATALOG}.audit.quarantine q where q.load_id in "
            f"(select load_id from {BUILD_CATALOG}.audit.load_log where kind = {sql_string(RELEASES_KIND)})"
        )
    if "audit.quality_results" in tables:
        # what a check observed on enterprise data (a maximum, unexpected values) can be one enterprise's figure
        confidential = " or ".join(f"suite like {sql_string(prefix + '%')}" for prefix in CONFIDENTIAL_SUITES)
        public["audit.quality_results"] = (
            f"select * replace (case when {confidential} then null else observed_value end as observed_value) "
            f"from {BUILD_CATALOG}.audit.quality_results"
        )
    for table, values, period in TARGET_TABLES:
        if table in public:
            public[table] = _masked_targets(table, columns(table), values, period)

    tiers = [
        Tier("restricted", settings.restricted_dir() / "serving.duckdb", settings.restricted_dir() / "exports",
             0o640, restricted, kept_when_unchanged=True),
    ]
    groups = [r[0] for r in con.execute(
        f"select distinct group_name from {BUILD_CATALOG}.marts.fct_enterprise_submissions where group_name is not null order by 1"
    ).fetchall()] if "marts.fct_enterprise_submissions" in tables else []
    for group in groups:
        folder = settings.groups_dir() / group_folder(group)
        extract = {t: Subset(restricted[t], "group_name", group) for t in GROUP_TABLES if t in tables}
        tiers.append(Tier(f"group {group}", folder / "serving.duckdb", folder / "exports", 0o640, extract, kept_when_unchanged=True))
    tiers.append(Tier("public", settings.serving_db_path(), settings.exports_dir(), 0o644, public))
    return tiers


#: Target tables whose SOE figures follow disclosure: (table, value columns, column of the judged period).
TARGET_TABLES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("marts.target_tracking", ("latest_value", "gap", "required_annual_change", "exceeded_by"), "latest_period"),
    ("marts.target_observations", ("value",), "period"),
)


def group_folder(group: str) -> str:
    """The folder name of a group's extract: its name, with path separators replaced."""
    return group.replace("/", "_").replace("\\", "_").strip() or "_"


def publish_tiers(
    build_db: Path, run_id: str, rules: DisclosureRules | None = None, inputs_sha256: str | None = None
) -> dict[str, dict]:
    """Publish the restricted tier, every group's extract and the public tier from ``build_db``, all or
    none (see :func:`serving.publish.publish_databases`), after disclosure control. The public file is
    checked before it is swapped in: no enterprise identifier in any table, no published cell that fails
    the rules, no suppressed cell the audit can recompute (:class:`DisclosureError` otherwise).
    ``inputs_sha256`` (what the build was made from) is recorded with every publication.
    Returns what was published per tier name."""
    rules = rules or DisclosureRules.from_settings()
    build_db = Path(build_db)
    if not build_db.exists():
        raise PublishError(f"build database {build_db} does not exist: run the pipeline before publishing")
    with writer_lock(build_db):  # held until every file is swapped in: the tiers come from one state
        con = duckdb.connect()
        try:
            con.execute(f"attach {sql_string(str(build_db))} as {BUILD_CATALOG} (read_only)")
            relations = published_relations(con, BUILD_CATALOG, SOURCE_SCHEMAS)
            has_enterprise_marts = {("marts", "soe_innovation"), ("marts", "soe_innovation_concentration")} <= set(relations)
            decisions = decide_in_database(con, BUILD_CATALOG, rules) if has_enterprise_marts else {}
            tiers = plan_tiers(con, relations)
        finally:
            con.close()
        rows = {
            WITHHELD_RELATION: Relation(WITHHELD_COLUMNS, withheld_rows(decisions)),
            DECISION_RELATION: Relation(DECISION_COLUMNS, decision_rows(decisions)),
        }

        def verify(publication: Publication, new_file: Path) -> None:
            if publication.serving_db == settings.serving_db_path():
                problems = check_public_file(new_file, build_db, rules)
                if problems:
                    raise DisclosureError(
                        f"not publishing: the public tier would disclose confidential data ({len(problems)} problems): "
                        + "; ".join(problems[:5])
                    )

        settings.restricted_dir().mkdir(parents=True, exist_ok=True)
        os.chmod(settings.restricted_dir(), 0o750)
        published = publish_databases(
            build_db,
            [Publication(t.serving_db, t.tables, t.file_mode, t.kept_when_unchanged) for t in tiers],
            run_id,
            relations=rows,
            verify=verify,
            inputs_sha256=inputs_sha256,
        )
    remove_stale_group_extracts({t.serving_db.parent for t in tiers})
    return {tier.name: result for tier, result in zip(tiers, published, strict=True)}


#: A token shaped like a unified social credit code (GB 32100-2015).
USCC_SHAPE = "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"


def check_public_file(path: Path, build_db: Path, rules: DisclosureRules) -> list[str]:
    """What in the public database at ``path`` must not be published: a value equal to an enterprise's
    USCC or name (or a USCC inside a longer text) in any text column of any table, a cell of
    ``soe_innovation`` that fails the rules (:func:`serving.disclosure.public_problems`).

    The identifiers are looked up from the public file's side: each text column is read once into a table
    of its texts and their USCC-shaped tokens (a few thousand rows), which are matched against every row of
    :data:`IDENTIFIER_SOURCES` in one scan, instead of the sources' tens of millions of values being
    gathered first (1.3 s at ten million rows of history)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach {sql_string(str(path))} as public (read_only)")
        con.execute(f"attach {sql_string(str(build_db))} as {BUILD_CATALOG} (read_only)")
        con.execute("create temporary table candidates (schema_name varchar, table_name varchar, column_name varchar, "
                    "v varchar, id varchar)")
        text_columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = 'public' and data_type in ('VARCHAR', 'JSON')"
        ).fetchall()
        if text_columns:
            # each text as itself (id = v), and each USCC-shaped token inside it
            con.execute("insert into candidates " + " union all ".join(
                f"""select {sql_string(schema)}, {sql_string(table)}, {sql_string(column)}, v,
                        unnest(list_prepend(v, regexp_extract_all(v, '{USCC_SHAPE}')))
                    from (select {quote_identifier(column)}::varchar as v
                          from public.{quote_identifier(schema)}.{quote_identifier(table)}
                          where {quote_identifier(column)} is not null)"""
                for schema, table, column in text_columns
            ))
        sources = [t for t in IDENTIFIER_SOURCES if has_relation(con, BUILD_CATALOG, t)]
        con.execute(
            "create temporary table identifiers as "
            + " union ".join(
                f"select {column} as id from {_ref(t)} where {column} in (select id from candidates)"
                for t in sources for column in ("uscc", "enterprise_name")
            )
            if sources else "create temporary table identifiers (id varchar)"
        )
        problems = [
            f"{schema}.{table}.{column} holds {count} enterprise identifiers (e.g. {example!r})"
            for schema, table, column, count, example in con.execute(
                """select schema_name, table_name, column_name, count(*), any_value(v)
                   from candidates c semi join identifiers i on i.id = c.id
                   group by all order by schema_name, table_name, column_name"""
            ).fetchall()
        ]
        if has_relation(con, "public", "marts.soe_innovation") and has_relation(con, BUILD_CATALOG, "marts.soe_innovation_concentration"):
            problems += public_problems(con, "public", BUILD_CATALOG, rules)
        return problems
    finally:
        con.close()


#: The tables whose USCCs and enterprise names the public tier must not contain: every enterprise with a
#: current submission, under every name it had (dim_enterprise), and those with only earlier ones.
IDENTIFIER_SOURCES = ("marts.dim_enterprise", "marts.fct_enterprise_submission_history")


def remove_stale_group_extracts(current: set[Path]) -> None:
    """Delete the extracts of groups that no longer have data (the warehouse follows its inputs)."""
    root = settings.groups_dir()
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.is_dir() and folder not in current:
            shutil.rmtree(folder)


@dataclass(frozen=True)
class PublishedTier:
    """A tier published in ``WAREHOUSE_DIR``, as its Parquet exports are written from it."""

    name: str
    serving_db: Path
    exports_dir: Path
    file_mode: int
    #: Its tables exported one file per period (``serving.publish.export_parquet``).
    by_period: frozenset[str] = frozenset()


def published_tiers() -> list[PublishedTier]:
    """Every tier published in ``WAREHOUSE_DIR``: the public one, the restricted one and each group's extract."""
    tiers = [PublishedTier("public", settings.serving_db_path(), settings.exports_dir(), 0o644)]
    restricted = settings.restricted_dir()
    if (restricted / "serving.duckdb").exists():
        tiers.append(PublishedTier("restricted", restricted / "serving.duckdb", restricted / "exports", 0o640, EXPORTED_BY_PERIOD))
    groups = settings.groups_dir()
    for db in sorted(groups.glob("*/serving.duckdb")) if groups.is_dir() else []:
        tiers.append(PublishedTier(f"group {db.parent.name}", db, db.parent / "exports", 0o640, EXPORTED_BY_PERIOD))
    return tiers


def export_tiers() -> Iterator[tuple[PublishedTier, dict[str, Any]]]:
    """Write the Parquet exports of every published tier (:func:`serving.publish.export_parquet`), two tiers
    at a time, yielding each tier with its manifest."""
    tiers = published_tiers()
    manifests = in_parallel(
        [partial(export_parquet, t.serving_db, t.exports_dir, file_mode=t.file_mode, by_period=t.by_period) for t in tiers],
        PARALLEL_BUILDS,
    )
    yield from zip(tiers, manifests, strict=True)
