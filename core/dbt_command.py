"""The dbt command the pipeline runs (``.venv/bin/warehouse-dbt``): dbt's own command line, less three costs
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
- **No message built for an event that nobody writes.** dbt fires an event for each SQL statement,
  connection and cache action (2,500 in the `dbt build` of a new release, 204 of them at the info level
  dagster-dbt reads). It builds every event's message (a protobuf ``ParseDict``), and every logger formats
  the message as a JSON line (``MessageToDict``, ``json.dumps``, secrets scrubbed) before Python's logging
  drops the lines below the logger's level: all of it for the 2,300 debug events too. Here an event below
  the warning level that no logger's level lets through is dropped before anything is built
  (:func:`events_built_only_when_written`): about 1 s of CPU less per `dbt build` of a new release. With
  ``--debug``, ``--log-level debug`` or ``DBT_LOG_LEVEL_FILE=debug``, every event is built and written as
  before.

All three rely on the pinned dbt-core and dbt-common: ``tests/test_dbt_command.py`` fails if an upgrade
changes what they use.

**dbt started in advance.** Before its first node, a dbt process spends about 2 s importing dbt (more on a
busy machine), while `make run`'s process spends several seconds starting up on one core. `make run` starts
one `warehouse-dbt` early (:func:`started_in_advance`) that imports dbt and then waits, on a Unix socket
in a private folder, for one command. The first `warehouse-dbt` the pipeline runs afterwards (the `dbt
build` that dagster-dbt starts) hands it its arguments, environment, working directory and standard streams
(:func:`run_in_started`), forwards SIGINT and SIGTERM to it, and ends with its exit code: what dagster-dbt
reads and waits for is unchanged. Every other `warehouse-dbt` (none started, or already used, or it ended
before taking the command) runs dbt itself. The process started in advance ends with the process that
started it (``PR_SET_PDEATHSIG`` on Linux; it also checks its parent while it waits), which records it as
a child in the warehouse lock, so a run killed with SIGKILL leaves nothing behind for long.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

#: The dbt command of this interpreter's environment (``.venv/bin/warehouse-dbt``, a ``[project.scripts]``
#: entry of pyproject.toml); `.venv/bin/python -m ...` need not have it on PATH.
EXECUTABLE = Path(sys.executable).parent / "warehouse-dbt"

#: Commands whose task writes the manifest when it ends (dbt's ``GraphRunnableTask.run``).
WRITE_MANIFEST_AT_END = frozenset({"build", "run", "test", "seed"})

#: Names the socket of the dbt process started in advance, for the `warehouse-dbt` commands started with it.
STARTED_VARIABLE = "WAREHOUSE_DBT_STARTED"
#: The first argument of a `warehouse-dbt` started in advance (not a dbt option); then the socket's path
#: and the pid of the process that started it.
WAIT_OPTION = "--wait-for-command"
#: What the process started in advance imports while it waits: dbt's command line and what a `dbt build`
#: on this project imports after it (the DuckDB adapter, the tasks, the compiler).
MODULES_IMPORTED_IN_ADVANCE = (
    "dbt.cli.main", "dbt.adapters.duckdb", "dbt.task.build", "dbt.compilation", "dbt.parser.sql",
    "dbt.parser.schema_yaml_readers", "dbt_common.clients.agate_helper", "multiprocessing.pool",
    "multiprocessing.dummy",
)
#: How long a dbt process this process started gets to end after SIGTERM, before it is killed.
STOP_SECONDS = 5.0
#: How often the waiting process checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 1.0
_LENGTH = struct.Struct("!Q")
_INT = struct.Struct("!i")
_PR_SET_PDEATHSIG = 1


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


@contextmanager
def events_built_only_when_written() -> Iterator[None]:
    """While in this block, a dbt event below the warning level that no logger writes at its level is
    dropped when fired, before its message is built; and an event's own message (its protobuf) is built
    when first read, not when the event is created: a dropped event is never built (see the module).

    An event is written when a logger's level lets it through (Python's logging drops the others after
    dbt has formatted them). Events are still fired when a callback other than dbt's own (which only reads
    warnings) listens, and ``PrintEvent`` (written at the error level whatever its own) always is."""
    from dbt.tracking import track_behavior_change_warn
    from dbt_common.events import base_types, logger
    from dbt_common.events.event_manager import EventManager

    fire_event, build = EventManager.fire_event, base_types.BaseEvent.__init__
    enabled_from = logger._log_level_map  # noqa: SLF001 - the Python level each dbt level is written at
    written_anyway = enabled_from[base_types.EventLevel.WARN]  # warnings may be turned into errors

    def fire_if_written(self: EventManager, e: Any, level: Any = None, node: Any = None,
                        force_warn_or_error_handling: bool = False) -> None:
        at = enabled_from[level or e.level_tag()]
        if (
            at < written_anyway
            and not force_warn_or_error_handling
            and type(e).__name__ != "PrintEvent"
            and all(callback is track_behavior_change_warn for callback in self.callbacks)
            and all(at < enabled_from[written.level] for written in self.loggers)
        ):
            return
        fire_event(self, e, level=level, node=node, force_warn_or_error_handling=force_warn_or_error_handling)

    def keep_arguments(self: Any, *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "_arguments", (args, kwargs))

    def built_message(self: Any) -> Any:
        if "pb_msg" not in self.__dict__:
            args, kwargs = self.__dict__["_arguments"]
            build(self, *args, **kwargs)  # sets it, through the setter below
        return self.__dict__["pb_msg"]

    def set_message(self: Any, message: Any) -> None:
        self.__dict__["pb_msg"] = message

    EventManager.fire_event = fire_if_written
    base_types.BaseEvent.__init__ = keep_arguments
    base_types.BaseEvent.pb_msg = property(built_message, set_message)
    try:
        yield
    finally:
        EventManager.fire_event = fire_event
        base_types.BaseEvent.__init__ = build
        del base_types.BaseEvent.pb_msg


def run_dbt(args: Sequence[str]) -> int:
    """Run dbt's command line with ``args`` in this process, then its exit handlers; dbt's exit code."""
    from dbt.cli.main import cli

    command = next((arg for arg in args if arg in cli.commands), None)  # options before it may take values
    written_once = manifest_written_at_end_only() if command in WRITE_MANIFEST_AT_END else nullcontext()
    with events_built_only_when_written():
        try:
            with written_once:
                cli.main(args=list(args), prog_name="dbt")  # click's standalone mode: ends with SystemExit
            code: Any = 0
        except SystemExit as end:
            code = end.code
        atexit._run_exitfuncs()  # noqa: SLF001 - what a normal exit runs, before skipping the interpreter's teardown
    if code is not None and not isinstance(code, int):  # sys.exit("message"), as a normal exit would print it
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    return code or 0


def main(argv: Sequence[str] | None = None) -> None:
    """Run dbt with ``argv`` (``sys.argv[1:]`` by default), in the process started in advance when there is
    one to take it, and end the process with dbt's exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [WAIT_OPTION]:
        os._exit(wait_for_command(args[1], parent=int(args[2])))
    started = os.environ.get(STARTED_VARIABLE)
    code = run_in_started(started, args) if started else None
    os._exit(run_dbt(args) if code is None else code)


# -- the process started in advance -----------------------------------------------------------------------


@contextmanager
def started_in_advance() -> Iterator[subprocess.Popen]:
    """Start a `warehouse-dbt` that imports dbt and waits for the first `warehouse-dbt` command this
    process's children start in the block (they find it through :data:`STARTED_VARIABLE`, set in this
    process's environment meanwhile). At the end of the block it is stopped if it is still there, and its
    folder removed. Call it from the main thread: the process ends with the thread that started it."""
    folder = tempfile.mkdtemp(prefix="warehouse-dbt-")  # mode 0700: only this user can hand it a command
    path = os.path.join(folder, "socket")
    process = subprocess.Popen(
        [str(EXECUTABLE), WAIT_OPTION, path, str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # as dagster-dbt runs dbt: its events as they come
        # out of the terminal's process group: a Ctrl-C reaches dbt once, through the command handed over
        start_new_session=True,
    )
    previous = os.environ.get(STARTED_VARIABLE)
    os.environ[STARTED_VARIABLE] = path
    try:
        yield process
    finally:
        if previous is None:
            os.environ.pop(STARTED_VARIABLE, None)
        else:
            os.environ[STARTED_VARIABLE] = previous
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def stop(process: subprocess.Popen) -> None:
    """Stop a dbt process this process started (dbt's command, or the one started in advance, which ends at
    once while it waits), if it is still there: SIGTERM, then SIGKILL after :data:`STOP_SECONDS`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_command(path: str, parent: int) -> int:
    """The process started in advance: listen on ``path``, import dbt, then run the first command handed
    over (:func:`run_in_started`), send its exit code back and return it. Ends without running anything
    (0) when the process that started it ends first, or on SIGTERM or SIGINT while it waits."""
    _end_with_parent(parent)

    def stop_waiting(signum: int, frame: Any) -> None:  # nothing ran here: no exit handler to run either
        _remove_socket(path)
        os._exit(0)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_waiting)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(1)  # from now on a command waits for the imports instead of running dbt itself
        for module in MODULES_IMPORTED_IN_ADVANCE:
            importlib.import_module(module)
        listener.settimeout(PARENT_CHECK_SECONDS)
        while True:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                if os.getppid() != parent:
                    return 0
                continue
            connection.settimeout(None)
            request = _receive_command(connection)
            if request is not None:
                break
            connection.close()
    finally:
        listener.close()
        _remove_socket(path)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args, streams = request
    try:
        connection.sendall(_INT.pack(os.getpid()))  # taken: the command now runs here
    except OSError:  # the command's process is gone: nobody waits for dbt
        return 0
    for fd, stream in enumerate(streams):
        os.dup2(stream, fd)
        os.close(stream)
    code = run_dbt(args)
    with suppress(OSError):
        connection.sendall(_INT.pack(code))
    return code


def _remove_socket(path: str) -> None:
    """Remove the socket and its folder (the block that started this process removes them too)."""
    with suppress(OSError):
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def _receive_command(connection: socket.socket) -> tuple[list[str], list[int]] | None:
    """The command a `warehouse-dbt` hands over: its arguments (after taking on its environment and working
    directory) and its standard streams; None for anything else (the streams received are closed)."""
    streams: list[int] = []
    try:
        header, streams, _, _ = socket.recv_fds(connection, _LENGTH.size, 3)
        if len(header) != _LENGTH.size or len(streams) != 3 or not _same_user(connection):
            raise ValueError("not a command")
        body = _receive_exactly(connection, _LENGTH.unpack(header)[0])
        if body is None:
            raise ValueError("the command's connection closed")
        request = json.loads(body)
        args, env, cwd = request["args"], request["env"], request["cwd"]
        os.chdir(cwd)
    except (OSError, ValueError, TypeError, KeyError):
        for stream in streams:
            os.close(stream)
        return None
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [str(EXECUTABLE), *args]
    return list(args), list(streams)


def _same_user(connection: socket.socket) -> bool:
    """Whether the process at the other end runs as this user (where the system tells: Linux)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    _, uid, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid == os.getuid()


def _end_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM to this process when ``parent`` ends (Linux); end now if it has."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        raise SystemExit(0)


# -- a command handed to it -------------------------------------------------------------------------------


def run_in_started(path: str, args: Sequence[str]) -> int | None:
    """Hand ``args``, with this process's environment, working directory and standard streams, to the dbt
    process started in advance listening on ``path``, forward SIGINT and SIGTERM to it, and return dbt's exit
    code. None when it did not take the command (none listens there any more, or it ended before taking it):
    the caller then runs dbt itself."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
        env = {name: value for name, value in os.environ.items() if name != STARTED_VARIABLE}
        body = json.dumps({"args": list(args), "env": env, "cwd": os.getcwd()}).encode()
        socket.send_fds(connection, [_LENGTH.pack(len(body))], [0, 1, 2])
        connection.sendall(body)
        taken = _receive_exactly(connection, _INT.size)
    except OSError:
        taken = None
    if taken is None:
        connection.close()
        return None
    pid = _INT.unpack(taken)[0]

    def forward(signum: int, frame: Any) -> None:
        with suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    try:
        ended = _receive_exactly(connection, _INT.size)
    except OSError:
        ended = None
    if ended is None:
        print(f"warehouse-dbt: the dbt process {pid} ended before dbt did (stopped by a signal?)", file=sys.stderr)
        return 1
    return _INT.unpack(ended)[0]


def _receive_exactly(connection: socket.socket, size: int) -> bytes | None:
    """``size`` bytes from ``connection``; None if it closes before."""
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


if __name__ == "__main__":
    main()
