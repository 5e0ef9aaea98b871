"""The ledger: durable, in-warehouse record of finished partitions, runs and the backfill lock.

A partition is one (incremental model, game_date). The ledger is written only after dbt has
committed a partition's data and its tests have passed, so it is never ahead of the data; and
`rows_written` lets anyone check a `done` entry against the table itself.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

LEDGER = "shotzones_ledger"
RUNS = "shotzones_runs"
LOCK = "shotzones_lock"
SOURCE_GAMES = "shotzones_source_games"


@dataclass(frozen=True)
class Entry:
    model: str
    game_date: date
    state: str  # done | failed
    run_id: str
    started_at: datetime
    finished_at: datetime
    rows_written: int | None
    duration_seconds: float
    error: str | None


@dataclass(frozen=True)
class Holder:
    run_id: str
    host: str
    pid: int
    started_at: datetime

    def describe(self) -> str:
        return f"run {self.run_id} on {self.host}, pid {self.pid}, started {self.started_at:%Y-%m-%d %H:%M:%S}"


class BackfillLocked(Exception):
    """Another backfill holds the warehouse."""

    def __init__(self, holder: Holder):
        super().__init__(f"another backfill holds this warehouse: {holder.describe()}")
        self.holder = holder


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""
        create table if not exists {LEDGER} (
            model varchar not null,
            game_date date not null,
            state varchar not null,
            run_id varchar not null,
            started_at timestamp not null,
            finished_at timestamp not null,
            rows_written bigint,
            duration_seconds double not null,
            error varchar,
            primary key (model, game_date)
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {RUNS} (
            run_id varchar primary key,
            host varchar not null,
            pid integer not null,
            started_at timestamp not null,
            finished_at timestamp,
            command varchar not null,
            outcome varchar
        )
        """
    )
    # the fingerprint of each game's play-by-play as the player-game build of its date read it
    con.execute(
        f"""
        create table if not exists {SOURCE_GAMES} (
            game_date date not null,
            game_id varchar not null,
            row_count bigint not null,
            content_hash varchar not null,
            -- when a build first read this version (a removed game stays, with 0 rows)
            changed_at timestamp not null,
            primary key (game_date, game_id)
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {LOCK} (
            lock_name varchar primary key,
            run_id varchar not null,
            host varchar not null,
            pid integer not null,
            started_at timestamp not null
        )
        """
    )


def read_entries(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, date], Entry]:
    create_tables(con)
    rows = con.execute(
        f"select model, game_date, state, run_id, started_at, finished_at, rows_written,"
        f" duration_seconds, error from {LEDGER}"
    ).fetchall()
    return {(row[0], row[1]): Entry(*row) for row in rows}


def record(con: duckdb.DuckDBPyConnection, entries: list[Entry]) -> None:
    """Write entries, replacing earlier ones for the same partitions, in one transaction."""
    if not entries:
        return
    con.execute("begin transaction")
    con.executemany(
        f"insert or replace into {LEDGER} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (e.model, e.game_date, e.state, e.run_id, e.started_at, e.finished_at,
             e.rows_written, e.duration_seconds, e.error)
            for e in entries
        ],
    )  # fmt: skip
    con.execute("commit")


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lock(con: duckdb.DuckDBPyConnection, run_id: str, started_at: datetime) -> Holder | None:
    """Take the backfill lock. Returns the dead holder it recovered, if any; raises
    BackfillLocked naming a live holder."""
    create_tables(con)
    host, pid = socket.gethostname(), os.getpid()
    con.execute("begin transaction")
    row = con.execute(
        f"select run_id, host, pid, started_at from {LOCK} where lock_name = 'backfill'"
    ).fetchone()
    recovered = None
    if row is not None:
        holder = Holder(*row)
        # A holder on this host whose process is gone died without releasing it. A holder on
        # another host cannot be checked from here and is respected.
        if holder.host != host or _process_is_alive(holder.pid):
            con.execute("rollback")
            raise BackfillLocked(holder)
        recovered = holder
        con.execute(f"delete from {LOCK} where lock_name = 'backfill'")
    con.execute(
        f"insert into {LOCK} values ('backfill', ?, ?, ?, ?)", [run_id, host, pid, started_at]
    )
    con.execute("commit")
    return recovered


def release_lock(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    con.execute(f"delete from {LOCK} where lock_name = 'backfill' and run_id = ?", [run_id])


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, started_at: datetime, command: str) -> None:
    con.execute(
        f"insert into {RUNS} values (?, ?, ?, ?, null, ?, null)",
        [run_id, socket.gethostname(), os.getpid(), started_at, command],
    )


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, outcome: str) -> None:
    con.execute(
        f"update {RUNS} set finished_at = current_timestamp::timestamp, outcome = ? where run_id = ?",
        [outcome, run_id],
    )


def last_run(con: duckdb.DuckDBPyConnection) -> dict | None:
    create_tables(con)
    row = con.execute(
        f"select run_id, host, pid, started_at, finished_at, command, outcome from {RUNS}"
        " order by started_at desc limit 1"
    ).fetchone()
    if row is None:
        return None
    keys = ("run_id", "host", "pid", "started_at", "finished_at", "command", "outcome")
    return dict(zip(keys, row))


Fingerprints = dict[tuple[date, str], tuple[int, str]]


@dataclass(frozen=True)
class SourceGame:
    row_count: int
    content_hash: str
    changed_at: datetime


def read_source_games(con: duckdb.DuckDBPyConnection) -> dict[tuple[date, str], SourceGame]:
    create_tables(con)
    rows = con.execute(
        f"select game_date, game_id, row_count, content_hash, changed_at from {SOURCE_GAMES}"
    ).fetchall()
    return {(day, game): SourceGame(count, digest, at) for day, game, count, digest, at in rows}


def record_source_games(
    con: duckdb.DuckDBPyConnection, days: list[date], fingerprints: Fingerprints, at: datetime
) -> None:
    """Record the play-by-play these dates' build read. A game whose fingerprint is new or
    different is stamped `at`; a game no longer delivered stays, with 0 rows, so that the
    features that read it can still be found."""
    recorded = read_source_games(con)
    wanted = set(days)
    rows = []
    for key in sorted({k for k in recorded if k[0] in wanted} | {k for k in fingerprints if k[0] in wanted}):
        count, digest = fingerprints.get(key, (0, ""))
        before = recorded.get(key)
        same = before is not None and (before.row_count, before.content_hash) == (count, digest)
        rows.append((*key, count, digest, before.changed_at if same else at))
    con.execute("begin transaction")
    con.execute(f"delete from {SOURCE_GAMES} where game_date in (select unnest(?::date[]))", [days])
    if rows:
        con.executemany(f"insert into {SOURCE_GAMES} values (?, ?, ?, ?, ?)", rows)
    con.execute("commit")
