"""The dbt command the pipeline runs (core.dbt_command): dbt's command line with the manifest written once,
no teardown of dbt's objects at exit and no event built that no logger writes, and otherwise what `dbt` does
(the events it writes, exit codes, artifacts; the database closed and checkpointed)."""

from __future__ import annotations

import inspect
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pytest

from core import dbt_command, settings
from orchestration.dbt_project import DBT_EXECUTABLE


def test_the_pipeline_runs_the_dbt_command_of_its_environment():
    assert Path(DBT_EXECUTABLE) == Path(sys.executable).parent / "warehouse-dbt"
    assert Path(DBT_EXECUTABLE).is_file(), "make install installs it (pyproject.toml, [project.scripts])"


def test_dbt_still_parses_the_manifest_through_what_the_command_replaces():
    """The pinned dbt-core parses the manifest of a command through ``dbt.cli.requires.parse_manifest``,
    whose third argument says whether to write it: an upgrade that changes either fails here."""
    from dbt.cli import requires
    from dbt.parser import manifest

    assert "parse_manifest" in requires.setup_manifest.__code__.co_names
    assert list(inspect.signature(manifest.parse_manifest).parameters)[:4] == [
        "runtime_config", "write_perf_info", "write", "write_json"
    ]


def test_the_manifest_is_not_written_after_parsing_while_in_the_block(monkeypatch):
    from dbt.cli import requires

    calls = []
    monkeypatch.setattr(requires, "parse_manifest", lambda *args, **kwargs: calls.append(args))
    original = requires.parse_manifest
    with dbt_command.manifest_written_at_end_only():
        requires.parse_manifest("config", False, True, True, [])
    requires.parse_manifest("config", False, True, True, [])
    assert calls == [("config", False, False, True, []), ("config", False, True, True, [])]
    assert requires.parse_manifest is original


def test_dbt_still_builds_and_writes_events_through_what_the_block_replaces():
    """The pinned dbt-common builds an event's message in ``BaseEvent.__init__`` (``self.pb_msg``), fires it
    through ``EventManager.fire_event`` to its loggers (each writing at Python's level for its own) and
    callbacks, and dbt-core adds one callback of its own: an upgrade that changes any of it fails here."""
    from dbt.events import logging as dbt_logging
    from dbt_common.events import base_types, logger
    from dbt_common.events.event_manager import EventManager

    assert "pb_msg" in base_types.BaseEvent.__init__.__code__.co_names
    assert {"msg_from_base_event", "loggers", "callbacks"} <= set(EventManager.fire_event.__code__.co_names)
    assert list(inspect.signature(EventManager.fire_event).parameters) == [
        "self", "e", "level", "node", "force_warn_or_error_handling"
    ]
    assert set(logger._log_level_map) == set(base_types.EventLevel)
    assert "track_behavior_change_warn" in dbt_logging.setup_event_logger.__code__.co_names


def _event_manager(level: str, name: str) -> tuple[Any, io.StringIO]:
    """An event manager with one JSON logger at ``level``, writing into the returned stream."""
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.logger import LineFormat, LoggerConfig

    manager, written = EventManager(), io.StringIO()
    manager.add_logger(LoggerConfig(name=name, level=EventLevel(level), line_format=LineFormat.Json, output_stream=written))
    return manager, written


def _lines(written: io.StringIO) -> list[tuple[str, str]]:
    return [(line["info"]["level"], line["info"]["msg"]) for line in map(json.loads, written.getvalue().splitlines())]


def test_in_the_block_an_event_no_logger_writes_is_never_built():
    from dbt_common.events.base_types import BaseEvent, EventLevel
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.types import Note, PrintEvent

    fire, build = EventManager.fire_event, BaseEvent.__init__
    info, info_written = _event_manager("info", "test-info-logger")
    debug, debug_written = _event_manager("debug", "test-debug-logger")
    quiet, quiet_written = _event_manager("error", "test-quiet-logger")
    heard = []
    listened, _ = _event_manager("info", "test-listened-logger")
    listened.add_callback(lambda msg: heard.append(msg.info.msg))
    with dbt_command.events_built_only_when_written():
        dropped = Note(msg="a statement")
        info.fire_event(dropped, level=EventLevel.DEBUG)
        info.fire_event(Note(msg="a model done"), level=EventLevel.INFO)
        info.fire_event(Note(msg="a warning"), level=EventLevel.WARN)
        debug.fire_event(Note(msg="a statement"), level=EventLevel.DEBUG)
        quiet.fire_event(PrintEvent(msg="printed"))
        listened.fire_event(Note(msg="heard"), level=EventLevel.DEBUG)
        assert "pb_msg" not in vars(dropped)
        assert dropped.msg == "a statement"  # built when read
    assert _lines(info_written) == [("info", "a model done"), ("warn", "a warning")]
    assert _lines(debug_written) == [("debug", "a statement")]
    assert _lines(quiet_written) == [("info", "printed")]
    assert heard == ["heard"]
    assert EventManager.fire_event is fire and BaseEvent.__init__ is build and not hasattr(BaseEvent, "pb_msg")
    assert Note(msg="after").msg == "after"


def _dbt(executable: str, args: list[str], warehouse: Path, target: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [executable, *args, "--log-format", "json", "--log-level-file", "none",
         "--vars", json.dumps({"warehouse_path": str(warehouse / "warehouse.duckdb")}),
         "--target-path", str(target), "--profiles-dir", str(settings.DBT_PROJECT_DIR)],
        cwd=settings.DBT_PROJECT_DIR, capture_output=True, text=True, timeout=300,
        env={**os.environ, "WAREHOUSE_DIR": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """`warehouse-dbt seed` of one seed into a new warehouse."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    target = warehouse / "target"
    return _dbt(DBT_EXECUTABLE, ["seed", "--select", "ref_units"], warehouse, target), warehouse, target


def test_a_command_says_what_dbt_says_and_leaves_its_artifacts(seeded):
    done, _, target = seeded
    assert done.returncode == 0, done.stdout[-3000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert events and all(line.startswith("{") for line in done.stdout.splitlines() if line.strip())
    assert events[-1]["info"]["name"] == "StatsLine" and "PASS=1 " in events[-1]["info"]["msg"]
    assert done.stderr == ""  # no warning of semaphores left behind: multiprocessing's exit handler ran
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in results["results"]] == ["success"]
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert "seed.innovation_warehouse.ref_units" in manifest["nodes"]


def _written(done: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """What a command wrote, its timings left out: (event name, level) per line."""
    return [(line["info"]["name"], line["info"]["level"]) for line in map(json.loads, done.stdout.splitlines())]


def test_a_command_writes_the_events_dbt_writes_and_its_debug_events_when_asked(seeded, tmp_path):
    done, _, _ = seeded
    for warehouse in ("dbt", "ours"):
        (tmp_path / warehouse).mkdir()
    dbts = _dbt(str(Path(sys.executable).parent / "dbt"), ["seed", "--select", "ref_units"], tmp_path / "dbt", tmp_path / "t1")
    assert dbts.returncode == done.returncode == 0
    assert _written(done) == _written(dbts)
    assert {level for _, level in _written(done)} == {"info"}
    debug = _dbt(DBT_EXECUTABLE, ["--log-level", "debug", "seed", "--select", "ref_units"], tmp_path / "ours", tmp_path / "t2")
    assert ("SQLQuery", "debug") in _written(debug)


def test_the_database_is_closed_and_checkpointed_before_the_process_ends(seeded):
    """dbt-duckdb closes the database in an exit handler: without it the seed would be left in the WAL."""
    done, warehouse, _ = seeded
    assert done.returncode == 0
    assert not (warehouse / "warehouse.duckdb.wal").exists()
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from reference.ref_units").fetchone()[0] > 0
    finally:
        con.close()


def test_a_failed_command_ends_with_dbts_exit_code_and_message(tmp_path):
    """The exit code dbt gives a command that fails (a macro that does not exist) is the command's."""
    args = ["run-operation", "no_such_macro"]
    ours = _dbt(DBT_EXECUTABLE, args, tmp_path, tmp_path / "ours")
    dbts = _dbt(str(Path(sys.executable).parent / "dbt"), args, tmp_path, tmp_path / "dbts")
    assert ours.returncode == dbts.returncode != 0
    assert "no_such_macro" in ours.stdout


# -- dbt started in advance -------------------------------------------------------------------------------


def _ended(process: subprocess.Popen | psutil.Process, within: float = 10.0) -> bool:
    """Whether ``process`` ends within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if isinstance(process, subprocess.Popen):
            if process.poll() is not None:
                return True
        elif not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def _listening(started: subprocess.Popen) -> subprocess.Popen:
    """``started`` once it listens (a command that comes before runs dbt itself)."""
    socket_path = Path(started.args[2])
    deadline = time.monotonic() + 30
    while not socket_path.exists():
        assert time.monotonic() < deadline and started.poll() is None, "the started process does not listen"
        time.sleep(0.02)
    return started


def test_the_first_command_runs_in_the_process_started_in_advance_with_its_environment_and_folder(tmp_path):
    """The command hands over its environment (where dbt writes its log, given only there) and its working
    directory (the project found only there): dbt runs in the started process, which ends with it; the next
    command, with nobody waiting any more, runs dbt itself. Both say what dbt says and leave its artifacts."""
    done = []
    with dbt_command.started_in_advance() as started:
        _listening(started)
        for name in ("first", "second"):
            done.append(subprocess.run(
                [DBT_EXECUTABLE, "seed", "--select", "ref_units", "--log-format", "json", "--log-level-file", "info",
                 "--vars", json.dumps({"warehouse_path": str(tmp_path / "warehouse.duckdb")}),
                 "--target-path", str(tmp_path / name), "--profiles-dir", str(settings.DBT_PROJECT_DIR)],
                cwd=settings.DBT_PROJECT_DIR, capture_output=True, text=True, timeout=300,
                env={**os.environ, "DBT_LOG_PATH": str(tmp_path / f"{name}-log"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            ))
            if name == "first":
                assert _ended(started), "the started process did not take the command"
                assert started.returncode == 0
    assert dbt_command.STARTED_VARIABLE not in os.environ
    for run, name in zip(done, ("first", "second")):
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert run.stderr == ""
        events = [json.loads(line) for line in run.stdout.splitlines()]
        assert events[-1]["info"]["name"] == "StatsLine" and "PASS=1 " in events[-1]["info"]["msg"]
        results = json.loads((tmp_path / name / "run_results.json").read_text(encoding="utf-8"))
        assert [r["status"] for r in results["results"]] == ["success"]
        assert "ref_units" in (tmp_path / f"{name}-log" / "dbt.log").read_text(encoding="utf-8")
    assert not Path(os.path.dirname(started.args[2])).exists()


def test_a_failed_command_in_the_started_process_ends_with_dbts_exit_code(tmp_path):
    with dbt_command.started_in_advance() as started:
        _listening(started)
        handed = _dbt(DBT_EXECUTABLE, ["run-operation", "no_such_macro"], tmp_path, tmp_path / "handed")
        assert _ended(started)
    alone = _dbt(DBT_EXECUTABLE, ["run-operation", "no_such_macro"], tmp_path, tmp_path / "alone")
    assert handed.returncode == alone.returncode != 0
    assert "no_such_macro" in handed.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_command_stops_dbt_in_the_started_process(tmp_path, signum):
    """What dagster-dbt sends the command it started (SIGINT, then SIGTERM from the step) reaches dbt."""
    slow = "select count(*) from range(1000000000000) a where a.range % 7 = 3"
    with dbt_command.started_in_advance() as started:
        _listening(started)
        command = subprocess.Popen(
            [DBT_EXECUTABLE, "show", "--inline", slow, "--log-format", "json", "--log-level-file", "none",
             "--vars", json.dumps({"warehouse_path": str(tmp_path / "warehouse.duckdb")}),
             "--target-path", str(tmp_path / "target"), "--profiles-dir", str(settings.DBT_PROJECT_DIR)],
            cwd=settings.DBT_PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        )
        assert command.stdout is not None
        for line in command.stdout:  # dbt runs the query once it has found the project and opened DuckDB
            if '"name": "ConcurrencyLine"' in line or '"name": "AdapterRegistered"' in line:
                break
        time.sleep(1.0)
        assert started.poll() is None and command.poll() is None, "the query ended before the signal"
        command.send_signal(signum)
        assert _ended(command, within=15) and _ended(started, within=5)
        command.stdout.close()
    assert command.returncode != 0


def test_the_started_process_ends_with_the_process_that_started_it(tmp_path):
    """Killed with SIGKILL, the process that started it leaves it waiting for nothing: it ends, and removes
    its socket's folder."""
    starter = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from core import dbt_command\n"
         "with dbt_command.started_in_advance() as started:\n"
         "    print(started.pid, started.args[2], flush=True); time.sleep(300)"],
        stdout=subprocess.PIPE, text=True, cwd=settings.REPO_ROOT,
    )
    assert starter.stdout is not None
    pid, path = starter.stdout.readline().split()
    started = psutil.Process(int(pid))
    time.sleep(0.5)  # into its imports
    starter.kill()
    starter.wait()
    assert _ended(started, within=10)
    assert not Path(path).parent.exists()


def test_leaving_the_block_stops_a_started_process_that_took_no_command():
    with dbt_command.started_in_advance() as started:
        folder = Path(_listening(started).args[2]).parent
    assert started.returncode is not None
    assert not folder.exists()
    assert dbt_command.STARTED_VARIABLE not in os.environ


def test_a_command_without_a_started_process_runs_dbt_itself(tmp_path, monkeypatch):
    monkeypatch.setenv(dbt_command.STARTED_VARIABLE, str(tmp_path / "nobody-listens"))
    done = _dbt(DBT_EXECUTABLE, ["run-operation", "no_such_macro"], tmp_path, tmp_path / "target")
    assert done.returncode != 0 and "no_such_macro" in done.stdout
    assert dbt_command.run_in_started(str(tmp_path / "nobody-listens"), ["--version"]) is None
