"""One command at a time per warehouse, and what the one running is doing.

DuckDB lets one process open a file for writing, and then no other process can open it at all.
A command that opens the warehouse (`load`, `update`, `backfill`, `report`, `status`) therefore
holds it for its whole run with `hold()`: an OS lock on `<file>.lock` beside the DuckDB file
(released by the kernel when the process dies, so it is never left behind), and the activity
file `<file>.activity.json`, written atomically, which names the holder (run id, pid, host,
command, start) and, during a backfill, its live progress. Another command waits for the lock
up to `Settings.wait_seconds`, then refuses with `WarehouseBusy`, naming the holder; `status`
shows the running backfill's progress from the activity file without opening the warehouse.

On BigQuery the holder is the ledger's lock row (`shotzones_lock`), which loads take as
backfills do, so loads and backfills of one dataset exclude each other.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from shotzones.settings import Settings

POLL_SECONDS = 0.2
# what this process holds, by lock path (or BigQuery dataset): nested holds reuse it
_held: dict[str, Held] = {}


@dataclass
class Activity:
    """Who holds the warehouse, and (during a backfill) how far it is."""

    run_id: str
    pid: int
    host: str
    command: str
    started_at: str  # ISO UTC
    progress: dict = field(default_factory=dict)
    updated_at: str = ""

    def elapsed_seconds(self) -> float:
        return (datetime.now(UTC) - datetime.fromisoformat(self.started_at)).total_seconds()

    def describe(self) -> str:
        return (
            f"run {self.run_id} (`{self.command}`), pid {self.pid} on {self.host},"
            f" started {self.started_at[:19].replace('T', ' ')} UTC, {self.elapsed_seconds():.0f} s ago"
        )

    def as_json(self) -> dict:
        return asdict(self) | {"elapsed_seconds": round(self.elapsed_seconds(), 1)}


class WarehouseBusy(Exception):
    """Another process holds the warehouse past the wait."""

    def __init__(self, settings: Settings, activity: Activity | None, detail: str = ""):
        who = activity.describe() if activity else detail or "another process"
        if settings.target == "duckdb":
            where = f"the warehouse {settings.duckdb_path}"
            dead = ""  # the kernel releases the lock of a dead process
        else:
            where = f"the BigQuery dataset {settings.bq_dataset}"
            dead = (
                f" If that run is dead (another host cannot be checked from here): shotzones unlock {activity.run_id}."
                if activity
                else ""
            )
        super().__init__(
            f"{where} is busy: held by {who}. Waited {settings.wait_seconds:g} s. Run again when it"
            f" has finished (`shotzones status` shows its progress), or wait longer with --wait"
            f" SECONDS.{dead}"
        )
        self.activity = activity


@dataclass
class Held:
    """What a hold gives its holder: the activity it advertises, and whether it took the lock row
    (BigQuery) for `run_id`."""

    activity: Activity
    path: Path | None = None
    owns_lock_row: bool = False
    recovered: object = None  # the dead holder of the lock row it took over, if any
    outcome: str | None = None  # the run's outcome (BigQuery): default success, failed on an error

    def report(self, **progress) -> None:
        """Advertise progress (partitions done, left, the current wave...) to `status`."""
        self.activity.progress = progress
        if self.path is not None:
            _write(self.path, self.activity)


def lock_path(settings: Settings) -> Path:
    return settings.duckdb_path.with_name(settings.duckdb_path.name + ".lock")


def activity_path(settings: Settings) -> Path:
    return settings.duckdb_path.with_name(settings.duckdb_path.name + ".activity.json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write(path: Path, activity: Activity) -> None:
    activity.updated_at = _now()
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(activity)))
    os.replace(temporary, path)  # readers see the old file or the new one, never half of one


def read_activity(settings: Settings) -> Activity | None:
    try:
        return Activity(**json.loads(activity_path(settings).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def holder(settings: Settings) -> Activity | None:
    """The activity of the process holding the DuckDB warehouse now, or None when nobody does."""
    path = lock_path(settings)
    if settings.target != "duckdb" or not path.exists() or str(path) in _held:
        return None
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_activity(settings) or Activity("unknown", 0, "?", "unknown", _now())
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


@contextmanager
def hold(settings: Settings, command: str, run_id: str | None = None, writes: bool = True) -> Iterator[Held]:
    """Hold the warehouse for `command`, waiting up to `settings.wait_seconds`; WarehouseBusy
    past that. Nested holds in one process share the outer one. On BigQuery only a command that
    `writes` holds anything: readers do not stall anyone there."""
    key = str(lock_path(settings)) if settings.target == "duckdb" else f"bigquery:{settings.bq_dataset}"
    activity = Activity(run_id or uuid.uuid4().hex[:12], os.getpid(), socket.gethostname(), command, _now())
    if key in _held or (settings.target != "duckdb" and not writes):
        yield _held.get(key) or Held(activity)
        return
    deadline = time.monotonic() + settings.wait_seconds
    if settings.target == "duckdb":
        with _file_lock(settings, deadline) as handle:
            held = Held(activity, activity_path(settings))
            _write(held.path, activity)
            _held[key] = held
            try:
                yield held
            finally:
                del _held[key]
                activity_path(settings).unlink(missing_ok=True)
                fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        with _lock_row(settings, activity, deadline) as held:
            _held[key] = held
            try:
                yield held
            finally:
                del _held[key]


@contextmanager
def _file_lock(settings: Settings, deadline: float) -> Iterator[object]:
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(settings, read_activity(settings)) from None
                time.sleep(POLL_SECONDS)
        yield handle


@contextmanager
def _lock_row(settings: Settings, activity: Activity, deadline: float) -> Iterator[Held]:
    """BigQuery: the ledger's lock row, taken for this run (and the run recorded), as a backfill
    takes it; refused past the deadline with the ledger's own refusal."""
    from shotzones import ledger
    from shotzones.warehouse import open_warehouse
    from shotzones.waves import is_transient

    started = datetime.now()
    with open_warehouse(settings) as wh:
        while True:
            try:
                recovered = ledger.acquire_lock(wh, activity.run_id, started)
                break
            except ledger.BackfillLocked as locked:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(settings, _activity_of(wh, locked.holder)) from None
            except Exception as error:
                # two commands creating the ledger tables, or swapping the row, at once
                if not is_transient(str(error)) or time.monotonic() >= deadline:
                    raise
            time.sleep(max(POLL_SECONDS, 1.0))
        _retrying(lambda: ledger.start_run(wh, activity.run_id, started, activity.command), deadline)
    held = Held(activity, owns_lock_row=True, recovered=recovered)
    outcome = "failed"
    try:
        yield held
        outcome = held.outcome or "success"
    finally:
        with open_warehouse(settings) as wh:
            settle = time.monotonic() + LEDGER_WRITE_SECONDS
            _retrying(lambda: ledger.finish_run(wh, activity.run_id, outcome, datetime.now()), settle)
            _retrying(lambda: ledger.release_lock(wh, activity.run_id), settle)


# how long a ledger write is tried again while another command's write to the table conflicts
LEDGER_WRITE_SECONDS = 60


def _retrying(write: Callable[[], None], deadline: float) -> None:
    """A ledger write, again while it meets another command's write to the same table (two
    commands' DML on one BigQuery table conflict) and the deadline has not passed."""
    from shotzones.waves import is_transient

    while True:
        try:
            return write()
        except Exception as error:
            if not is_transient(str(error)) or time.monotonic() >= deadline:
                raise
        time.sleep(max(POLL_SECONDS, 1.0))


def _activity_of(wh, holder) -> Activity:
    """The lock row's holder, with the command its run recorded."""
    from shotzones import ledger

    commands = wh.rows(f"select command from {wh.relation(ledger.RUNS)} where run_id = {wh.literal(holder.run_id)}")
    started = holder.started_at.astimezone(UTC).isoformat(timespec="seconds")
    command = commands[0][0] if commands and commands[0][0] else "unknown"
    return Activity(holder.run_id, holder.pid, holder.host, command, started)


def command_line(name: str) -> str:
    """The command as the user typed it (quoted as a shell needs it: `--vars '{a: b}'`), when run
    from the command line; else `name`."""
    if Path(sys.argv[0]).name == "shotzones":
        return shlex.join(["shotzones", *sys.argv[1:]])
    return name


def with_wait(settings: Settings, seconds: float | None) -> Settings:
    return settings if seconds is None else replace(settings, wait_seconds=seconds)
