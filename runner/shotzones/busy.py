"""One command at a time per warehouse, and what the one running is doing.

DuckDB lets one process open a file for writing, and then no other process can open it at all.
A command that opens the warehouse (`load`, `update`, `backfill`, `report`, `status`) therefore
holds it for its whole run (`holding.hold`; on DuckDB `hold_file` here): an OS lock on
`<file>.lock` beside the DuckDB file (released by the kernel when the process dies, so it is
never left behind), and the activity file `<file>.activity.json`, written atomically, which
names the holder (run id, pid, host, command, start) and, during a backfill, its live progress.
Another command waits for the lock up to `Settings.wait_seconds`, then refuses with
`WarehouseBusy`, naming the holder; `status` shows the running backfill's progress from the
activity file without opening the warehouse.

On BigQuery the holder is the ledger's lock row (`holding.py`), which loads take as backfills
do, so loads and backfills of one dataset exclude each other.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from shotzones.settings import Settings

POLL_SECONDS = 0.2
# the lock files this process holds, by path: nested holds reuse them
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

    @classmethod
    def starting(cls, command: str, run_id: str | None = None) -> Activity:
        """This process, starting `command` now (as run `run_id`, else a new one)."""
        return cls(run_id or uuid.uuid4().hex[:12], os.getpid(), socket.gethostname(), command, _now())

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
        # status answers at once (it has no --wait): a wait of 0 says so
        waited = f" Waited {settings.wait_seconds:g} s." if settings.wait_seconds else ""
        longer = ", or wait longer with --wait SECONDS" if settings.wait_seconds else ""
        super().__init__(
            f"{where} is busy: held by {who}.{waited} Run again when it has finished"
            f" (`shotzones status` shows its progress){longer}.{dead}"
        )
        self.activity = activity


def held_file(settings: Settings, error: Exception) -> WarehouseBusy | None:
    """DuckDB's refusal to open the warehouse file while another process holds it (one that did
    not announce itself through holding.hold, e.g. a `dbt build`), as WarehouseBusy; None for
    any other error."""
    if "could not set lock on file" not in str(error).lower():
        return None
    held_by = re.search(r"PID (\d+)", str(error))
    activity = read_activity(settings)
    theirs = activity if activity and activity.pid != os.getpid() else None
    return WarehouseBusy(settings, theirs, f"process {held_by[1]}" if held_by else "another process")


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


@contextmanager
def hold_file(settings: Settings, command: str, run_id: str | None = None) -> Iterator[Held]:
    """Hold the DuckDB warehouse for `command` (holding.hold chooses this on DuckDB), waiting up
    to `settings.wait_seconds`; WarehouseBusy past that. Nested holds in one process share the
    outer one."""
    key = str(lock_path(settings))
    if key in _held:
        yield _held[key]
        return
    activity = Activity.starting(command, run_id)
    with _file_lock(settings, time.monotonic() + settings.wait_seconds) as handle:
        held = Held(activity, activity_path(settings))
        _write(held.path, activity)
        _held[key] = held
        try:
            yield held
        finally:
            del _held[key]
            activity_path(settings).unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def command_line(name: str) -> str:
    """The command as the user typed it (quoted as a shell needs it: `--vars '{a: b}'`), when run
    from the command line; else `name`."""
    if Path(sys.argv[0]).name == "shotzones":
        return shlex.join(["shotzones", *sys.argv[1:]])
    return name


def with_wait(settings: Settings, seconds: float | None) -> Settings:
    return settings if seconds is None else replace(settings, wait_seconds=seconds)
