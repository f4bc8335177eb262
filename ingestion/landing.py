"""The landing folder is the truth: one discovery rule, content identity, and what changed since last run.

Every kind of input lives in its own folder, ``LANDING_DIR/<kind>/`` (``releases``, ``enterprise``), read
recursively; hidden files and folders (``.*``) and Office lock files (``~$*``) are left out, and each loader
names the extensions of its kind. A missing ``LANDING_DIR`` is a :class:`LandingError`, and so is a missing
folder of a kind the loader requires (``releases/``). A kind that is not required (``enterprise/``) may be
absent: that means no files, so loads of it that were current are withdrawn like removed files (a mart
that becomes empty that way is caught by the publication's shrink guard).

A file is identified by its content: the sha256 of its bytes (releases: together with the sha256 of its
``.meta.yml`` sidecar). A content is loaded at most once, whatever its path. On every run :func:`sync`
compares the folder with ``audit.load_log`` (``audit.current_loads``) and records, in the load log:

- ``withdrawn``: a current load whose content is no longer anywhere in the folder, with the load's
  ``load_id``; ``note`` says whether the file was removed or its path now holds new content;
- ``restored``: a withdrawn load whose content is back (anywhere in the folder), with the load's ``load_id``;
- ``duplicate``: a file whose content was loaded under another path (``note`` names that path and its
  load); recorded once per path and content. The original load stays current while its content is
  anywhere in the folder, so moving a file keeps its figures (under the path they were loaded from).

It returns the contents not loaded yet, failed ones included (a failed file is retried on every run);
:func:`land` loads them through the loader's function and is what both loaders call.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from core import settings
from core.files import replace_text
from ingestion.audit import LoadAttempt, LoadSummary, record_attempt

logger = logging.getLogger(__name__)

#: Leading characters of the names left out: hidden files and folders, Office lock files.
SKIPPED_PREFIXES = (".", "~$")
REMOVED = "removed from the landing folder"
REPLACED = "replaced by new content of the same file"
#: Why a file of no bytes fails to load (a copy or an export cut off before it wrote anything).
EMPTY_FILE = "the file is empty (0 bytes)"
#: Why a file whose name is not UTF-8 fails to load (see :func:`landing_name`).
NON_UTF8_NAME = "the file name is not UTF-8 (each byte that is not is shown as \\xNN): rename the file"


class LandingError(Exception):
    """The landing folder, or a folder a loader requires in it, does not exist: nothing can be loaded and
    nothing may be taken as removed."""


@dataclass(frozen=True)
class LandingFile:
    """One discovered file and its content identity."""

    path: Path
    source_file: str  # relative to LANDING_DIR, with forward slashes
    sha256: str
    sidecar_sha256: str | None = None  # releases: of ``<file>.meta.yml``; None when there is none

    @property
    def content(self) -> tuple[str, str | None]:
        return self.sha256, self.sidecar_sha256


@dataclass(frozen=True)
class LandingKind:
    """A kind of input: its folder ``LANDING_DIR/<name>/`` (``name`` is also the ``kind`` of its load_log
    rows), the extensions of its files, whether the folder must exist, and where a file's sidecar is."""

    name: str
    extensions: Callable[[], Iterable[str]]
    required: bool = False
    sidecar: Callable[[Path], Path] | None = None

    def scan(self, landing_dir: Path) -> list[LandingFile]:
        return scan(landing_dir, self.name, self.extensions(), required=self.required, sidecar=self.sidecar)


@dataclass
class Sync:
    """What :func:`sync` found: the events it recorded and the contents to load."""

    events: list[LoadAttempt] = field(default_factory=list)
    #: One entry per content not loaded yet: the paths holding it, in name order (the first that loads is
    #: the original, the others are its duplicates).
    to_load: list[list[LandingFile]] = field(default_factory=list)
    files_skipped: int = 0  # files whose content is already loaded

    @property
    def paths(self) -> set[str]:
        """The files with something to do: to load, withdrawn, restored or taken as duplicates."""
        return {event.source_file for event in self.events} | {f.source_file for copies in self.to_load for f in copies}


@dataclass(frozen=True)
class _Load:
    load_id: str
    source_file: str
    sha256: str
    sidecar_sha256: str | None
    format: str | None
    release_date: date | None
    is_current: bool

    @property
    def content(self) -> tuple[str, str | None]:
        return self.sha256, self.sidecar_sha256


def kind_folder(landing_dir: Path, kind: str, *, required: bool) -> Path | None:
    """``landing_dir/kind``; None when it is absent and not required. Raises :class:`LandingError`."""
    if not landing_dir.is_dir():
        raise LandingError(
            f"the landing folder {landing_dir} does not exist: set LANDING_DIR to the folder that holds releases/"
        )
    folder = landing_dir / kind
    if folder.is_dir():
        return folder
    if required:
        raise LandingError(
            f"the landing folder {landing_dir} has no {kind}/ folder ({folder} does not exist): "
            f"set LANDING_DIR to the folder that holds {kind}/"
        )
    return None


def landing_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, with forward slashes: how the warehouse names a file (``source_file``).

    A name that is not UTF-8 (a GBK name unpacked on Linux from an archive made on Windows) has each byte
    that is not written ``\\xNN``: a name every output can hold and print, and different for different
    files; :func:`land` fails such a file (:data:`NON_UTF8_NAME`), asking for a new name."""
    return os.fsencode(path.relative_to(root).as_posix()).decode("utf-8", "backslashreplace")


def _cannot_load(file: LandingFile, landing_dir: Path) -> str | None:
    """Why ``file`` fails before any loader opens it, whatever its kind: a name that is not UTF-8 (with the
    name read as GB18030 when that reads), or no bytes at all; None otherwise."""
    try:
        os.fsencode(file.path.relative_to(landing_dir)).decode("utf-8")
    except UnicodeDecodeError:
        error = f"{file.source_file}: {NON_UTF8_NAME}"
        with contextlib.suppress(UnicodeDecodeError):
            error += f" (read as GB18030, its name is {os.fsencode(file.path.name).decode('gb18030')})"
        return error
    if file.path.stat().st_size == 0:
        return f"{file.source_file}: {EMPTY_FILE}"
    return None


def discover(landing_dir: Path, kind: str, extensions: Iterable[str], *, required: bool = False) -> list[Path]:
    """Every file of ``landing_dir/kind/**`` with one of ``extensions`` (``.csv``, any case), by path;
    hidden files and folders and Office lock files left out."""
    folder = kind_folder(landing_dir, kind, required=required)
    if folder is None:
        return []
    wanted = {e.lower() for e in extensions}
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in wanted
        and not any(part.startswith(SKIPPED_PREFIXES) for part in path.relative_to(folder).parts)
        and path.is_file()
    )


#: Digests already computed in this process, by the file's identity and change times (see sha256_of).
_DIGESTS: OrderedDict[tuple[str, int, int, int, int, int], str] = OrderedDict()
_DIGESTS_KEPT = 100_000
_DIGESTS_LOCK = threading.Lock()  # sensors may evaluate in threads
#: A file changed less than this long before it was hashed may change again within the same timestamp.
_SETTLED_NS = 2_000_000_000
#: Where the digests of large files are kept for the next processes, in WAREHOUSE_DIR (see sha256_of).
STORED_DIGESTS = ".file-digests.json"
#: Files of at least this size have their digest kept there; a smaller file is read again sooner than the
#: record is rewritten.
STORED_MIN_BYTES = 1 << 20
_STORE_LOCK = threading.Lock()


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (files may be larger than memory).

    A run asks for the same file's digest several times (the inputs' fingerprint, the partitions that
    changed, each ingest run's scan): within one process a file is read once while it stays the same
    file, with the same size, modification time and inode change time. The change time is the kernel's
    (no program can set it back, unlike the modification time) and moves on every write; a file written
    in the last two seconds is not remembered, so a write in the same clock tick cannot go unseen.

    The digest of a file of at least :data:`STORED_MIN_BYTES` is also kept, under the same identity, in
    ``WAREHOUSE_DIR/.file-digests.json`` (when that folder exists), so that the next runs do not read the
    landing folder's unchanged gigabytes again (as git keeps the stat data of its index): a run with
    nothing new costs what changed, not what the folder holds. Removing that file only costs a reading.
    """
    before = os.stat(path)
    key = (os.fspath(path), before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns, before.st_ctime_ns)
    with _DIGESTS_LOCK:
        if (digest := _DIGESTS.get(key)) is not None:
            _DIGESTS.move_to_end(key)
            return digest
    store = _digest_store() if before.st_size >= STORED_MIN_BYTES else None
    if store is not None and (digest := _read_store(store).get(key)) is not None:
        _remember(key, digest)
        return digest
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    after = os.stat(path)
    unchanged = (after.st_size, after.st_mtime_ns, after.st_ctime_ns) == key[3:]
    if unchanged and time.time_ns() - max(after.st_mtime_ns, after.st_ctime_ns) > _SETTLED_NS:
        _remember(key, digest)
        if store is not None:
            _keep_in_store(store, key, digest)
    return digest


def _remember(key: tuple[str, int, int, int, int, int], digest: str) -> None:
    with _DIGESTS_LOCK:
        _DIGESTS[key] = digest
        if len(_DIGESTS) > _DIGESTS_KEPT:
            _DIGESTS.popitem(last=False)


def _digest_store() -> Path | None:
    """The file that keeps large files' digests across processes; None without a warehouse folder."""
    folder = settings.warehouse_dir()
    return folder / STORED_DIGESTS if folder.is_dir() else None


def _read_store(store: Path) -> dict[tuple[str, int, int, int, int, int], str]:
    """The digests kept in ``store`` by file identity; none when it is missing or unreadable."""
    try:
        entries = json.loads(store.read_text(encoding="utf-8"))["digests"]
        return {(str(e[0]), *map(int, e[1:6])): str(e[6]) for e in entries}  # type: ignore[misc]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}


def _keep_in_store(store: Path, key: tuple[str, int, int, int, int, int], digest: str) -> None:
    """Add ``key``'s digest to ``store``, dropping the entries of files no longer there, and replace the
    file atomically (a reader sees the old record or the new one). A record that cannot be written is
    left as it is: it is a cache."""
    with _STORE_LOCK:
        kept = {k: d for k, d in _read_store(store).items() if k[0] != key[0] and os.path.exists(k[0])}
        kept[key] = digest
        try:
            replace_text(store, json.dumps({"digests": [[*k, d] for k, d in kept.items()]}))
        except OSError as error:
            logger.debug("%s not written: %s", store, error)


def scan(
    landing_dir: Path,
    kind: str,
    extensions: Iterable[str],
    *,
    required: bool = False,
    sidecar: Callable[[Path], Path] | None = None,
) -> list[LandingFile]:
    """:func:`discover` with each file's sha256 (and its sidecar's, when ``sidecar`` names one that exists)."""
    files = []
    for path in discover(landing_dir, kind, extensions, required=required):
        sidecar_file = sidecar(path) if sidecar is not None else None
        files.append(
            LandingFile(
                path=path,
                source_file=landing_name(path, landing_dir),
                sha256=sha256_of(path),
                sidecar_sha256=sha256_of(sidecar_file) if sidecar_file is not None and sidecar_file.is_file() else None,
            )
        )
    return files


def pending(con: duckdb.DuckDBPyConnection, landing_dir: Path, kind: LandingKind) -> set[str]:
    """The files of ``kind`` (paths relative to LANDING_DIR) whose state in the folder differs from the
    warehouse's: new or changed, removed while loaded, back after a withdrawal, or copies of a loaded file."""
    return plan(con, kind.name, kind.scan(landing_dir)).paths


def plan(
    con: duckdb.DuckDBPyConnection, kind: str, files: list[LandingFile], only: Collection[str] | None = None
) -> Sync:
    """What changed in the folder of ``kind`` since the last run, without recording anything: the events
    :func:`sync` would record and the contents still to load.

    ``only`` (paths relative to LANDING_DIR: the partitions of a Dagster run) limits what is loaded,
    restored or taken as a duplicate to those files; withdrawals are always of the whole folder, so a
    run of any file's partition withdraws every load whose content is gone (nothing stale outlives a run).
    """
    loads: dict[tuple[str, str | None], _Load] = {}
    for load in _loads(con, kind):  # current first, then the latest: the load that stands for a content
        loads.setdefault(load.content, load)
    duplicates = {
        (source_file, (sha256, sidecar_sha256))
        for source_file, sha256, sidecar_sha256 in con.execute(
            "select source_file, sha256, sidecar_sha256 from audit.load_log where status = 'duplicate' and kind = ?", [kind]
        ).fetchall()
    }
    present = {file.content for file in files}
    paths = {file.source_file for file in files}
    result = Sync()
    for load in loads.values():
        if load.is_current and load.content not in present:
            note = REPLACED if load.source_file in paths else REMOVED
            result.events.append(_event(kind, load, "withdrawn", note))
    new: dict[tuple[str, str | None], list[LandingFile]] = {}
    restored: set[tuple[str, str | None]] = set()
    for file in files:
        if only is not None and file.source_file not in only:
            continue
        load = loads.get(file.content)
        if load is None:
            new.setdefault(file.content, []).append(file)
            continue
        result.files_skipped += 1
        if not load.is_current and load.content not in restored:
            restored.add(load.content)
            where = "" if file.source_file == load.source_file else f" as {file.source_file}"
            result.events.append(_event(kind, load, "restored", f"back in the landing folder{where}"))
        if file.source_file != load.source_file and (file.source_file, file.content) not in duplicates:
            result.events.append(duplicate(kind, file, load.source_file, load.load_id))
    result.to_load = list(new.values())
    return result


def sync(
    con: duckdb.DuckDBPyConnection, kind: str, files: list[LandingFile], only: Collection[str] | None = None
) -> Sync:
    """:func:`plan`, with its events recorded in ``audit.load_log`` (withdrawn, restored, duplicate rows,
    in one transaction)."""
    result = plan(con, kind, files, only)
    if result.events:
        con.execute("begin transaction")
        for event in result.events:
            record_attempt(con, event)
        con.execute("commit")
    return result


def land(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    kind: LandingKind,
    load: Callable[[LandingFile, LoadAttempt], None],
    only: Collection[str] | None = None,
) -> LoadSummary:
    """Scan and :func:`sync` the folder of ``kind``, then load each new content with ``load(file, attempt)``
    (which records the attempt, loaded or failed). Of several paths with the same new content the first
    that loads is the original and the others are recorded as its duplicates. ``only``: see :func:`plan`."""
    changes = sync(con, kind.name, kind.scan(landing_dir), only)
    summary = LoadSummary(files_skipped=changes.files_skipped, events=list(changes.events))
    for copies in changes.to_load:
        original: LoadAttempt | None = None
        for file in copies:
            if original is not None:
                event = duplicate(kind.name, file, original.source_file, original.load_id)
                record_attempt(con, event)
                summary.events.append(event)
                summary.files_skipped += 1
                continue
            attempt = LoadAttempt(
                source_file=file.source_file, sha256=file.sha256, sidecar_sha256=file.sidecar_sha256, kind=kind.name
            )
            if (problem := _cannot_load(file, landing_dir)) is None:
                load(file, attempt)
            else:
                record_attempt(con, attempt.fail(problem))
            summary.attempts.append(attempt)
            if attempt.status == "loaded":
                original = attempt
    return summary


def duplicate(kind: str, file: LandingFile, original_file: str, original_load_id: str) -> LoadAttempt:
    """The ``duplicate`` row of a file whose content was loaded from ``original_file``."""
    return LoadAttempt(
        source_file=file.source_file,
        sha256=file.sha256,
        sidecar_sha256=file.sidecar_sha256,
        kind=kind,
        status="duplicate",
        note=f"same content as {original_file} (load {original_load_id}); nothing loaded",
    )


def _event(kind: str, load: _Load, status: str, note: str) -> LoadAttempt:
    """A ``withdrawn`` or ``restored`` row of an earlier load: it carries that load's id and file."""
    return LoadAttempt(
        source_file=load.source_file,
        sha256=load.sha256,
        sidecar_sha256=load.sidecar_sha256,
        format=load.format,
        release_date=load.release_date,
        load_id=load.load_id,
        kind=kind,
        status=status,
        note=note,
    )


def _loads(con: duckdb.DuckDBPyConnection, kind: str) -> list[_Load]:
    """Every successful load of ``kind``, current ones first, then the latest first."""
    rows = con.execute(
        """select l.load_id, l.source_file, l.sha256, l.sidecar_sha256, l.format, l.release_date,
                  l.load_id in (select load_id from audit.current_loads) as is_current
           from audit.load_log l
           where l.status = 'loaded' and l.kind = ?
           order by is_current desc, l.loaded_at desc, l.load_id""",
        [kind],
    ).fetchall()
    return [_Load(*row) for row in rows]
