"""Holding the warehouse for a command's whole run: on DuckDB the lock file beside it and the
activity file (busy.py), on BigQuery the ledger's lock row, taken for the command as a backfill
takes it (and the run recorded in the runs table), so that loads and backfills of one dataset
exclude each other. BigQuery readers hold nothing: they stall nobody there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from shotzones import ledger, retry
from shotzones.busy import Activity, Held, WarehouseBusy, hold_file
from shotzones.settings import Settings
from shotzones.warehouse import Warehouse, open_warehouse

# the BigQuery datasets whose lock row this process holds: nested holds reuse it
_lock_rows: dict[str, Held] = {}
# how long a ledger write is tried again while another command's write to the table conflicts
LEDGER_WRITE_SECONDS = 60


@contextmanager
def hold(settings: Settings, command: str, run_id: str | None = None, writes: bool = True) -> Iterator[Held]:
    """Hold the warehouse for `command`, waiting up to `settings.wait_seconds`; WarehouseBusy
    past that. Nested holds in one process share the outer one. On BigQuery only a command that
    `writes` holds anything."""
    if settings.target == "duckdb":
        with hold_file(settings, command, run_id) as held:
            yield held
        return
    key = settings.bq_dataset
    if key in _lock_rows or not writes:
        yield _lock_rows.get(key) or Held(Activity.starting(command, run_id))
        return
    with _lock_row(settings, Activity.starting(command, run_id)) as held:
        _lock_rows[key] = held
        try:
            yield held
        finally:
            del _lock_rows[key]


@contextmanager
def _lock_row(settings: Settings, activity: Activity) -> Iterator[Held]:
    """The ledger's lock row, taken for this run (and the run recorded), as a backfill takes it;
    refused past the wait naming its holder. Another command creating the ledger tables, or
    swapping the row, at once is a transient conflict: tried again, as a taken row is."""
    deadline = time.monotonic() + settings.wait_seconds
    started = datetime.now()
    with open_warehouse(settings) as wh:
        try:
            recovered = retry.until(
                deadline,
                lambda: ledger.acquire_lock(wh, activity.run_id, started),
                retry_on=lambda error: isinstance(error, ledger.BackfillLocked) or retry.raised_transient(error),
            )
        except ledger.BackfillLocked as locked:
            raise WarehouseBusy(settings, _activity_of(wh, locked.holder)) from None
        retry.until(deadline, lambda: ledger.start_run(wh, activity.run_id, started, activity.command))
    held = Held(activity, owns_lock_row=True, recovered=recovered)
    outcome = "failed"
    try:
        yield held
        outcome = held.outcome or "success"
    finally:
        with open_warehouse(settings) as wh:
            settle = time.monotonic() + LEDGER_WRITE_SECONDS
            retry.until(settle, lambda: ledger.finish_run(wh, activity.run_id, outcome, datetime.now()))
            retry.until(settle, lambda: ledger.release_lock(wh, activity.run_id))


def _activity_of(wh: Warehouse, holder: ledger.Holder) -> Activity:
    """The lock row's holder, with the command its run recorded."""
    commands = wh.rows(f"select command from {wh.relation(ledger.RUNS)} where run_id = {wh.literal(holder.run_id)}")
    started = holder.started_at.astimezone(UTC).isoformat(timespec="seconds")
    command = commands[0][0] if commands and commands[0][0] else "unknown"
    return Activity(holder.run_id, holder.pid, holder.host, command, started)
