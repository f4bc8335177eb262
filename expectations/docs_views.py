"""Data Docs page views whose Jinja templates are compiled once per process.

GX builds a new Jinja environment for every page it renders, so each Data Docs build compiles its fifty-odd
templates again (about 0.35 s, more than rendering the pages). These views are GX's own, with a bytecode
cache the process shares; the quality report's site configuration names them (GX's documented way to
choose a site's views), so a run that validates ten suites compiles the templates once, not eleven times.
"""

from __future__ import annotations

from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class _ProcessBytecodeCache(BytecodeCache):
    """Compiled templates, in memory, keyed by Jinja (template name and source checksum)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _ProcessBytecodeCache()


class _CompiledOnce:
    """Mixed into a GX view: its Jinja environment takes compiled templates from the process's cache."""

    env: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = COMPILED_TEMPLATES


class PageView(_CompiledOnce, DefaultJinjaPageView):
    """GX's page view (suites and validation results)."""


class IndexPageView(_CompiledOnce, DefaultJinjaIndexPageView):
    """GX's index page view."""


def view_config(view: type) -> dict[str, str]:
    """How a Data Docs site configuration names ``view``."""
    return {"module_name": view.__module__, "class_name": view.__name__}
