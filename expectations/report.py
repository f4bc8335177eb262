"""The quality report: Great Expectations Data Docs of the latest result of every suite, readable offline.

The GX file context lives under ``WAREHOUSE_DIR/gx`` (never in the repository) and keeps one
validation result per suite: the latest. Its Data Docs site is written straight to
``WAREHOUSE_DIR/reports/quality/``; :func:`make_offline` then drops the CDN stylesheets and scripts
GX links to and inlines ``offline.css`` and ``offline.js`` (a few lines that draw the index tables
GX otherwise draws with jQuery and bootstrap-table), so the report opens without a network.

The index page opens with the run overview (:mod:`expectations.overview`); GX rewrites the index on every
build, so the overview is put back after each.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from contextlib import ExitStack, suppress
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.exceptions import DataContextError

from core import settings
from core.files import replace_text
from expectations.docs_views import IndexPageView, PageView, view_config
from expectations.overview import report_dir, write_run_overview
from expectations.results import SuiteResult
from expectations.runner import GX_SUITE_DIGEST, Validation, new_context, outcomes, validating
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


def gx_root() -> Path:
    """Where the GX file context lives: ``WAREHOUSE_DIR`` (GX adds ``gx/``)."""
    return settings.warehouse_dir()


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


def run_and_report(
    db_path: Path, suite_names: Sequence[str], run_name: str, site_dir: Path | None = None
) -> list[SuiteResult]:
    """Validate suites and put their results into the report (replacing each suite's previous one), with one
    build of the report's pages for all of them."""
    site_dir = site_dir or report_dir()
    context = run_context(site_dir, run_name)
    results, stored = [], []
    with validating(Path(db_path)) as session:
        for name in suite_names:
            validation = session.validate(get_suite(name))
            stored.append((_store_latest(context, validation, run_name, site_dir), validation.gx_suite))
            results.append(validation.result)
    _build_pages(context, site_dir, stored)
    return results


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
    index opens with the overview of the run (see :func:`write_run_overview`).

    When the site holds exactly the pages of the stored results it keeps (the check steps wrote them), only
    the pages of the suites validated now are built (none when there are none); otherwise the whole site is
    built again (it holds pages of suites or runs that no longer exist, or misses some)."""
    out_dir = out_dir or report_dir()
    unchanged_since = unchanged_since or {}
    context = run_context(out_dir, run_name)
    results, kept_pages, validated = [], [], []
    with ExitStack() as stack:
        session = None  # opened for the first suite validated now
        for suite in SUITES:
            stored = _stored_result(context, suite, run_name, unchanged_since.get(suite.name))
            if stored is None:
                session = session or stack.enter_context(validating(Path(db_path)))
                validation = session.validate(suite)
                validated.append((_store_latest(context, validation, run_name, out_dir), validation.gx_suite))
                results.append(validation.result)
            else:
                results.append(stored[0])
                kept_pages.append(_page(out_dir, "validations", stored[1]))
    if _site_holds(out_dir, kept_pages):
        _build_pages(context, out_dir, validated)
    else:
        if out_dir.exists():
            shutil.rmtree(out_dir)
        context.build_data_docs(site_names=[SITE_NAME])
        make_offline(out_dir)
    write_run_overview(db_path, run_name, run_started_at, out_dir)
    return results


def _build_pages(
    context: Any, site_dir: Path, stored: Sequence[tuple[ValidationResultIdentifier, gx.ExpectationSuite]]
) -> None:
    """Build the pages of the stored results and the index, and the page of each result's suite (as stored)
    unless the site holds it already: a suite changes far less often than its results, and its page costs as
    much to render. A suite's page carries the digest of the suite it shows and of what rendered it
    (:data:`_SUITE_PAGE_MARK`)."""
    if not stored:
        return
    suites = {key.expectation_suite_identifier.name: (key.expectation_suite_identifier, gx_suite) for key, gx_suite in stored}
    outdated = []  # (suite, its page, the mark of its page as it must be)
    for identifier, gx_suite in suites.values():
        page = _page(site_dir, "expectations", identifier)
        mark = _SUITE_PAGE_MARK.format(suite=gx_suite.meta[GX_SUITE_DIGEST], rendering=_rendering())
        if mark not in _head_of(page):
            outdated.append((identifier, page, mark))
    context.build_data_docs(
        site_names=[SITE_NAME], resource_identifiers=[key for key, _ in stored] + [identifier for identifier, _, _ in outdated]
    )
    make_offline(site_dir)
    for _, page, mark in outdated:
        with suppress(OSError):
            replace_text(page, page.read_text(encoding="utf-8").replace("<head>", f"<head>\n{mark}", 1))


#: The first line of a suite's page in the head: the digests of the suite it shows and of what rendered it
#: (see :func:`_build_pages`).
_SUITE_PAGE_MARK = "<!-- suite-digest: {suite} rendering: {rendering} -->"


@cache
def _rendering() -> str:
    """SHA-256 of what renders the report's pages: GX's version, this project's page views and offline files."""
    sources = [gx.__version__] + [(_HERE / name).read_text(encoding="utf-8") for name in ("docs_views.py", "offline.css", "offline.js")]
    return hashlib.sha256(json.dumps(sources).encode("utf-8")).hexdigest()


def _head_of(page: Path) -> str:
    """The start of a page (its head's first lines), empty when there is no such page."""
    try:
        with page.open(encoding="utf-8") as handle:
            return handle.read(512)
    except OSError:
        return ""


def _page(site_dir: Path, section: str, identifier: ValidationResultIdentifier | ExpectationSuiteIdentifier) -> Path:
    """Where Data Docs writes the page of a stored result (``section`` ``validations``) or suite (``expectations``)."""
    *folders, name = identifier.to_tuple()
    return site_dir.joinpath(section, *folders, f"{name}.html")


def _site_holds(site_dir: Path, validation_pages: Sequence[Path]) -> bool:
    """Whether the site is the one a rebuild would write: an index, the pages of exactly these stored results
    (the check steps of the run and of earlier runs wrote them) and one expectations page per suite."""
    return (
        (site_dir / "index.html").is_file()
        and set((site_dir / "validations").rglob("*.html")) == set(validation_pages)
        and len(list((site_dir / "expectations").rglob("*.html"))) == len(SUITES)
    )


def _stored_result(
    context: Any, suite: Suite, run_name: str, checked_since: datetime | None = None
) -> tuple[SuiteResult, ValidationResultIdentifier] | None:
    """The suite's stored result, as a :class:`SuiteResult`, and its key, if run ``run_name`` validated it,
    or if it was validated at or after ``checked_since`` (local time) with the suite as it is written now."""
    store = context.validation_results_store
    for key in store.list_keys():
        if key.expectation_suite_identifier.name != suite.name:
            continue
        checked_at = key.run_id.run_time.astimezone().replace(tzinfo=None)
        gx_result = store.get(key)
        current = checked_since is not None and checked_at >= checked_since and gx_result.meta.get(SUITE_DIGEST) == suite.digest()
        if key.run_id.run_name == run_name or current:
            result = SuiteResult(
                suite=suite.name,
                table=suite.table,
                outcomes=outcomes(suite, gx_result),
                checked_at=checked_at,
                error=gx_result.meta.get("not_validated"),
            )
            return result, key
    return None


#: The key, in a stored result's meta, of the digest of the suite it validated (:meth:`Suite.digest`).
SUITE_DIGEST = "suite_digest"


def _store_latest(context: Any, validation: Validation, run_name: str, site_dir: Path) -> ValidationResultIdentifier:
    """Keep ``validation`` as its suite's only stored result (its older pages removed from the site), and its
    GX suite as the stored one; returns the result's key."""
    store = context.validation_results_store
    suite_id = ExpectationSuiteIdentifier(name=validation.result.suite)
    _remove_stored_results(store, suite_id.name)
    shutil.rmtree(site_dir / "validations" / Path(*suite_id.name.split(".")), ignore_errors=True)
    _store_suite(context, validation.gx_suite)
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


def _remove_stored_results(store: Any, suite_name: str) -> None:
    """Remove the stored results of suite ``suite_name``, and the folders they leave empty.

    GX's ``remove_key`` means to remove them too, but its test of an empty folder (``not
    Path(folder).iterdir()``, a generator) is never true: each run left two empty folders (its run name, its
    run time) per suite it validated, and every listing of the store, once per suite and report, walked all
    of them (1,300 folders after about 60 runs: over a second of each run's checks, growing with every run)."""
    for key in store.list_keys():
        if key.expectation_suite_identifier.name == suite_name:
            store.remove_key(key)
    suite_folder = Path(store.store_backend.full_base_directory, *suite_name.split("."))
    for folder, _, _ in os.walk(suite_folder, topdown=False):  # the deepest first: a folder emptied is removed
        with suppress(OSError):  # not empty
            os.rmdir(folder)


def _store_suite(context: Any, gx_suite: gx.ExpectationSuite) -> None:
    """Save ``gx_suite`` in ``context`` (for its page in the report) unless the stored one has its digest:
    saving compares every expectation with the stored suite's."""
    try:
        stored = context.suites.get(gx_suite.name)
    except DataContextError:
        stored = None
    if stored is None or stored.meta.get(GX_SUITE_DIGEST) != gx_suite.meta[GX_SUITE_DIGEST]:
        context.suites.add_or_update(gx_suite)


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
        replace_text(page, html.replace("<head>", "<head>\n<!-- offline-report -->\n" + inline, 1))
        changed += 1
    return changed
