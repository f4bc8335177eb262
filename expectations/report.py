"""The quality report: Great Expectations Data Docs of the latest result of every suite, readable offline.

The GX file context lives under ``WAREHOUSE_DIR/gx`` (never in the repository) and keeps one
validation result per suite: the latest. Its Data Docs site is written straight to
``WAREHOUSE_DIR/reports/quality/``; :func:`make_offline` then drops the CDN stylesheets and scripts
GX links to and inlines ``offline.css`` and ``offline.js`` (a few lines that draw the index tables
GX otherwise draws with jQuery and bootstrap-table), so the report opens without a network.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import timezone
from pathlib import Path
from typing import Any

from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from expectations.results import SuiteResult
from expectations.runner import Validation, new_context, outcomes, validate
from expectations.spec import Suite
from expectations.suites import SUITES, get_suite
from ingestion import settings

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


def report_dir() -> Path:
    return settings.reports_dir() / "quality"


def report_context(site_dir: Path, root: Path | None = None) -> Any:
    """The GX file context under ``root/gx`` with one Data Docs site, written to ``site_dir``."""
    context = new_context(root or gx_root())
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    sites = context.list_data_docs_sites()
    for name in [n for n in sites if n != SITE_NAME]:
        context.delete_data_docs_site(name)
    if SITE_NAME not in sites:
        context.add_data_docs_site(SITE_NAME, site)
    elif sites[SITE_NAME] != site:
        context.update_data_docs_site(SITE_NAME, site)
    return context


def run_and_report(db_path: Path, suite_name: str, run_name: str, site_dir: Path | None = None) -> SuiteResult:
    """Validate one suite and put its result into the report (replacing the suite's previous one)."""
    site_dir = site_dir or report_dir()
    context = report_context(site_dir)
    validation = validate(context, Path(db_path), get_suite(suite_name))
    key = _store_latest(context, validation, run_name)
    shutil.rmtree(site_dir / "validations" / Path(*suite_name.split(".")), ignore_errors=True)  # its older pages
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=[key, key.expectation_suite_identifier])
    make_offline(site_dir)
    return validation.result


def build_quality_report(db_path: Path, out_dir: Path | None = None, run_name: str = "quality_report") -> list[SuiteResult]:
    """Rebuild the whole report in ``out_dir`` (``reports/quality`` by default) with every suite's
    result of run ``run_name``: the one its check stored earlier in the same run, else validated now."""
    out_dir = out_dir or report_dir()
    context = report_context(out_dir)
    results = []
    for suite in SUITES:
        result = _stored_result(context, suite, run_name)
        if result is None:
            validation = validate(context, Path(db_path), suite)
            _store_latest(context, validation, run_name)
            result = validation.result
        results.append(result)
    if out_dir.exists():
        shutil.rmtree(out_dir)  # pages of suites or runs that no longer exist
    context.build_data_docs(site_names=[SITE_NAME])
    make_offline(out_dir)
    return results


def _stored_result(context: Any, suite: Suite, run_name: str) -> SuiteResult | None:
    """The suite's stored result if run ``run_name`` validated it, as a :class:`SuiteResult`."""
    store = context.validation_results_store
    for key in store.list_keys():
        if key.expectation_suite_identifier.name == suite.name and key.run_id.run_name == run_name:
            gx_result = store.get(key)
            return SuiteResult(
                suite=suite.name,
                table=suite.table,
                outcomes=outcomes(suite, gx_result),
                checked_at=key.run_id.run_time.astimezone().replace(tzinfo=None),
                error=gx_result.meta.get("not_validated"),
            )
    return None


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
