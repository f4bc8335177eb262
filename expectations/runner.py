"""Run suites with Great Expectations on the DuckDB warehouse, every metric computed inside DuckDB.

A suite runs in two passes on one read-only connection: the first counts (no example rows, so each
map expectation costs one aggregate instead of an extra scan); the second, only for the expectations
that failed, fetches a few offending values or rows for the report. A suite whose table does not
exist is not validated: every expectation is reported failed with that reason.

Suites are validated in an ephemeral GX context (:func:`validation_context`), one per process: its
datasource and assets live in memory, and the suite is validated without being saved. The quality report
stores the suites and results it shows into its file context itself (:mod:`expectations.report`): adding a
datasource or an asset to a file context rewrites its whole YAML configuration, and saving a suite there
compares every expectation with the stored suite's, which together took a quarter of a run's checks.

The suites of a step are validated in one :class:`Session` (:func:`validating`): one datasource and one
connection for all of them, instead of a datasource (which GX tests by connecting) and a connection (which
loads the file's catalog, and starts with a cold cache) for each.

The warehouse is opened read-only: call this when no read-write connection to the same file is open
in the process (DuckDB refuses to mix both in one process), and when no other process writes it.
"""

from __future__ import annotations

import hashlib
import json
import operator
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache, reduce
from pathlib import Path
from typing import Any

import great_expectations as gx
import sqlalchemy as sa
from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
from great_expectations.core.metric_function_types import SummarizationMetricNameSuffixes
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    Expectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.expectations.metadata_types import FailureSeverity
from great_expectations.expectations.row_conditions import Column

from expectations import by_load
from expectations import duckdb_datasource  # registers the `duckdb` datasource type
from expectations.results import ExpectationOutcome, SuiteResult
from expectations.spec import (
    CODE_SETS,
    SCHEMA_EXPECTATIONS,
    CodeSet,
    Expect,
    Suite,
    code_set_subquery,
    substitute_code_sets,
)
from expectations.suites import SUITES, get_suite
from ingestion.sql import quote_literal

#: First pass: counts only. GX would otherwise scan the table again per expectation for examples.
COUNT_ONLY = {"result_format": "BASIC", "partial_unexpected_count": 0}
#: Second pass, on failures only: up to this many example values or rows.
EXAMPLES = 20
WITH_EXAMPLES = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}

_SEVERITY = {"error": FailureSeverity.CRITICAL, "warn": FailureSeverity.WARNING}
DATASOURCE = "warehouse"
#: The key, in a GX suite's meta, of the digest of what it checks (the suite as written and the code sets'
#: SQL): a stored suite with the same digest holds the same expectations.
GX_SUITE_DIGEST = "digest"


@dataclass
class Validation:
    """One suite validated: GX's result (for Data Docs) and the outcomes (for Dagster and the audit)."""

    gx_suite: gx.ExpectationSuite
    gx_result: ExpectationSuiteValidationResult
    result: SuiteResult


def new_context(project_root: Path | None = None) -> Any:
    """A GX context: in memory, or a file context under ``project_root/gx`` (for Data Docs)."""
    if project_root is None:
        context = gx.get_context(mode="ephemeral")
    else:
        project_root.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(project_root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@cache
def validation_context() -> Any:
    """The ephemeral GX context this process validates in (see the module)."""
    return new_context()


def run_suite(db_path: Path, suite_name: str, *, examples: bool = True) -> SuiteResult:
    """Validate one suite (by name, e.g. ``marts.rd_intensity``) against the DuckDB file ``db_path``.

    ``examples``: fetch a few offending values or rows for each failed expectation (one more query
    each, only when something failed); without, only the counts.
    """
    return validate(Path(db_path), get_suite(suite_name), examples=examples).result


def run_suites(db_path: Path, suite_names: list[str] | None = None) -> list[SuiteResult]:
    """Validate several suites (all by default), in one session."""
    suites = [get_suite(n) for n in suite_names] if suite_names is not None else list(SUITES)
    with validating(Path(db_path)) as session:
        return [session.validate(suite).result for suite in suites]


def validate(db_path: Path, suite: Suite, *, examples: bool = True) -> Validation:
    """Validate ``suite`` in a session of its own; the warehouse connection is closed when this returns."""
    with validating(db_path) as session:
        return session.validate(suite, examples=examples)


@contextmanager
def validating(db_path: Path) -> Iterator[Session]:
    """A :class:`Session` on the DuckDB file ``db_path``, closed (the file released) on exit."""
    session = Session(Path(db_path))
    try:
        yield session
    finally:
        session.close()


class Session:
    """Validations on one warehouse file through one GX datasource and one read-only connection, held until
    :meth:`close`. The file must not change meanwhile (the callers hold the warehouse writer lock)."""

    def __init__(self, db_path: Path) -> None:
        self.datasource = validation_context().data_sources.add_or_update_duckdb(
            DATASOURCE, connection_string=duckdb_datasource.connection_string(db_path.resolve())
        )
        self.engine: duckdb_datasource.DuckDBExecutionEngine = self.datasource.get_execution_engine()
        try:
            #: The SQL of each code set: the seed's table, or its file before dbt has loaded it.
            self.code_sets = {name: _code_set_sql(self.engine, code_set) for name, code_set in CODE_SETS.items()}
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.engine.close()

    def validate(self, suite: Suite, *, examples: bool = True) -> Validation:
        """Validate ``suite`` (see :func:`run_suite` for ``examples``)."""
        checked_at = datetime.now().replace(microsecond=0)
        engine, datasource = self.engine, self.datasource
        digest = hashlib.sha256(json.dumps([suite.digest(), self.code_sets], sort_keys=True).encode("utf-8")).hexdigest()
        gx_suite = gx.ExpectationSuite(
            name=suite.name,
            expectations=[_to_gx(suite, e, self.code_sets) for e in suite.expectations],
            meta={"table": suite.table, "description": suite.description, GX_SUITE_DIGEST: digest},
        )
        load_counts = None
        if not _table_exists(engine, suite.table):
            error = f"table {suite.table} does not exist"
            gx_result = _not_validated(gx_suite, error)
        elif suite.append_only_by:
            error = None
            gx_result, load_counts = _validate_by_load(engine, datasource, suite, gx_suite, digest, examples)
        else:
            error = None
            gx_result = _validate_batch(_batch_definition(datasource, suite).get_batch(), gx_suite, examples)
        result = SuiteResult(
            suite=suite.name,
            table=suite.table,
            outcomes=outcomes(suite, gx_result),
            checked_at=checked_at,
            error=error,
            load_counts=load_counts,
        )
        return Validation(gx_suite, gx_result, result)


def _validate_batch(batch: Any, gx_suite: gx.ExpectationSuite, examples: bool) -> ExpectationSuiteValidationResult:
    with configurations_computed_once(), no_values_fetched_when_counting():
        gx_result = batch.validate(gx_suite, result_format=COUNT_ONLY)
        if examples:
            _add_examples(batch, gx_result)
    return gx_result


_configurations_lock = threading.Lock()


@contextmanager
def configurations_computed_once() -> Iterator[None]:
    """While in this block, each GX expectation computes its ``configuration`` once (one thread at a time).

    GX's ``Expectation.configuration`` is a property that converts the whole expectation (a pydantic model, its
    row condition included) into a new ``ExpectationConfiguration`` on every access, and validating one
    expectation reads it once per keyword of its domain and of its success: about 14,000 conversions in the
    step that validates the marts' suites, a quarter to a third of their validation time. The expectations GX validates are copies
    it makes from their configurations and does not change; each keeps its first configuration (and is kept
    alive, so that its id stays its own) until the block ends."""
    with _configurations_lock:
        computed: dict[int, tuple[Expectation, ExpectationConfiguration]] = {}
        converts = Expectation.configuration

        def configuration(expectation: Expectation) -> ExpectationConfiguration:
            found = computed.get(id(expectation))
            if found is None:
                found = computed[id(expectation)] = (expectation, converts.fget(expectation))
            return found[1]

        Expectation.configuration = property(configuration)
        try:
            yield
        finally:
            Expectation.configuration = converts


#: The GX expectation classes that ask for their unexpected values (the ``<map metric>.unexpected_values``
#: metric) in every result format but BOOLEAN_ONLY.
MAP_EXPECTATIONS = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
_dependencies_lock = threading.Lock()


@contextmanager
def no_values_fetched_when_counting() -> Iterator[None]:
    """While in this block, a map expectation validated with ``partial_unexpected_count`` 0 (:data:`COUNT_ONLY`)
    does not query its unexpected values (one thread at a time).

    GX queries them in every result format but BOOLEAN_ONLY (which drops the counts too), with a ``limit`` of
    ``partial_unexpected_count``, and keeps none of them when that is 0: one query more per map expectation,
    which the count needs no more than the result does (a quarter of the queries of the marts' suites, about a
    tenth of their validation time). The second pass, with examples, asks for them as GX does."""
    values_metric = SummarizationMetricNameSuffixes.UNEXPECTED_VALUES.value
    with _dependencies_lock:
        originals = {cls: cls.__dict__["get_validation_dependencies"] for cls in MAP_EXPECTATIONS}

        def counting_only(get_dependencies: Any) -> Any:
            def get_validation_dependencies(
                self: Any, execution_engine: Any = None, runtime_configuration: dict | None = None
            ) -> Any:
                dependencies = get_dependencies(self, execution_engine, runtime_configuration)
                name = f"{self.map_metric}.{values_metric}"
                if dependencies.result_format.get("partial_unexpected_count") == 0 and name in dependencies.get_metric_names():
                    dependencies.remove_metric_configuration(name)
                return dependencies

            return get_validation_dependencies

        for cls, original in originals.items():
            cls.get_validation_dependencies = counting_only(original)
        try:
            yield
        finally:
            for cls, original in originals.items():
                cls.get_validation_dependencies = original


def _validate_by_load(
    engine: duckdb_datasource.DuckDBExecutionEngine,
    datasource: Any,
    suite: Suite,
    gx_suite: gx.ExpectationSuite,
    digest: str,
    examples: bool,
) -> tuple[ExpectationSuiteValidationResult, by_load.LoadCounts | None]:
    """Validate a suite of an append-only table (:mod:`expectations.by_load`): its schema expectations on the
    table, its row expectations on the rows of the loads no stored counts cover, summed with the stored
    counts. Returns GX's result with the sums, and the counts of the loads validated now, to keep (None when
    there were none, or when an expectation could not be evaluated)."""
    column = suite.append_only_by
    loads_now = dict(engine.execute_query(sa.text(by_load.loads_sql(suite.table, column))).fetchall())
    stored = by_load.reusable(_stored_load_counts(engine, suite.name, digest), loads_now)
    table_batch = _batch_definition(datasource, suite).get_batch()
    row_names = {e.name for e in suite.expectations if e.expectation not in SCHEMA_EXPECTATIONS}
    configurations = [e.configuration for e in gx_suite.expectations]
    new_loads = sorted(set(loads_now) - {load for counted in stored for load in counted.loads})
    counted: by_load.LoadCounts | None = None
    if stored and new_loads:
        query = f"select * from {suite.table} where {column} in ({', '.join(map(quote_literal, new_loads))})"
        _drop_asset(datasource, f"{suite.name} (new loads)")
        batch = datasource.add_query_asset(f"{suite.name} (new loads)", query=query).add_batch_definition_whole_table(
            "new loads").get_batch()
        rows_part = _part(gx_suite.name, [c for c in configurations if c.meta["name"] in row_names])
        counted = _load_counts(suite, digest, {load: loads_now[load] for load in new_loads},
                               _validate_batch(batch, rows_part, examples), row_names)
    if not stored or (new_loads and counted is None):  # every row, in one validation
        gx_result = _validate_batch(table_batch, gx_suite, examples)
        return gx_result, _load_counts(suite, digest, loads_now, gx_result, row_names, covers_all=True)
    schema_part = _part(gx_suite.name, [c for c in configurations if c.meta["name"] not in row_names])
    schema_result = _validate_batch(table_batch, schema_part, examples)
    results = {r.expectation_config.meta["name"]: r for r in schema_result.results}
    counts = [*stored, *([counted] if counted else [])]
    for configuration in configurations:
        name = configuration.meta["name"]
        if name in row_names:
            results[name] = _summed_result(configuration, by_load.total(counts, name))
    meta = {**schema_result.meta, "validated_by_load": {
        "loads": len(loads_now), "loads_validated_now": len(new_loads),
        "rows_validated_now": sum(loads_now[load] for load in new_loads)}}
    return _suite_result(gx_suite, [results[c.meta["name"]] for c in configurations], meta), counted


def _suite_result(
    gx_suite: gx.ExpectationSuite, results: list[ExpectationValidationResult], meta: dict[str, Any]
) -> ExpectationSuiteValidationResult:
    successful = sum(bool(r.success) for r in results)
    return ExpectationSuiteValidationResult(
        success=successful == len(results),
        results=results,
        suite_name=gx_suite.name,
        statistics={"evaluated_expectations": len(results), "successful_expectations": successful,
                    "unsuccessful_expectations": len(results) - successful,
                    "success_percent": 100.0 * successful / len(results) if results else 100.0},
        meta=meta,
    )


def _part(name: str, configurations: list[Any]) -> gx.ExpectationSuite:
    """A suite of copies of these expectations (an expectation belongs to one suite)."""
    copies = []
    for configuration in configurations:
        copy = configuration.to_domain_obj()
        copy.id = None
        copies.append(copy)
    return gx.ExpectationSuite(name=name, expectations=copies)


def _stored_load_counts(engine: duckdb_datasource.DuckDBExecutionEngine, suite: str, digest: str) -> list[by_load.LoadCounts]:
    if not _table_exists(engine, by_load.LOAD_COUNTS_TABLE):
        return []
    rows = engine.execute_query(sa.text(by_load.stored_sql()).bindparams(suite=suite, digest=digest)).fetchall()
    return [by_load.from_row(suite, digest, *row) for row in rows]


def _load_counts(
    suite: Suite,
    digest: str,
    loads: dict[str, int],
    gx_result: ExpectationSuiteValidationResult,
    names: set[str],
    covers_all: bool = False,
) -> by_load.LoadCounts | None:
    """What ``gx_result`` counted for the row expectations ``names`` in ``loads``; None when one of them
    could not be evaluated."""
    counts = {}
    for result in gx_result.results:
        name = result.expectation_config.meta["name"]
        if name not in names:
            continue
        if _exception_message(result) is not None:
            return None
        details = result.result or {}
        if "unexpected_count" in details:  # a map expectation
            counts[name] = by_load.Counts(details.get("element_count"), details.get("missing_count") or 0,
                                          details["unexpected_count"], tuple(details.get("partial_unexpected_list") or ()))
        else:  # a query: its rows are the unexpected ones
            counts[name] = by_load.Counts(None, 0, details["observed_value"],
                                          tuple((details.get("details") or {}).get("unexpected_rows") or ()))
    return by_load.LoadCounts(suite.name, digest, loads, counts, covers_all)


def _summed_result(configuration: Any, counts: by_load.Counts) -> ExpectationValidationResult:
    """GX's result of a row expectation with ``counts`` (the sums over loads), as Data Docs shows it, with the
    first :data:`EXAMPLES` examples."""
    examples = list(counts.examples[:EXAMPLES])
    if counts.rows is None:  # a query expectation
        details = {"details": {"unexpected_rows": examples}} if examples else {}
        result = {"observed_value": counts.unexpected, **details}
    else:
        checked = counts.rows - counts.missing
        result = {
            "element_count": counts.rows,
            "missing_count": counts.missing,
            "missing_percent": 100.0 * counts.missing / counts.rows if counts.rows else None,
            "unexpected_count": counts.unexpected,
            "unexpected_percent": 100.0 * counts.unexpected / checked if checked else None,
            "unexpected_percent_total": 100.0 * counts.unexpected / counts.rows if counts.rows else None,
            "unexpected_percent_nonmissing": 100.0 * counts.unexpected / checked if checked else None,
            "partial_unexpected_list": examples,
        }
    return ExpectationValidationResult(
        success=counts.unexpected == 0, expectation_config=configuration, result=result
    )


def _table_exists(engine: duckdb_datasource.DuckDBExecutionEngine, table: str) -> bool:
    schema, name = table.split(".", 1)
    query = sa.text("select count(*) from duckdb_tables() where schema_name = :schema and table_name = :name")
    return bool(engine.execute_query(query.bindparams(schema=schema, name=name)).scalar())


def _code_set_sql(engine: duckdb_datasource.DuckDBExecutionEngine, code_set: CodeSet) -> str:
    return code_set_subquery(code_set, seed_loaded=_table_exists(engine, f"reference.{code_set.seed}"))


def _to_gx(suite: Suite, expect: Expect, code_sets: dict[str, str]) -> Any:
    kwargs = dict(expect.kwargs)
    when = kwargs.pop("when", None)
    if when:
        kwargs["row_condition"] = reduce(operator.and_, [Column(column) == value for column, value in when.items()])
    if "unexpected_rows_query" in kwargs:
        kwargs["unexpected_rows_query"] = substitute_code_sets(kwargs["unexpected_rows_query"], code_sets)
    expectation_class = getattr(gx.expectations, expect.expectation, None) or getattr(
        duckdb_datasource, expect.expectation
    )
    return expectation_class(
        **kwargs,
        severity=_SEVERITY[expect.severity],
        description=f"[{_label(suite, expect)}] {expect.description}",
        meta={"name": expect.name, "severity": expect.severity},
    )


def _label(suite: Suite, expect: Expect) -> str:
    """How the report shows an expectation's severity: ``error, blocking``, ``error`` or ``warn``."""
    return "error, blocking" if suite.blocks(expect.severity) else expect.severity


def _batch_definition(datasource: Any, suite: Suite) -> Any:
    _drop_asset(datasource, suite.name)
    if suite.where:
        asset = datasource.add_query_asset(suite.name, query=f"select * from {suite.table} where {suite.where}")
    else:
        asset = datasource.add_table_asset(suite.name, table_name=suite.table_name, schema_name=suite.schema)
    return asset.add_batch_definition_whole_table("all rows")


def _drop_asset(datasource: Any, name: str) -> None:
    """Remove the asset ``name`` a suite validated earlier in the session added, if any (names are unique)."""
    if name in datasource.get_asset_names():
        datasource.delete_asset(name)


def _add_examples(batch: Any, gx_result: ExpectationSuiteValidationResult) -> None:
    """Validate the failed expectations again, keeping a few offending values or rows for the report."""
    failed = [i for i, r in enumerate(gx_result.results) if not r.success and _exception_message(r) is None]
    if not failed:
        return
    retry = _part(f"{gx_result.suite_name} examples", [gx_result.results[i].expectation_config for i in failed])
    detailed = batch.validate(retry, result_format=WITH_EXAMPLES)
    for index, result in zip(failed, detailed.results, strict=True):
        gx_result.results[index] = result


def outcomes(suite: Suite, gx_result: ExpectationSuiteValidationResult) -> tuple[ExpectationOutcome, ...]:
    """One outcome per expectation of ``suite``, in the suite's order, from GX's result."""
    by_name = {r.expectation_config.meta["name"]: r for r in gx_result.results}
    return tuple(_outcome(suite, e, by_name[e.name]) for e in suite.expectations)


def _outcome(suite: Suite, expect: Expect, result: ExpectationValidationResult) -> ExpectationOutcome:
    details = result.result or {}
    error = _exception_message(result)
    if error is not None:
        observed: Any = f"could not be evaluated: {error}"
        unexpected = None
    elif "unexpected_count" in details:  # a map expectation: counts rows
        observed = f"{details['unexpected_count']} of {details.get('element_count')} rows unexpected"
        unexpected = details["unexpected_count"]
    else:  # an aggregate expectation, or a query whose rows are the unexpected ones
        observed = details.get("observed_value")
        unexpected = observed if expect.expectation == "ExpectQueryToReturnNoRows" else None
    extra = details.get("details") or {}
    examples = details.get("partial_unexpected_list") or extra.get("unexpected_rows") or extra.get("mismatched") or []
    return ExpectationOutcome(
        name=expect.name,
        passed=bool(result.success),
        severity=expect.severity,
        blocking=suite.blocks(expect.severity),
        observed_value=observed,
        unexpected_count=unexpected,
        description=expect.description,
        examples=json.loads(json.dumps(examples, default=str)),  # dates and decimals as text
    )


def _exception_message(result: ExpectationValidationResult) -> str | None:
    """The error that kept GX from evaluating an expectation (a SQL error, a missing column), if any."""
    info = result.exception_info or {}
    candidates = [info, *(v for v in info.values() if isinstance(v, dict))]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            return str(candidate.get("exception_message")).strip()
    return None


def _not_validated(gx_suite: gx.ExpectationSuite, reason: str) -> ExpectationSuiteValidationResult:
    """A result in which every expectation failed with ``reason``: what the report shows for a suite
    whose table is missing."""
    results = [
        ExpectationValidationResult(
            success=False,
            expectation_config=expectation.configuration,
            exception_info={"raised_exception": True, "exception_message": reason, "exception_traceback": reason},
        )
        for expectation in gx_suite.expectations
    ]
    return _suite_result(gx_suite, results, {"active_batch_definition": {"data_asset_name": gx_suite.name}, "not_validated": reason})
