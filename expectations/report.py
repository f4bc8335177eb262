"""The quality report: Great Expectations Data Docs of the latest result of every suite, readable offline.

The GX file context lives under ``WAREHOUSE_DIR/gx`` (never in the repository) and keeps one
validation result per suite: the latest. Its Data Docs site is written straight to
``WAREHOUSE_DIR/reports/quality/``; :func:`make_offline` then drops the CDN stylesheets and scripts
GX links to and inlines ``offline.css`` and ``offline.js`` (a few lines that draw the index tables
GX otherwise draws with jQuery and bootstrap-table), so the report opens without a network.

The index page opens with the run overview (:func:`write_run_overview`): the summary of the run
(blocking checks that failed first, then failed files, quarantined files and withdrawn/duplicate files,
and inputs whose data is overdue, each with what to do), the freshness of every input, the load log, the
current quarantine and the history of runs, from the audit tables (``expectations.run_summary``). GX rewrites the index on every build, so the overview is put
back after each.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from core import settings
from expectations.docs_views import IndexPageView, PageView, view_config
from expectations.results import SuiteResult
from expectations.run_summary import REMAP, RunOverview, count_of, is_confidential_file, read_run_overview
from expectations.runner import Validation, new_context, outcomes, validate
from expectations.spec import Suite
from expectations.suites import SUITES, get_suite

SITE_NAME = "quality_report"
_HERE = Path(__file__).resolve().parent
_CDN_TAG = re.compile(
    r"""<link\b[^>]*\bhref=["']https?://[^"']*["'][^>]*>|<script\b[^>]*\bsrc=["']https?://[^"']*["'][^>]*>\s*</script>""",
    re.IGNORECASE,
)
_REMOTE_CSS_URL = re.compile(r"""url\(\s*["']?https?://[^)]*\)""", re.IGNORECASE)
_REMOTE_IMAGE = re.compile(r"""(<img\b[^>]*\bsrc=)["'](https?://[^"'?]*/([^"'/?]+))(\?[^"']*)?["']""", re.IGNORECASE)


#: Shown instead of an example reason of an enterprise or register file: the reasons quote confidential values.
CONFIDENTIAL_EXAMPLE = "confidential: the rows and reasons are in audit.quarantine of restricted/serving.duckdb"


def gx_root() -> Path:
    """Where the GX file context lives: ``WAREHOUSE_DIR`` (GX adds ``gx/``)."""
    return settings.warehouse_dir()


def report_dir() -> Path:
    return settings.reports_dir() / "quality"


def report_context(site_dir: Path, root: Path | None = None) -> Any:
    """The GX file context under ``root/gx`` with one Data Docs site, written to ``site_dir``."""
    context = new_context(root or gx_root())
    pages = {"view": view_config(PageView)}
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": view_config(IndexPageView)},
        "site_section_builders": {"expectations": pages, "validations": pages},
    }
    sites = context.list_data_docs_sites()
    for name in [n for n in sites if n != SITE_NAME]:
        context.delete_data_docs_site(name)
    if SITE_NAME not in sites:
        context.add_data_docs_site(SITE_NAME, site)
    elif sites[SITE_NAME] != site:
        context.update_data_docs_site(SITE_NAME, site)
    return context


#: The context of the current run: (root, site folder, run name) -> context. A run's check steps (one per
#: suite) and its quality report share one context instead of making one each.
_run_context: dict[tuple[Path, Path, str], Any] = {}


def run_context(site_dir: Path, run_name: str, root: Path | None = None) -> Any:
    """:func:`report_context` for run ``run_name``: made by the first suite of the run, reused by the next
    (only the latest run's context is kept)."""
    root = root or gx_root()
    key = (root.resolve(), site_dir.resolve(), run_name)
    context = _run_context.get(key)
    if context is None or not (root / "gx").is_dir():  # a new run, or its folder was removed since
        _run_context.clear()
        context = _run_context[key] = report_context(site_dir, root)
    return context


def run_and_report(db_path: Path, suite_name: str, run_name: str, site_dir: Path | None = None) -> SuiteResult:
    """Validate one suite and put its result into the report (replacing the suite's previous one)."""
    site_dir = site_dir or report_dir()
    context = run_context(site_dir, run_name)
    validation = validate(context, Path(db_path), get_suite(suite_name))
    key = _store_latest(context, validation, run_name)
    shutil.rmtree(site_dir / "validations" / Path(*suite_name.split(".")), ignore_errors=True)  # its older pages
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=[key, key.expectation_suite_identifier])
    make_offline(site_dir)
    return validation.result


def build_quality_report(
    db_path: Path,
    out_dir: Path | None = None,
    run_name: str = "quality_report",
    run_started_at: datetime | None = None,
    unchanged_since: Mapping[str, datetime] | None = None,
) -> list[SuiteResult]:
    """Rebuild the whole report in ``out_dir`` (``reports/quality`` by default) with every suite's
    result of run ``run_name``: the one its check stored earlier in the same run; else, when
    ``unchanged_since`` gives the suite a time since which nothing it reads has changed, the result stored
    by an earlier run that validated it since then (of the suite as written now); else validated now. The
    index opens with the overview of the run (see :func:`write_run_overview`)."""
    out_dir = out_dir or report_dir()
    unchanged_since = unchanged_since or {}
    context = run_context(out_dir, run_name)
    results = []
    for suite in SUITES:
        result = _stored_result(context, suite, run_name, unchanged_since.get(suite.name))
        if result is None:
            validation = validate(context, Path(db_path), suite)
            _store_latest(context, validation, run_name)
            result = validation.result
        results.append(result)
    if out_dir.exists():
        shutil.rmtree(out_dir)  # pages of suites or runs that no longer exist
    context.build_data_docs(site_names=[SITE_NAME])
    make_offline(out_dir)
    write_run_overview(db_path, run_name, run_started_at, out_dir)
    return results


def _stored_result(
    context: Any, suite: Suite, run_name: str, checked_since: datetime | None = None
) -> SuiteResult | None:
    """The suite's stored result, as a :class:`SuiteResult`, if run ``run_name`` validated it, or if it was
    validated at or after ``checked_since`` (local time) with the suite as it is written now."""
    store = context.validation_results_store
    for key in store.list_keys():
        if key.expectation_suite_identifier.name != suite.name:
            continue
        checked_at = key.run_id.run_time.astimezone().replace(tzinfo=None)
        gx_result = store.get(key)
        current = checked_since is not None and checked_at >= checked_since and gx_result.meta.get(SUITE_DIGEST) == suite.digest()
        if key.run_id.run_name == run_name or current:
            return SuiteResult(
                suite=suite.name,
                table=suite.table,
                outcomes=outcomes(suite, gx_result),
                checked_at=checked_at,
                error=gx_result.meta.get("not_validated"),
            )
    return None


#: The key, in a stored result's meta, of the digest of the suite it validated (:meth:`Suite.digest`).
SUITE_DIGEST = "suite_digest"


def _store_latest(context: Any, validation: Validation, run_name: str) -> ValidationResultIdentifier:
    """Keep ``validation`` as its suite's only stored result; returns its key."""
    store = context.validation_results_store
    suite_id = ExpectationSuiteIdentifier(name=validation.result.suite)
    for key in store.list_keys():
        if key.expectation_suite_identifier.name == suite_id.name:
            store.remove_key(key)
    run_time = validation.result.checked_at.astimezone(timezone.utc)
    batch = validation.gx_result.meta.get("active_batch_definition") or {}
    key = ValidationResultIdentifier(
        expectation_suite_identifier=suite_id,
        run_id=RunIdentifier(run_name=run_name, run_time=run_time),
        batch_identifier=batch.get("data_asset_name", validation.result.suite),
    )
    validation.gx_result.meta["run_id"] = key.run_id
    validation.gx_result.meta[SUITE_DIGEST] = get_suite(validation.result.suite).digest()
    validation.gx_result.meta["validation_time"] = run_time
    store.store_validation_results(validation.gx_result, key, suite_id)
    return key


def make_offline(site_dir: Path) -> int:
    """Replace the CDN links of every page in ``site_dir`` with inline CSS and JS; returns pages changed."""
    inline = (
        f"<style>\n{(_HERE / 'offline.css').read_text(encoding='utf-8')}</style>\n"
        f"<script>\n{(_HERE / 'offline.js').read_text(encoding='utf-8')}</script>\n"
    )
    images = site_dir / "static" / "images"
    changed = 0
    for page in site_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        if "offline-report" in html:
            continue

        def local_image(match: re.Match[str], page: Path = page) -> str:
            local = images / match.group(3)
            target = os.path.relpath(local, page.parent) if local.exists() else ""
            return f'{match.group(1)}"{target}"'

        html = _REMOTE_IMAGE.sub(local_image, _REMOTE_CSS_URL.sub("none", _CDN_TAG.sub("", html)))
        page.write_text(html.replace("<head>", "<head>\n<!-- offline-report -->\n" + inline, 1), encoding="utf-8")
        changed += 1
    return changed


# ---------------------------------------------------------------- the run overview on the index page

_OVERVIEW = re.compile(r"<!-- run-overview -->.*?<!-- /run-overview -->\n?", re.DOTALL)
#: Where GX's own content starts on the index page; the overview goes before it.
_GX_CONTENT = '<div id="section-1"'
#: Reason groups listed in the quarantine section (a file of bad codes has one group per code).
QUARANTINE_REASON_GROUPS = 200


def write_run_overview(
    db_path: Path, run_name: str, run_started_at: datetime | None = None, site_dir: Path | None = None
) -> None:
    """Put the overview of run ``run_name`` at the top of the report's index page, replacing any
    previous one. Reads the build database read-only: call it with no read-write connection open."""
    index = (site_dir or report_dir()) / "index.html"
    if not index.is_file():
        return
    overview = overview_html(read_run_overview(db_path, run_name, run_started_at))
    block = f"<!-- run-overview -->\n{overview}\n<!-- /run-overview -->\n"
    page = _OVERVIEW.sub("", index.read_text(encoding="utf-8"))
    if _GX_CONTENT in page:
        page = page.replace(_GX_CONTENT, block + _GX_CONTENT, 1)
    else:
        page = page.replace("<body>", "<body>\n" + block, 1)
    index.write_text(page, encoding="utf-8")


def overview_html(overview: RunOverview) -> str:
    """The overview as HTML; every value from the data is escaped."""
    summary = overview.summary
    parts = ['<section id="run-overview" class="run-overview">', f"<h2>Summary of run {_e(summary.run_id)}</h2>"]
    if summary.unavailable:
        parts.append(f"<p>{_e(summary.unavailable)}</p>")
    if summary.all_clear and not summary.unavailable:
        parts.append('<p class="text-success">Every file loaded, no row quarantined, no blocking check failed.</p>')
    if summary.blocking_checks:
        parts.append(_table(
            "summary-blocking-checks", f"Publishing stopped by {count_of(summary.blocking_checks, 'blocking check')}",
            ["suite", "expectation", "observed", "expected", "what to do"],
            [[c.suite, c.expectation, c.observed_value, c.description, c.what_to_do] for c in summary.blocking_checks],
        ))
    if summary.failed_files:
        parts.append(_table(
            "summary-failed-files", "Files that failed to load (nothing of them was loaded)",
            ["file", "reason", "what to do"], [[f.source_file, f.reason, f.what_to_do] for f in summary.failed_files],
        ))
    if summary.quarantined_files:
        parts.append(_table(
            "summary-quarantined-files", "Files with quarantined rows (their figures are missing)",
            ["file", "rows quarantined", "reason", "rows", "example", "what to do"],
            [[f.source_file, f.rows, r.rule, r.rows, CONFIDENTIAL_EXAMPLE if f.is_confidential else r.example, r.what_to_do]
             for f in summary.quarantined_files for r in f.reasons],
            note=REMAP if any(r.fixed_in_reference_data for f in summary.quarantined_files for r in f.reasons) else "",
        ))
    if summary.events:
        parts.append(_table(
            "summary-events", "Files withdrawn, restored or duplicate in this run",
            ["event", "file", "load", "note", "what to do"],
            [[e.status, e.source_file, e.load_id, e.note, e.what_to_do] for e in summary.events],
        ))
    if summary.overdue:
        parts.append(
            f'<p id="summary-overdue" class="text-warning">{_e(count_of(summary.overdue, "input"))} with data overdue '
            f'({_e(", ".join(f"{o.asset} {o.frequency}" for o in summary.overdue))}): see '
            '<a href="#freshness">Freshness</a>; a warning, publishing goes on.</p>'
        )
    parts.append(
        '<p class="run-overview-nav"><a href="#freshness">Freshness</a> · <a href="#load-log">Load log</a> · '
        '<a href="#quarantine">Quarantine</a> · <a href="#runs">Runs</a> · '
        '<a href="#section-1">Validation results</a></p>'
    )
    reporting_dates = sorted({str(f.observed.get("reporting_date")) for f in overview.freshness})
    parts.append(_table(
        "freshness",
        "Freshness: the latest period of each input on the reporting date"
        + (f" {', '.join(reporting_dates)}" if reporting_dates else ""),
        ["input", "frequency", "status", "latest loaded", "latest due", "due on", "overdue since", "detail",
         "what to do"],
        [[f.asset, f.frequency, "on time" if f.on_time else "overdue", f.observed.get("latest_period"),
          f.observed.get("due_period"), f.observed.get("due_on"), f.observed.get("overdue_since"), f.message,
          f.what_to_do] for f in overview.freshness],
        heading="h3",
        note="Deadlines: expectations/publication_calendar.csv. Overdue data is a warning: publishing goes on. "
        "When each raw asset and mart was last built: its Dagster check freshness_check (make dev).",
    ))
    parts.append(_table(
        "load-log", "Load log: the latest attempt or event of every file",
        ["file", "status", "at", "rows loaded", "rows quarantined at load", "rows quarantined now", "reason or note",
         "load"],
        [[r["source_file"], r["status"], r["loaded_at"], r["rows_loaded"], r["rows_quarantined"],
          r["rows_quarantined_now"], r["reason"], r["load_id"]] for r in overview.load_log],
        heading="h3",
    ))
    reasons = overview.quarantine_reasons
    hidden = len(reasons) - QUARANTINE_REASON_GROUPS
    parts.append(_table(
        "quarantine", f"Current quarantine: {count_of(overview.quarantine_rows, 'row')}",
        ["file", "rule", "reason", "rows"],
        [[r["source_file"], r["rule"], CONFIDENTIAL_EXAMPLE if is_confidential_file(r["source_file"]) else r["reason"], r["rows"]]
         for r in reasons[:QUARANTINE_REASON_GROUPS]],
        heading="h3",
        note=f"{hidden} more reasons not shown" if hidden > 0 else "",
    ))
    sample = overview.quarantine_sample
    parts.append(_table(
        "quarantine-sample", f"Quarantined rows as received (the first {len(sample)} of {overview.quarantine_rows})",
        ["file", "row", "stage", "reason", "record"],
        [[r["source_file"], r["row_number"], r["stage"], *(
            [CONFIDENTIAL_EXAMPLE, ""] if is_confidential_file(r["source_file"]) else [r["reason"], r["record"]])]
         for r in sample],
        cell=lambda column, value: f"<code>{_e(value)}</code>" if column == "record" else _e(value),
    ))
    parts.append(_table(
        "runs", "Runs: the checks of every run, the latest first",
        ["run", "checked from", "checked until", "suites", "expectations", "failed", "blocking failed", "failures"],
        [[r["run_id"], r["first_checked_at"], r["last_checked_at"], r["suites"], r["expectations"], r["failed"],
          r["blocking_failed"], ", ".join(r["failures"])] for r in overview.runs],
        heading="h3",
    ))
    parts.append("</section>")
    return "\n".join(parts)


def _e(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.isoformat(sep=" ")
    return html.escape(str(value))


def _table(
    table_id: str,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    heading: str = "h4",
    note: str = "",
    cell: Callable[[str, object], str] = lambda column, value: _e(value),
) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(c, v)}</td>" for c, v in zip(columns, row, strict=True)) + "</tr>" for row in rows
    ) or f'<tr><td colspan="{len(columns)}">none</td></tr>'
    note_html = f'<p class="text-muted">{_e(note)}</p>' if note else ""
    return (
        f'<{heading} id="{table_id}-title">{_e(title)}</{heading}>\n<table id="{table_id}" class="table table-sm">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note_html}"
    )
