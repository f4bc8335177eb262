"""Writing a file so that a reader sees the old content or the new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path


def replace_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path`` (named for this process and thread), then rename it
    over ``path``: atomic on one file system. On an error the temporary file is removed and the error raised."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
