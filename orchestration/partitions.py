"""One Dagster partition per landed file: the raw assets are partitioned the way the data arrives.

Each kind of input (``releases``, ``enterprise``, ``registers``: a folder of LANDING_DIR) has a dynamic
partitions definition whose keys are the files' paths relative to LANDING_DIR, exactly the
``source_file`` of ``audit.load_log`` (``releases/nbs/2024_gdp.csv``), so a partition, its runs and its
rows in the audit tables name the same thing. A release's ``.meta.yml`` sidecar belongs to the partition
of its file. A file that is removed keeps its partition: the partition's last materialization is the
one that withdrew it, and its history stays readable in the UI.

Materializing a partition brings that file's state in the warehouse up to date with the folder: load a
new or changed content, record a copy as a duplicate, restore a file that came back. Withdrawals are of
the whole folder in every run (:func:`ingestion.landing.plan`), so removing a file is followed however the
run was started. The raw assets materialize ranges of partitions in one run
(``BackfillPolicy.single_run``): a run of ten new files is one run, and files in the range that did not
change cost a hash and nothing else.

Two things launch partition runs: ``make run`` (:func:`pending_partitions`, the folder compared with the
warehouse's current loads) and, under ``make dev``, the landing sensor (its cursor compared with the
folder). Everything downstream of the raw assets follows by declarative automation
(:data:`orchestration.automation.ON_CHANGE`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.enterprise.loader import LANDING as ENTERPRISE
from ingestion.landing import SKIPPED_PREFIXES, LandingKind, pending
from ingestion.registers.loader import LANDING as REGISTERS
from ingestion.releases.loader import LANDING as RELEASES
from ingestion.releases.sidecar import SIDECAR_SUFFIX

#: The kinds of input, each with the partitions of its raw asset (named ``<kind>_files``).
LANDING_KINDS: dict[str, LandingKind] = {kind.name: kind for kind in (RELEASES, ENTERPRISE, REGISTERS)}
PARTITIONS: dict[str, dg.DynamicPartitionsDefinition] = {
    name: dg.DynamicPartitionsDefinition(name=f"{name}_files") for name in LANDING_KINDS
}
#: The run tags that give a run a range of partitions (Dagster's own names).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_of(landing_path: str) -> tuple[str, str] | None:
    """``(kind, partition key)`` of a path relative to LANDING_DIR: the file's own partition, or its data
    file's for a release sidecar; None for a path no loader reads (another extension, a hidden file or
    folder, an Office lock file: :func:`ingestion.landing.discover`'s rule)."""
    kind_name, _, rest = landing_path.partition("/")
    kind = LANDING_KINDS.get(kind_name)
    if kind is None or not rest or any(part.startswith(SKIPPED_PREFIXES) for part in rest.split("/")):
        return None
    key = landing_path.removesuffix(SIDECAR_SUFFIX) if kind.sidecar is not None else landing_path
    if Path(key).suffix.lower() not in {e.lower() for e in kind.extensions()}:
        return None
    return kind_name, key


#: Files of the landing folder that are documentation, not data: not said to be ignored.
_DOCUMENTATION_SUFFIXES = frozenset({".md"})


def why_not_read(landing_path: str) -> str | None:
    """Why no loader reads a visible file of the landing folder (a path relative to LANDING_DIR), for the
    run to say so; None when a loader reads it, and for hidden files and documentation (``README.md``)."""
    if partition_of(landing_path) is not None:
        return None
    parts = landing_path.split("/")
    suffix = Path(landing_path).suffix.lower()
    if any(part.startswith(SKIPPED_PREFIXES) for part in parts) or suffix in _DOCUMENTATION_SUFFIXES:
        return None
    kind = LANDING_KINDS.get(parts[0]) if len(parts) > 1 else None
    if kind is None:
        return f"not in a folder of {', '.join(f'{name}/' for name in LANDING_KINDS)}"
    return f"{kind.name} files are {', '.join(sorted(kind.extensions()))}"


def partitions_of(landing_paths: Iterable[str]) -> dict[str, set[str]]:
    """The partitions, by kind, that the given landing paths belong to."""
    keys: dict[str, set[str]] = {}
    for path in landing_paths:
        found = partition_of(path)
        if found is not None:
            keys.setdefault(found[0], set()).add(found[1])
    return keys


def changed_paths(before: Mapping[str, str], now: Mapping[str, str]) -> set[str]:
    """Paths added, changed or removed between two ``path -> content stamp`` maps."""
    return {path for path in before.keys() | now.keys() if before.get(path) != now.get(path)}


def pending_partitions(warehouse_db: Path, landing_dir: Path) -> dict[str, set[str]]:
    """The partitions, by kind, whose file's state in the folder differs from the warehouse's current loads
    (all files of every kind when the warehouse has no load log yet). Read-only: call it under the writer lock."""
    if warehouse_db.exists():
        with duckdb.connect(str(warehouse_db), read_only=True) as con:
            has_log = con.execute(
                "select count(*) from duckdb_tables() where schema_name = 'audit' and table_name = 'load_log'"
            ).fetchone()[0]
            if has_log:
                return {name: pending(con, landing_dir, kind) for name, kind in LANDING_KINDS.items()}
    return {name: {f.source_file for f in kind.scan(landing_dir)} for name, kind in LANDING_KINDS.items()}


def add_partitions(instance: dg.DagsterInstance, kind: str, keys: Collection[str]) -> None:
    """Register the partitions that the instance does not know yet (in sorted order)."""
    known = set(instance.get_dynamic_partitions(PARTITIONS[kind].name))
    new = sorted(set(keys) - known)
    if new:
        instance.add_dynamic_partitions(PARTITIONS[kind].name, new)


def range_tags(known: Sequence[str], keys: Collection[str]) -> dict[str, str]:
    """The tags of one run over the smallest range of ``known`` (the partitions in their order) that holds
    every key of ``keys``; the files in between that did not change cost a hash and nothing else."""
    positions = sorted(known.index(key) for key in keys)
    return {RANGE_START_TAG: known[positions[0]], RANGE_END_TAG: known[positions[-1]]}
