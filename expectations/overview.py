"""The run overview at the top of the quality report's index page (no Great Expectations import).

The summary of the run (blocking checks that failed first, then failed files, quarantined files and
withdrawn/duplicate files, and inputs whose data is overdue, each with what to do), the freshness of every
input, the load log, the current quarantine and the history of runs, from the audit tables
(:mod:`expectations.run_summary`). Every check step of a run puts it back (the data freshness check too,
which must not pay for importing GX).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from core import settings
from core.files import replace_text
from expectations.run_summary import REMAP, RunOverview, count_of, is_confidential_file, read_run_overview

#: Shown instead of an example reason of an enterprise or register file: the reasons quote confidential values.
CONFIDENTIAL_EXAMPLE = "confidential: the rows and reasons are in audit.quarantine of restricted/serving.duckdb"


def report_dir() -> Path:
    return settings.reports_dir() / "quality"


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
    replace_text(index, page)


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
