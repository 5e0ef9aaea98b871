"""The ledger: durable, in-warehouse record of finished partitions, runs and the backfill lock.

A partition is one (incremental model, game_date). The ledger is written only after dbt has
committed a partition's data and its tests have passed, so it is never ahead of the data; and
`rows_written` lets anyone check a `done` entry against the table itself.

Every write is one MERGE (DuckDB and BigQuery alike; BigQuery has no multi-statement
transactions outside scripting), so a crash leaves each statement wholly done or not at all.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import date, datetime

from shotzones.warehouse import Warehouse, date_list

LEDGER = "shotzones_ledger"
RUNS = "shotzones_runs"
LOCK = "shotzones_lock"
SOURCE_GAMES = "shotzones_source_games"
CODE_VERSIONS = "shotzones_code_versions"
VIEWS = "shotzones_views"
REBUILDS = "shotzones_rebuilds"
# written by the project's on-run-end hook (macros/direct_builds.sql) after a direct dbt run
DIRECT_BUILDS = "shotzones_direct_builds"
LOCK_NAME = "backfill"
# rows per MERGE: BigQuery caps a statement at 1 MB of SQL
CHUNK_ROWS = 1000


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
    # the code that built it (code.CodeVersion); None: unknown, built before fingerprints
    code_fingerprint: str | None = None


@dataclass(frozen=True)
class Holder:
    run_id: str
    host: str
    pid: int
    started_at: datetime

    def describe(self) -> str:
        return f"run {self.run_id} on {self.host}, pid {self.pid}, started {self.started_at:%Y-%m-%d %H:%M:%S}"


class NotHolder(LookupError):
    """The run named does not hold the backfill lock (`unlock` refuses)."""


class BackfillLocked(Exception):
    """Another backfill holds the warehouse."""

    def __init__(self, holder: Holder):
        super().__init__(
            f"another backfill holds this warehouse: {holder.describe()}."
            f" If that run is dead (another host cannot be checked from here):"
            f" shotzones unlock {holder.run_id}"
        )
        self.holder = holder


# column -> portable type (see Warehouse.types)
TABLES = {
    LEDGER: {
        "model": "string",
        "game_date": "date",
        "state": "string",
        "run_id": "string",
        "started_at": "timestamp",
        "finished_at": "timestamp",
        "rows_written": "int",
        "duration_seconds": "float",
        "error": "string",
        "code_fingerprint": "string",
    },
    # what went into each code fingerprint a ledger entry names, to say what changed
    CODE_VERSIONS: {"fingerprint": "string", "model": "string", "components": "string", "recorded_at": "timestamp"},
    RUNS: {
        "run_id": "string",
        "host": "string",
        "pid": "int",
        "started_at": "timestamp",
        "finished_at": "timestamp",
        "command": "string",
        "outcome": "string",
    },
    # the fingerprint of each game's play-by-play as the player-game build of its date read
    # it, and when a build first read this version (a removed game stays, with 0 rows)
    SOURCE_GAMES: {
        "game_date": "date",
        "game_id": "string",
        "row_count": "int",
        "content_hash": "string",
        "changed_at": "timestamp",
    },
    # the views a backfill created and the code fingerprint each was created from: a later
    # backfill creates them again only when that changed (or one is missing)
    VIEWS: {"view_name": "string", "code_fingerprint": "string", "created_at": "timestamp"},
    # a model's new version under way beside its live table (rebuild.py), and the play-by-play
    # it reads (row count, latest load): a later run resumes it only if that is unchanged
    REBUILDS: {
        "model": "string",
        "run_id": "string",
        "started_at": "timestamp",
        "reason": "string",
        "raw_rows": "int",
        "raw_loaded_at": "string",
    },
    # one seeded row; run_id is null while nobody holds it
    LOCK: {"lock_name": "string", "run_id": "string", "host": "string", "pid": "int", "started_at": "timestamp"},
}


def create_tables(wh: Warehouse) -> None:
    wh.execute(f"create schema if not exists {wh.schema}")  # before dbt's first run created it
    for table, columns in TABLES.items():
        if not wh.table_exists(table):
            body = ", ".join(f"{name} {wh.types[kind]}" for name, kind in columns.items())
            wh.execute(f"create table if not exists {wh.relation(table)} ({body})")
    # a ledger from before code fingerprints: its entries' code is unknown (NULL), so stale
    if "code_fingerprint" not in wh.columns(wh.relation(LEDGER)):
        wh.execute(f"alter table {wh.relation(LEDGER)} add column code_fingerprint {wh.types['string']}")
    # seed the lock row (a MERGE, so that racing runs seed it once)
    wh.execute(
        f"merge into {wh.relation(LOCK)} as t using (select {wh.literal(LOCK_NAME)} as lock_name) as s"
        f" on t.lock_name = s.lock_name when not matched then insert (lock_name) values (s.lock_name)"
    )


def _types(wh: Warehouse, table: str) -> dict[str, str]:
    return {name: wh.types[kind] for name, kind in TABLES[table].items()}


def _chunks(rows: Sequence, size: int = CHUNK_ROWS) -> Iterator[Sequence]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def read_entries(wh: Warehouse) -> dict[tuple[str, date], Entry]:
    if not wh.table_exists(LEDGER):
        return {}
    names = [field.name for field in fields(Entry)]
    if "code_fingerprint" not in wh.columns(wh.relation(LEDGER)):
        names[-1] = "null"
    names = ", ".join(names)
    return {(row[0], row[1]): Entry(*row) for row in wh.rows(f"select {names} from {wh.relation(LEDGER)}")}


def record(wh: Warehouse, entries: list[Entry]) -> None:
    """Write entries, replacing earlier ones for the same partitions."""
    columns = [field.name for field in fields(Entry)]
    updates = ", ".join(f"{c} = s.{c}" for c in columns[2:])
    for chunk in _chunks(entries):
        source = wh.rows_as_select(columns, [astuple(e) for e in chunk], _types(wh, LEDGER))
        wh.execute(
            f"""
            merge into {wh.relation(LEDGER)} as t using ({source}) as s
            on t.model = s.model and t.game_date = s.game_date
            when matched then update set {updates}
            when not matched then insert ({", ".join(columns)}) values ({", ".join("s." + c for c in columns)})
            """
        )


def read_code_versions(wh: Warehouse) -> dict[str, tuple[str, dict]]:
    """fingerprint -> (model, components) of every code version the ledger has named."""
    if not wh.table_exists(CODE_VERSIONS):
        return {}
    rows = wh.rows(f"select fingerprint, model, components from {wh.relation(CODE_VERSIONS)}")
    return {fingerprint: (model, json.loads(components)) for fingerprint, model, components in rows}


def record_code_versions(wh: Warehouse, versions: dict[str, tuple[str, dict]], at: datetime) -> None:
    """Remember the components of fingerprints not seen before."""
    known = read_code_versions(wh)
    rows = [
        (f, model, json.dumps(components, sort_keys=True, default=str), at)
        for f, (model, components) in versions.items()
        if f not in known
    ]
    if rows:
        columns = list(TABLES[CODE_VERSIONS])
        source = wh.rows_as_select(columns, rows, _types(wh, CODE_VERSIONS))
        wh.execute(f"insert into {wh.relation(CODE_VERSIONS)} ({', '.join(columns)}) {source}")


def read_views(wh: Warehouse) -> dict[str, str]:
    """view -> the code fingerprint a backfill created it from. None known while a direct dbt
    run is still to be recorded: it may have created them since (record_direct_builds)."""
    if not wh.table_exists(VIEWS) or _direct_builds_pending(wh):
        return {}
    return dict(wh.rows(f"select view_name, code_fingerprint from {wh.relation(VIEWS)}"))


def record_views(wh: Warehouse, fingerprints: dict[str, str], at: datetime) -> None:
    """Remember the views a wave created, with their code."""
    if not fingerprints:
        return
    columns = list(TABLES[VIEWS])
    source = wh.rows_as_select(columns, [(v, f, at) for v, f in sorted(fingerprints.items())], _types(wh, VIEWS))
    wh.execute(
        f"""
        merge into {wh.relation(VIEWS)} as t using ({source}) as s on t.view_name = s.view_name
        when matched then update set code_fingerprint = s.code_fingerprint, created_at = s.created_at
        when not matched then insert ({", ".join(columns)}) values ({", ".join("s." + c for c in columns)})
        """
    )


def _direct_builds_pending(wh: Warehouse) -> bool:
    return wh.table_exists(DIRECT_BUILDS) and bool(wh.rows(f"select count(*) from {wh.relation(DIRECT_BUILDS)}")[0][0])


def forget_views(wh: Warehouse) -> None:
    """Something else (a direct dbt run) may have created the views since: not known now."""
    if wh.table_exists(VIEWS):
        wh.execute(
            f"merge into {wh.relation(VIEWS)} as t using (select 1 as one) as s on false when not matched by source then delete"
        )


@dataclass(frozen=True)
class RebuildUnderWay:
    """A model's new version being built beside its live table."""

    model: str
    run_id: str
    started_at: datetime
    reason: str
    raw_rows: int
    raw_loaded_at: str


def read_rebuilds(wh: Warehouse) -> dict[str, RebuildUnderWay]:
    if not wh.table_exists(REBUILDS):
        return {}
    columns = ", ".join(TABLES[REBUILDS])
    return {row[0]: RebuildUnderWay(*row) for row in wh.rows(f"select {columns} from {wh.relation(REBUILDS)}")}


def start_rebuild(wh: Warehouse, rebuild: RebuildUnderWay) -> None:
    """Record a rebuild beside a live table (replacing an earlier one of the model)."""
    columns = list(TABLES[REBUILDS])
    source = wh.rows_as_select(columns, [astuple(rebuild)], _types(wh, REBUILDS))
    wh.execute(
        f"""
        merge into {wh.relation(REBUILDS)} as t using ({source}) as s on t.model = s.model
        when matched then update set {", ".join(f"{c} = s.{c}" for c in columns[1:])}
        when not matched then insert ({", ".join(columns)}) values ({", ".join("s." + c for c in columns)})
        """
    )


def forget_new_version(wh: Warehouse, model: str, suffix: str) -> None:
    """Forget a model's new version (swapped in, or dropped): its ledger entries, under its own
    name, and the record of its rebuild."""
    for table, name in ((LEDGER, model + suffix), (REBUILDS, model)):
        if wh.table_exists(table):
            wh.execute(
                f"merge into {wh.relation(table)} as t using (select {wh.literal(name)} as m) as s"
                " on t.model = s.m when matched then delete"
            )


def rename_entries(wh: Warehouse, entries: dict[tuple[str, date], Entry], model: str) -> None:
    """Record these entries (a new version's) as the entries of `model`, replacing its own."""
    renamed = [Entry(model, *astuple(entry)[1:]) for entry in entries.values()]
    if wh.table_exists(LEDGER):
        wh.execute(
            f"merge into {wh.relation(LEDGER)} as t using (select {wh.literal(model)} as m) as s"
            f" on t.model = s.m when matched then delete"
        )
    record(wh, renamed)


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(wh: Warehouse) -> Holder | None:
    rows = wh.rows(
        f"select run_id, host, pid, started_at from {wh.relation(LOCK)}"
        f" where lock_name = {wh.literal(LOCK_NAME)} and run_id is not null"
    )
    return Holder(*rows[0]) if rows else None


def swap_holder(wh: Warehouse, expected: Holder | None, new: Holder | None) -> bool:
    """Compare-and-set the lock row in one statement: True when it still held `expected`."""
    values = (new.run_id, new.host, new.pid, new.started_at) if new else (None, None, None, None)
    columns = ("run_id", "host", "pid", "started_at")
    types = _types(wh, LOCK)
    assignments = ", ".join(f"{c} = cast({wh.literal(v)} as {types[c]})" for c, v in zip(columns, values))
    return (
        wh.execute(
            f"merge into {wh.relation(LOCK)} as t using (select {wh.literal(LOCK_NAME)} as lock_name) as s"
            f" on t.lock_name = s.lock_name"
            f" when matched and t.run_id is not distinct from {wh.literal(expected.run_id if expected else None)}"
            f" then update set {assignments}"
        )
        == 1
    )


def acquire_lock(wh: Warehouse, run_id: str, started_at: datetime) -> Holder | None:
    """Take the backfill lock. Returns the dead holder it recovered, if any; raises
    BackfillLocked naming a live holder."""
    create_tables(wh)
    me = Holder(run_id, socket.gethostname(), os.getpid(), started_at)
    holder = _holder(wh)
    if holder is not None and holder.run_id == run_id:
        return None  # taken by an earlier try of this run, whose answer was lost (a transient error)
    # A holder on this host whose process is gone died without releasing it. A holder on
    # another host cannot be checked from here and is respected.
    if holder is not None and (holder.host != me.host or _process_is_alive(holder.pid)):
        raise BackfillLocked(holder)
    if not swap_holder(wh, holder, me):
        raise BackfillLocked(_holder(wh) or holder or me)  # another run took it first
    return holder


def release_lock(wh: Warehouse, run_id: str) -> None:
    holder = _holder(wh)
    if holder is not None and holder.run_id == run_id:
        swap_holder(wh, holder, None)


def break_lock(wh: Warehouse, run_id: str, at: datetime) -> Holder:
    """Take the lock away from a run a user says is dead, and record that run as abandoned.
    Raises NotHolder naming the actual holder when `run_id` does not hold it."""
    holder = _holder(wh) if wh.table_exists(LOCK) else None
    if holder is None or holder.run_id != run_id:
        now = f"run {holder.run_id} holds it" if holder else "nobody holds it"
        raise NotHolder(f"run {run_id} does not hold the backfill lock: {now}")
    if not swap_holder(wh, holder, None):
        raise NotHolder(f"the lock of run {run_id} changed hands while it was being released")
    finish_run(wh, run_id, "abandoned", at)
    return holder


def start_run(wh: Warehouse, run_id: str, started_at: datetime, command: str) -> None:
    columns = list(TABLES[RUNS])
    row = (run_id, socket.gethostname(), os.getpid(), started_at, None, command, None)
    wh.execute(
        f"insert into {wh.relation(RUNS)} ({', '.join(columns)}) {wh.rows_as_select(columns, [row], _types(wh, RUNS))}"
    )


def finish_run(wh: Warehouse, run_id: str, outcome: str, finished_at: datetime) -> None:
    wh.execute(
        f"merge into {wh.relation(RUNS)} as t using (select {wh.literal(run_id)} as run_id) as s"
        f" on t.run_id = s.run_id"
        f" when matched then update set finished_at = {wh.literal(finished_at)}, outcome = {wh.literal(outcome)}"
    )


def last_run(wh: Warehouse) -> dict | None:
    if not wh.table_exists(RUNS):
        return None
    keys = list(TABLES[RUNS])
    rows = wh.rows(f"select {', '.join(keys)} from {wh.relation(RUNS)} order by started_at desc limit 1")
    return dict(zip(keys, rows[0])) if rows else None


Fingerprints = dict[tuple[date, str], tuple[int, str]]


@dataclass(frozen=True)
class SourceGame:
    row_count: int
    content_hash: str
    changed_at: datetime


def read_source_games(wh: Warehouse) -> dict[tuple[date, str], SourceGame]:
    if not wh.table_exists(SOURCE_GAMES):
        return {}
    rows = wh.rows(f"select game_date, game_id, row_count, content_hash, changed_at from {wh.relation(SOURCE_GAMES)}")
    return {(day, game): SourceGame(count, digest, at) for day, game, count, digest, at in rows}


def source_games_read(
    recorded: dict[tuple[date, str], SourceGame], days: list[date], fingerprints: Fingerprints, at: datetime
) -> dict[tuple[date, str], SourceGame]:
    """What `record_source_games` records for these dates, given what was `recorded`: a game
    whose fingerprint is new or different stamped `at`, a game no longer delivered kept with 0
    rows."""
    wanted, read = set(days), {}
    for key in {k for k in recorded.keys() | fingerprints.keys() if k[0] in wanted}:
        count, digest = fingerprints.get(key, (0, ""))
        before = recorded.get(key)
        same = before is not None and (before.row_count, before.content_hash) == (count, digest)
        read[key] = SourceGame(count, digest, before.changed_at if same else at)
    return read


def record_source_games(wh: Warehouse, days: list[date], fingerprints: Fingerprints, at: datetime) -> None:
    """Record the play-by-play these dates' build read (`source_games_read`), so that the
    features that read a game no longer delivered can still be found."""
    by_day: dict[date, list[tuple]] = {day: [] for day in days}
    for key, game in sorted(source_games_read(read_source_games(wh), days, fingerprints, at).items()):
        by_day[key[0]].append((*key, game.row_count, game.content_hash, game.changed_at))
    columns = list(TABLES[SOURCE_GAMES])
    types = _types(wh, SOURCE_GAMES)
    for chunk in _whole_days(by_day):
        rows = [row for day in chunk for row in by_day[day]]
        # a source of one NULL row when the dates no longer have any game
        source = wh.rows_as_select(columns, rows or [(None,) * len(columns)], types)
        wh.execute(
            f"""
            merge into {wh.relation(SOURCE_GAMES)} as t using ({source}) as s on false
            when not matched by source and t.game_date in {date_list(chunk)} then delete
            when not matched and s.game_date is not null
                then insert ({", ".join(columns)}) values ({", ".join("s." + c for c in columns)})
            """
        )


def _whole_days(by_day: dict[date, list]) -> Iterator[list[date]]:
    """Dates in chunks of about CHUNK_ROWS rows, a date never split."""
    chunk: list[date] = []
    rows = 0
    for day in sorted(by_day):
        if chunk and rows + len(by_day[day]) > CHUNK_ROWS:
            yield chunk
            chunk, rows = [], 0
        chunk.append(day)
        rows += len(by_day[day])
    if chunk:
        yield chunk


@dataclass(frozen=True)
class DirectBuild:
    """What one direct dbt run (no runner in the loop) built, as the ledger records it: read from
    DIRECT_BUILDS by the survey (survey.read_direct_builds), recorded by the next backfill."""

    invocation_id: str
    finished_at: datetime
    entries: list[Entry]
    player_game_days: list[date]  # the player-game dates it built
    source_games: Fingerprints  # the play-by-play those dates read: what was loaded before it finished


def record_direct_builds(wh: Warehouse, builds: list[DirectBuild], code_versions: dict[str, tuple[str, dict]]) -> None:
    """Record direct dbt runs in the order they finished, each forgotten from DIRECT_BUILDS once
    recorded. They created the views from their own code: which code is no longer known."""
    if not builds:
        return
    create_tables(wh)
    forget_views(wh)
    for build in builds:
        record_code_versions(wh, code_versions, build.finished_at)
        record(wh, build.entries)
        if build.player_game_days:
            record_source_games(wh, build.player_game_days, build.source_games, build.finished_at)
        wh.execute(
            f"merge into {wh.relation(DIRECT_BUILDS)} as t using (select {wh.literal(build.invocation_id)} as i) as s"
            " on t.invocation_id = s.i when matched then delete"
        )
