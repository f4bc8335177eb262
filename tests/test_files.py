"""core.files.replace_text: readers see the old text or the new one; a writer killed between writing its
temporary file and renaming it leaves nothing behind for long; a durable write reaches the disk."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import files
from core.files import ORPHAN_SECONDS, replace_text
from core.settings import REPO_ROOT

#: Writes argv[2] to argv[1] as replace_text does, then dies by SIGKILL where it would rename.
KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from core import files
os.replace = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
files.replace_text(Path(sys.argv[1]), sys.argv[2])
"""


def _temporary_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.tmp-"))


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_replace_text_replaces_the_whole_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "record.json"
    replace_text(path, "old")
    replace_text(path, "new, longer")
    assert path.read_text(encoding="utf-8") == "new, longer"
    assert _temporary_files(path) == []


def test_a_failed_write_keeps_the_old_text_and_removes_its_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "record.json"
    replace_text(path, "old")

    def full_disk(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        replace_text(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert _temporary_files(path) == []


@pytest.mark.parametrize("name", ["record.json", "report [2024].html"])  # glob's metacharacters are a name's
def test_the_temporary_file_of_a_killed_writer_is_removed_by_the_next_write_once_it_is_old(tmp_path, name):
    """A SIGKILL between writing and renaming leaves ``<name>.tmp-<pid>-<thread>``: the next write removes it
    once it is older than any write takes, and leaves a younger one alone (another process's write in
    progress), as it leaves the temporary files of other files."""
    path = tmp_path / name
    replace_text(path, "before")
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path), "half"], cwd=REPO_ROOT,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    (left,) = _temporary_files(path)
    assert (tmp_path / left).read_text(encoding="utf-8") == "half"
    other = tmp_path / "other.json.tmp-1-1"
    other.write_text("another file's", encoding="utf-8")
    _age(other, 10 * ORPHAN_SECONDS)

    replace_text(path, "after")  # young: perhaps a write in progress
    assert _temporary_files(path) == [left]

    _age(tmp_path / left, ORPHAN_SECONDS + 5)
    replace_text(path, "again")
    assert path.read_text(encoding="utf-8") == "again"
    assert _temporary_files(path) == []
    assert other.exists()


def test_a_durable_write_flushes_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    path = tmp_path / "last_successful_run.json"
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync " + ("folder" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"))
        real_fsync(fd)

    def replace(*args) -> None:
        calls.append("rename")
        real_replace(*args)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    replace_text(path, "quick")
    assert calls == ["rename"]
    calls.clear()
    replace_text(path, "kept", durable=True)
    assert calls == ["fsync file", "rename", "fsync folder"]
    assert path.read_text(encoding="utf-8") == "kept"
