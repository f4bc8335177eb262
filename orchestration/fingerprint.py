"""What a publication was built from, and whether a run has anything to do.

The warehouse is a function of the files in LANDING_DIR, the dbt seeds, the dbt project and the code
(docs/operating.md), and ``marts.target_tracking`` of the reporting date as well (the current date unless
the dbt var ``reporting_date`` pins it). :func:`compute` takes a *fingerprint* of all of them:

- ``landing``: the sha256 of every file under LANDING_DIR, by path (the content identity ingestion records
  in ``audit.load_log``; release sidecars are files like any other; hidden files and Office lock files are
  left out, as the loaders leave them out);
- ``seeds``: the sha256 of every file of ``dbt_project/seeds/``;
- ``dbt``: the sha256 of every other file of the dbt project (models, macros, tests, ``dbt_project.yml``,
  ``profiles.yml``), ``target/``, ``logs/`` and ``dbt_packages/`` left out;
- ``code``: the sha256 of every file of the repository's Python packages (``tests`` and ``bench`` left
  out), ``pyproject.toml`` and ``requirements.lock``;
- ``runtime``: the versions of Python and of the packages that build the warehouse, and the reporting date.

Its ``digest`` goes into ``meta.publications.inputs_sha256`` with the publication (``serving.publish``).

When a `make run` ends successfully (everything built, checked and published) it records its fingerprint
in ``WAREHOUSE_DIR/last_successful_run.json`` (:func:`record_successful_run`). Every other run that may
change the warehouse forgets that record before it does anything (:func:`forget_successful_run`: `make
run` itself, and every Dagster run but ``quality_job``, from the warehouse resource), so a failed or killed
run always leaves none behind. The next `make run` builds nothing when :func:`decide` finds it has nothing
to do: the record is there and has the fingerprint of now, the serving database's latest publication is
that run's, with the same fingerprint, and the exports and reports of that publication are there; it was
not forced (``WAREHOUSE_FORCE_REBUILD=1``, ``make rebuild``) and the previous run was not interrupted.
Otherwise it rebuilds everything, as before, and says why.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from core import settings
from core.files import fsync_directory, replace_text
from ingestion.landing import SKIPPED_PREFIXES, LandingError, kind_folder, landing_name, sha256_of
from orchestration.partitions import partition_of, why_not_read

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Set to 1 (or true, yes) to rebuild and publish even when nothing changed (`make rebuild`).
FORCE_REBUILD_VARIABLE = "WAREHOUSE_FORCE_REBUILD"
#: Written into WAREHOUSE_DIR when a `make run` ends successfully; removed when any other run starts.
LAST_RUN_FILE = "last_successful_run.json"
#: The run tag that carries the fingerprint's digest to the publishing step.
INPUTS_TAG = "warehouse/inputs_sha256"
#: Jobs that neither load, build nor publish: they leave the record of the last successful run alone.
JOBS_KEEPING_THE_PUBLICATION = frozenset({"quality_job"})

#: Top-level folders with Python packages that are not part of what builds the warehouse.
_NOT_PIPELINE_CODE = frozenset({"tests", "bench"})
_CODE_FILES = ("pyproject.toml", "requirements.lock")
_DBT_NOT_SOURCES = frozenset({"target", "logs", "dbt_packages", "seeds"})
_PACKAGES = ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "dagster-dbt", "great-expectations", "pyarrow")
#: How the parts are named in messages.
PART_NAMES = {
    "landing": "landing files",
    "seeds": "dbt seeds",
    "dbt": "dbt project files",
    "code": "code files",
    "runtime": "versions and reporting date",
}


@dataclass(frozen=True)
class Fingerprint:
    """``parts``: for each part (``landing``, ``seeds``, ``dbt``, ``code``, ``runtime``), name -> sha256
    (or version, or date)."""

    parts: Mapping[str, Mapping[str, str]]

    @cached_property
    def digest(self) -> str:
        canonical = json.dumps(self.parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def count(self, part: str) -> int:
        return len(self.parts.get(part, {}))

    def changes(self, before: Fingerprint) -> list[str]:
        """What changed from ``before`` to this fingerprint, one line per part that changed."""
        lines = []
        for part in sorted(set(self.parts) | set(before.parts), key=_part_order):
            old, new = before.parts.get(part, {}), self.parts.get(part, {})
            if old == new:
                continue
            if part == "runtime":
                lines.append(
                    f"{PART_NAMES[part]}: "
                    + ", ".join(f"{name} {old.get(name, '-')} -> {new.get(name, '-')}"
                                for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name))
                )
                continue
            what = [
                (verb, sorted(names))
                for verb, names in (
                    ("added", set(new) - set(old)),
                    ("changed", {n for n in set(old) & set(new) if old[n] != new[n]}),
                    ("removed", set(old) - set(new)),
                )
                if names
            ]
            lines.append(f"{PART_NAMES.get(part, part)}: " + "; ".join(f"{verb} {_names(names)}" for verb, names in what))
        return lines


def _part_order(part: str) -> int:
    order = list(PART_NAMES)
    return order.index(part) if part in order else len(order)


def _names(names: list[str], shown: int = 5) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def _visible(relative: Path) -> bool:
    return not any(part.startswith(SKIPPED_PREFIXES) for part in relative.parts)


def _files(root: Path, *, skip_dirs: frozenset[str] = frozenset()) -> Iterator[tuple[str, Path]]:
    """``(name relative to root, path)`` of every visible file below ``root`` (not in ``skip_dirs`` at its
    top, nor ``__pycache__``)."""
    if not root.is_dir():
        return
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if (
            not _visible(relative)
            or relative.parts[0] in skip_dirs
            or "__pycache__" in relative.parts
            or path.suffix == ".pyc"
            or not path.is_file()
        ):
            continue
        yield landing_name(path, root), path


def _hash_files(root: Path, *, skip_dirs: frozenset[str] = frozenset(), prefix: str = "") -> dict[str, str]:
    """sha256 of every file of :func:`_files`, by its name relative to ``root`` after ``prefix``."""
    return {prefix + name: sha256_of(path) for name, path in _files(root, skip_dirs=skip_dirs)}


def landing_part(landing_dir: Path) -> dict[str, str]:
    """sha256 of every file the loaders read (data files and release sidecars), by path relative to
    LANDING_DIR: a file no loader reads (:func:`orchestration.partitions.why_not_read`) changes nothing."""
    kind_folder(landing_dir, "releases", required=True)  # a LandingError as the loader would raise it
    return {name: sha256_of(path) for name, path in _files(landing_dir) if partition_of(name) is not None}


def unread_landing_files(landing_dir: Path) -> dict[str, str]:
    """The visible files of LANDING_DIR that no loader reads, with why (documentation aside)."""
    found = {name: why_not_read(name) for name, _ in _files(landing_dir)}
    return {name: why for name, why in sorted(found.items()) if why is not None}


def seeds_version(repo_root: Path = REPO_ROOT) -> str:
    """A digest of the dbt seeds: the code version of the assets that read them directly (the mappings)."""
    hashes = _hash_files(repo_root / "dbt_project" / "seeds")
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def code_part(repo_root: Path) -> dict[str, str]:
    hashes = {}
    for folder in sorted(repo_root.iterdir()):
        if folder.is_dir() and (folder / "__init__.py").is_file() and folder.name not in _NOT_PIPELINE_CODE:
            if _visible(Path(folder.name)):
                hashes.update(_hash_files(folder, prefix=f"{folder.name}/"))
    for name in _CODE_FILES:
        if (repo_root / name).is_file():
            hashes[name] = sha256_of(repo_root / name)
    return hashes


def reporting_date(dbt_project_dir: Path, today: date | None = None) -> str:
    """The day ``marts.target_tracking`` is reported as of: the dbt var when pinned, else today."""
    try:
        config = yaml.safe_load((dbt_project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
        pinned = (config.get("vars") or {}).get("reporting_date")
    except (OSError, yaml.YAMLError):
        pinned = None
    return str(pinned) if pinned else (today or date.today()).isoformat()


def runtime_part(dbt_project_dir: Path, today: date | None = None) -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "reporting_date": reporting_date(dbt_project_dir, today)}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def compute(
    landing_dir: Path | None = None, repo_root: Path = REPO_ROOT, today: date | None = None
) -> Fingerprint:
    """The fingerprint of the inputs as they are now. Raises :class:`LandingError` when the landing
    folder (or its ``releases/``) is missing: there is nothing to compare, the run must fail as usual."""
    dbt_project_dir = repo_root / "dbt_project"
    return Fingerprint(
        {
            "landing": landing_part(landing_dir or settings.landing_dir()),
            "seeds": _hash_files(dbt_project_dir / "seeds"),
            "dbt": _hash_files(dbt_project_dir, skip_dirs=_DBT_NOT_SOURCES),
            "code": code_part(repo_root),
            "runtime": runtime_part(dbt_project_dir, today),
        }
    )


# ---------------------------------------------------------------- the record of the last successful run


@dataclass(frozen=True)
class LastRun:
    """The `make run` that last ended successfully, and the fingerprint of what it published."""

    run_id: str
    started_at: str  # local time, ISO 8601
    finished_at: str
    fingerprint: Fingerprint

    def to_json(self) -> str:
        return json.dumps(
            {
                "run_id": self.run_id,
                "started_at": self.started_at,
                "finished_at": self.finished_at,
                "inputs_sha256": self.fingerprint.digest,
                "inputs": self.fingerprint.parts,
            },
            indent=1,
            sort_keys=True,
            ensure_ascii=False,
        )


def last_run_path(warehouse_dir: Path | None = None) -> Path:
    return (warehouse_dir or settings.warehouse_dir()) / LAST_RUN_FILE


def read_successful_run(warehouse_dir: Path | None = None) -> LastRun | None:
    """The record of the last successful run; None when there is none or it cannot be trusted."""
    try:
        data = json.loads(last_run_path(warehouse_dir).read_text(encoding="utf-8"))
        fingerprint = Fingerprint(data["inputs"])
        if fingerprint.digest != data["inputs_sha256"]:  # edited or torn: not trusted
            return None
        return LastRun(data["run_id"], data["started_at"], data["finished_at"], fingerprint)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_successful_run(run: LastRun, warehouse_dir: Path | None = None) -> Path:
    """Write the record atomically and durably (a crash leaves the previous state or this one)."""
    path = last_run_path(warehouse_dir)
    replace_text(path, run.to_json() + "\n", durable=True)
    return path


def forget_successful_run(warehouse_dir: Path | None = None) -> None:
    """Remove the record before a run changes anything, durably: until that run ends successfully, no run
    may take the warehouse to be current."""
    path = last_run_path(warehouse_dir)
    for leftover in path.parent.glob(f"{path.name}.tmp-*"):  # of a run killed while recording
        leftover.unlink(missing_ok=True)
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_directory(path.parent)


def forced() -> bool:
    return os.environ.get(FORCE_REBUILD_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


# ---------------------------------------------------------------- the decision


@dataclass
class Decision:
    """Whether the last publication is current (nothing to do), and why not when it is not."""

    current: bool
    reason: str  # what is current, or why everything is rebuilt
    last_run: LastRun | None = None
    publication: dict[str, Any] | None = None
    changes: list[str] = field(default_factory=list)
    #: The parts (``landing``, ``seeds``, ...) that differ from the last successful run's; empty when there
    #: is no such run to compare with.
    changed_parts: frozenset[str] = frozenset()

    @property
    def landing_only(self) -> bool:
        """Only landing files changed since the last successful run: everything not downstream of them is
        as that run left it, and the run may build only what is."""
        return self.changed_parts == {"landing"}


def decide(
    fingerprint: Fingerprint,
    *,
    warehouse_dir: Path | None = None,
    force: bool = False,
    interrupted: bool = False,
) -> Decision:
    """Whether the last successful run's publication is current for ``fingerprint`` (see the module)."""
    from serving.publish import EXPORT_MANIFEST, latest_publication

    root = warehouse_dir or settings.warehouse_dir()
    last = read_successful_run(root)
    if force:
        return Decision(False, f"rebuild forced ({FORCE_REBUILD_VARIABLE}=1)", last)
    if interrupted:
        return Decision(False, "the last run was stopped before it finished", last)
    if last is None:
        return Decision(False, "no successful run is recorded since the last run that changed the warehouse")
    if last.fingerprint.digest != fingerprint.digest:
        changes = fingerprint.changes(last.fingerprint)
        parts = frozenset(
            part for part in set(fingerprint.parts) | set(last.fingerprint.parts)
            if fingerprint.parts.get(part) != last.fingerprint.parts.get(part)
        )
        return Decision(False, f"inputs changed since run {last.run_id}", last, changes=changes, changed_parts=parts)
    publication = latest_publication(root / "serving.duckdb")
    if publication is None or publication["run_id"] != last.run_id:
        found = f"run {publication['run_id']}" if publication else "none"
        return Decision(False, f"serving.duckdb is not the publication of run {last.run_id} (found: {found})", last)
    if publication.get("inputs_sha256") != fingerprint.digest:
        return Decision(False, "serving.duckdb does not record the inputs it was built from", last, publication)
    try:
        exported = json.loads((root / "exports" / EXPORT_MANIFEST).read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError, AttributeError):
        exported = None
    if exported != last.run_id:
        return Decision(False, f"the Parquet exports are not those of run {last.run_id}", last, publication)
    reports = root / "reports"
    missing = [
        name for name in ("indicators.html", "quality/index.html", "dbt-docs/index.html") if not (reports / name).is_file()
    ]
    if missing or not (root / "warehouse.duckdb").is_file():
        return Decision(False, f"missing: {', '.join(missing) or 'warehouse.duckdb'}", last, publication)
    return Decision(True, f"nothing changed since run {last.run_id}", last, publication)
