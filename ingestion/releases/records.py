"""What every release parser gets, produces and declares: the file's origin (its sidecar), raw
observation records or a file-level error, and its :class:`ReleaseFormat`. Imports nothing of the
project, so the parsers, the sidecar, the format registry and the loader all build on it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

#: The region a record is about when the source has no region dimension (the NBS national databases).
NATIONAL_REGION = "全国"
#: A note line under a table: ``注：``, ``注1：``, ``注①：``, ``说明：``, ``备注：``.
NOTE_LINE = re.compile(r"^[*＊]?\s*(?:注|附注|备注|说明)\s*(?:\d+|[\u2460-\u2473]|[(（]\d+[)）])?\s*[：:]")
#: The source line that closes a table: ``数据来源：国家统计局``, ``资料来源：...``.
SOURCE_LINE = re.compile(r"^(?:数据|资料)来源\s*[：:]")


class ReleaseFileError(Exception):
    """A file that cannot be loaded at all (wrong layout, truncated, bad JSON, invalid sidecar ...).

    The message names the file, where in it the problem is (when known) and the problem.
    """

    def __init__(self, source_file: str, problem: str, *, location: str | None = None):
        self.source_file = source_file
        self.problem = problem
        self.location = location
        super().__init__(f"{source_file}{f' {location}' if location else ''}: {problem}")


@dataclass(frozen=True)
class Sidecar:
    """The origin and vintage of a release file, from its ``<file>.meta.yml`` (``sidecar.parse_sidecar``)."""

    format: str
    release_date: dt.date  # the day the figures were published: the vintage of every value in the file
    status: str
    publisher: str | None = None
    title: str | None = None
    url: str | None = None
    retrieved: dt.date | None = None


@dataclass(frozen=True)
class RawObservation:
    """One published cell, as received: nothing is mapped or converted yet.

    ``indicator_raw`` may carry its unit in trailing parentheses (``地区生产总值(亿元)``); ``unit_raw`` is the
    unit given separately (a unit row or column, the JSON node's unit, SDMX ``UNIT_MEASURE``).
    """

    row_number: int  # 1-based line (CSV), sheet row (xlsx) or datanode (JSON)
    region_raw: str | None
    indicator_raw: str | None
    unit_raw: str | None
    period_raw: str | None
    value_raw: str | None  # None: the source says there is no figure
    obs_status: str | None = None  # SDMX OBS_STATUS
    note: str | None = None  # a comment the source attaches to this value
    unit_mult: str | None = None  # SDMX UNIT_MULT (power of ten), as received

    def as_record(self) -> dict[str, Any]:
        """The record as JSON-ready dict (for ``audit.quarantine.record``), without empty SDMX-only fields."""
        record = asdict(self)
        del record["row_number"]
        return {k: v for k, v in record.items() if v is not None or k in _ALWAYS_SHOWN}


_ALWAYS_SHOWN = {"region_raw", "indicator_raw", "unit_raw", "period_raw", "value_raw"}


@dataclass
class ParsedFile:
    """The observations of one file plus what was learned about the file itself."""

    observations: list[RawObservation]
    encoding: str | None = None  # for text formats, as detected
    notes: list[str] = field(default_factory=list)  # the table's note lines (注：...), in order
    #: A table's title, where the table names a dimension its records leave empty (bulletin_xlsx; "" for
    #: an untitled table, whose sidecar then names it); None for formats whose records name every dimension.
    table_title: str | None = None


class ReleaseParser(Protocol):
    """The parser of one format: the file's bytes, its name for error messages and its sidecar origin."""

    def __call__(self, data: bytes, source_file: str, origin: Sidecar | None = None) -> ParsedFile: ...


@dataclass(frozen=True)
class ReleaseFormat:
    """A release format, declared once by its parser module as ``FORMAT`` and registered in
    :mod:`ingestion.releases.formats`: the name a sidecar gives as ``format:`` (and ``raw.release_files``
    and ``audit.load_log`` record), the extensions of its files and the parser."""

    name: str
    extensions: tuple[str, ...]  # lower case, with the dot: (".csv",)
    parse: ReleaseParser

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(f"release format name {self.name!r}: use lower_snake_case")
        if not self.extensions or any(not re.fullmatch(r"\.[a-z0-9]+", e) for e in self.extensions):
            raise ValueError(f"release format {self.name}: extensions {self.extensions!r} must be like ('.csv',)")
