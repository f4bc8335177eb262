"""The ``<file>.meta.yml`` sidecar of a release file: its origin and vintage.

A release file without a valid sidecar is an error, never a guess: :func:`parse_sidecar` raises a
:class:`~ingestion.releases.records.ReleaseFileError` naming the sidecar and the field at fault.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from core.settings import SEEDS_DIR
from ingestion.releases.formats import format_names
from ingestion.releases.records import ReleaseFileError, Sidecar


def release_statuses(seeds_dir: Path = SEEDS_DIR) -> tuple[str, ...]:
    """The statuses of the dbt seed ``ref_release_statuses``, lowest precedence first."""
    with open(seeds_dir / "ref_release_statuses.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(row["status"] for row in sorted(rows, key=lambda row: int(row["precedence"])))


#: The statuses a sidecar may give: the seed ``ref_release_statuses`` (read once, at import), the one list
#: dbt, the quality suite of ``raw.release_files`` and the vintage order read too.
STATUSES = release_statuses()
_REQUIRED = ("format", "release_date", "status")
_OPTIONAL = ("publisher", "title", "url", "retrieved")


#: What a sidecar's name adds to its data file's name.
SIDECAR_SUFFIX = ".meta.yml"


def sidecar_path(data_file: Path) -> Path:
    """``<data file name>.meta.yml`` next to the data file."""
    return data_file.with_name(data_file.name + SIDECAR_SUFFIX)


def parse_sidecar(data: bytes, name: str) -> Sidecar:
    """Validate the YAML of a sidecar; ``name`` is used in error messages."""
    try:
        content = yaml.safe_load(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise ReleaseFileError(name, f"sidecar is not valid UTF-8 YAML: {_one_line(error)}") from None
    if not isinstance(content, dict):
        raise ReleaseFileError(name, "sidecar must be a YAML mapping of field: value")
    unknown = sorted(str(key) for key in content if key not in _REQUIRED + _OPTIONAL)
    if unknown:
        raise ReleaseFileError(name, f"unknown sidecar field(s) {', '.join(unknown)}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}")
    for key in _REQUIRED:
        if content.get(key) in (None, ""):
            raise ReleaseFileError(name, f"sidecar field '{key}' is missing")
    sidecar = Sidecar(
        format=_choice(content, "format", format_names(), name),
        release_date=_date(content, "release_date", name),
        status=_choice(content, "status", STATUSES, name),
        publisher=_text(content, "publisher", name),
        title=_text(content, "title", name),
        url=_text(content, "url", name),
        retrieved=_date(content, "retrieved", name) if content.get("retrieved") not in (None, "") else None,
    )
    if sidecar.retrieved is not None and sidecar.retrieved < sidecar.release_date:
        raise ReleaseFileError(
            name, f"sidecar field 'retrieved' ({sidecar.retrieved}) is before 'release_date' ({sidecar.release_date})"
        )
    return sidecar


def _choice(content: dict[str, Any], key: str, allowed: tuple[str, ...], name: str) -> str:
    value = content[key]
    if value not in allowed:
        raise ReleaseFileError(name, f"sidecar field '{key}' is {value!r}; expected one of {', '.join(allowed)}")
    return value


def _date(content: dict[str, Any], key: str, name: str) -> dt.date:
    value = content[key]
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ReleaseFileError(name, f"sidecar field '{key}' is {value!r}; expected a date YYYY-MM-DD") from None


def _text(content: dict[str, Any], key: str, name: str) -> str | None:
    value = content.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReleaseFileError(name, f"sidecar field '{key}' is {value!r}; expected text")
    return value.strip() or None


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
