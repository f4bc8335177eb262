"""Writing a file so that a reader sees the old content or the new one, never half of it."""

from __future__ import annotations

import contextlib
import glob
import os
import threading
import time
from pathlib import Path

#: A temporary file of :func:`replace_text` older than this was left by a writer killed before its rename
#: (a write takes milliseconds); the next write of the same file removes it.
ORPHAN_SECONDS = 60.0


def replace_text(path: Path, text: str, *, durable: bool = False) -> None:
    """Write ``text`` to a temporary file next to ``path`` (named for this process and thread), then rename it
    over ``path``: atomic on one file system. On an error the temporary file is removed and the error raised.

    ``durable``: the file and the rename are flushed to the disk before returning (a power cut leaves the old
    content or the new one). Temporary files of ``path`` that killed writers left behind are removed first."""
    _remove_orphans(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
        fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename or a removal in it) to the disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_orphans(path: Path) -> None:
    """Remove the temporary files of ``path`` older than :data:`ORPHAN_SECONDS` (a SIGKILL or a power cut
    between writing one and renaming it); those of a write in progress, in any process, are younger."""
    too_old = time.time() - ORPHAN_SECONDS
    for tmp in path.parent.glob(f"{glob.escape(path.name)}.tmp-*"):
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to remove: the write goes on
            if tmp.stat().st_mtime < too_old:
                tmp.unlink()
