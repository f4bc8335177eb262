"""The dbt command the pipeline runs (``.venv/bin/warehouse-dbt``): dbt's own command line, less two costs
that every dbt command of a run pays for nothing this project uses.

- **The manifest written once.** ``dbt build`` (and ``run``, ``test``, ``seed``) writes ``manifest.json``
  right after parsing the project, and again, with the compiled SQL, when the command ends; nothing reads the
  first one (Dagster has the manifest of `make manifest`; the run reads the last one). Here it is written only
  at the end: 0.4-0.5 s less per `dbt build` on the 2-core machine. A command stopped before its end
  (interrupted, or dbt crashed) leaves no manifest, as it leaves no ``run_results.json``; a failed model or
  test does not stop it.
- **No teardown of dbt's objects at exit.** After a `dbt build`, the interpreter spends 0.7-0.8 s freeing
  dbt's objects (parsed project, results) one by one. Here, when dbt returns, the exit handlers run as at
  any exit (dbt-duckdb closes the database, which checkpoints it; multiprocessing releases its semaphores;
  logging flushes), then the process ends without that teardown.

Both rely on the pinned dbt-core: ``tests/test_dbt_command.py`` fails if an upgrade changes what they use.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

#: Commands whose task writes the manifest when it ends (dbt's ``GraphRunnableTask.run``).
WRITE_MANIFEST_AT_END = frozenset({"build", "run", "test", "seed"})


@contextmanager
def manifest_written_at_end_only() -> Iterator[None]:
    """While in this block, dbt skips the write of ``manifest.json`` that follows parsing (for a command that
    writes it when it ends: :data:`WRITE_MANIFEST_AT_END`)."""
    from dbt.cli import requires

    parse_manifest = requires.parse_manifest

    def parse_without_writing(runtime_config: Any, write_perf_info: bool, write: bool, *args: Any, **kwargs: Any) -> Any:
        return parse_manifest(runtime_config, write_perf_info, False, *args, **kwargs)

    requires.parse_manifest = parse_without_writing
    try:
        yield
    finally:
        requires.parse_manifest = parse_manifest


def main(argv: Sequence[str] | None = None) -> None:
    """Run dbt with ``argv`` (``sys.argv[1:]`` by default) and end the process with dbt's exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from dbt.cli.main import cli

    command = next((arg for arg in args if arg in cli.commands), None)  # options before it may take values
    written_once = manifest_written_at_end_only() if command in WRITE_MANIFEST_AT_END else nullcontext()
    try:
        with written_once:
            cli.main(args=args, prog_name="dbt")  # click's standalone mode: ends with SystemExit
        code: Any = 0
    except SystemExit as end:
        code = end.code
    atexit._run_exitfuncs()  # noqa: SLF001 - what a normal exit runs, before skipping the interpreter's teardown
    if code is not None and not isinstance(code, int):  # sys.exit("message"), as a normal exit would print it
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
