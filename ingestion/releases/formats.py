"""The registry of release formats: the one list the sidecar validation, the loader and the quality suite
of ``raw.release_files`` read.

Each parser module declares its format once, as ``FORMAT``, a
:class:`~ingestion.releases.records.ReleaseFormat` (name, file extensions, parser); the modules listed in
:data:`PARSER_MODULES` are registered when this module is imported, in that order (the order error
messages list the formats in). Adding a format is a parser module with its ``FORMAT`` and one line in
:data:`PARSER_MODULES`; :func:`register` adds one from elsewhere (a test, a plug-in).
"""

from __future__ import annotations

import importlib

from ingestion.releases.records import ReleaseFormat

#: The modules whose ``FORMAT`` is registered on import: one line per release format.
PARSER_MODULES = (
    "ingestion.releases.nbs_export",
    "ingestion.releases.nbs_easyquery_json",
    "ingestion.releases.sdmx_csv",
    "ingestion.releases.bulletin_xlsx",
)

_REGISTRY: dict[str, ReleaseFormat] = {}


def register(release_format: ReleaseFormat) -> ReleaseFormat:
    """Register a format; registering another format under a name already taken is an error."""
    registered = _REGISTRY.get(release_format.name)
    if registered is not None and registered != release_format:
        raise ValueError(f"release format {release_format.name!r} is already registered")
    _REGISTRY[release_format.name] = release_format
    return release_format


def unregister(name: str) -> None:
    """Remove a registered format (a test's toy format); unknown names are ignored."""
    _REGISTRY.pop(name, None)


def release_formats() -> tuple[ReleaseFormat, ...]:
    """Every registered format, in registration order."""
    return tuple(_REGISTRY.values())


def format_names() -> tuple[str, ...]:
    """The names a sidecar may give as ``format:``."""
    return tuple(_REGISTRY)


def get_format(name: str) -> ReleaseFormat:
    """The registered format ``name``; :class:`KeyError` when there is none."""
    return _REGISTRY[name]


def release_extensions() -> tuple[str, ...]:
    """The extensions of release files (``LANDING_DIR/releases/**``), sorted: files with others are not releases."""
    return tuple(sorted({extension for f in _REGISTRY.values() for extension in f.extensions}))


for _module in PARSER_MODULES:
    register(importlib.import_module(_module).FORMAT)
