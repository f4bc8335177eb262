"""What the mapping steps share: which loads are current, one transaction for a rebuild, a summary.

Raw tables keep what the files said; the mapping steps (``ingestion/releases/mapping.py``,
``ingestion/enterprise/mapping.py``) run on every build, read the raw records and the current seeds, and
rebuild the ``mapped`` tables and the ``mapping`` rows of ``audit.quarantine``: an alias or a code added
to a seed applies to every file loaded before, without reloading it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb

@contextmanager
def rebuild(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction for a whole rebuild: readers see the previous mapping or the new one, never half."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


@dataclass
class MappingSummary:
    """What one mapping step produced, for asset metadata and logs (quarantine: current loads only)."""

    rows_mapped: int = 0
    rows_quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # quarantined rows per reason

    def as_metadata(self) -> dict[str, Any]:
        return {
            "rows_mapped": self.rows_mapped,
            "rows_quarantined": self.rows_quarantined,
            "quarantined_by_reason": dict(self.reasons.most_common()),
        }
