"""What the warehouse holds now, for the planner: the loaded dates, each partition's state
(from the ledger, the rows present, the code fingerprints and the play-by-play's), what a
changed game reaches, and what direct dbt runs built (as the ledger will hold it once the next
backfill has recorded it). Warehouse reads; the decisions are planning's."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime

from shotzones import code, ledger
from shotzones.columns import SchemaChange, schema_change
from shotzones.load.tables import SCHEDULE_TABLE, schedule_relation
from shotzones.planning import (
    CODE_CHANGED,
    FEATURES,
    MODELS,
    PLAYER_GAMES,
    Code,
    PartitionState,
    UpstreamChange,
    partition_states,
    player_game_states,
    source_changes,
    upstream_changes,
)
from shotzones.settings import Settings
from shotzones.warehouse import EVERY_DATE, Warehouse, date_list, open_warehouse, require_warehouse


class NothingLoaded(Exception):
    """The raw table is missing or empty."""


def loaded_dates(wh: Warehouse) -> list[date]:
    settings = wh.settings
    if not wh.table_exists(settings.raw_table, settings.raw_schema):
        raise NothingLoaded(f"{settings.raw_relation} does not exist: run `shotzones load` first")
    # a scheduled date up to the last delivered one is a game day too, data or not: its
    # partitions exist, and fail the coverage test until its play-by-play arrives
    raw = f"select distinct game_date from {settings.raw_relation} where {EVERY_DATE}"
    if wh.table_exists(SCHEDULE_TABLE, settings.raw_schema):
        raw += (
            f" union distinct select game_date from {schedule_relation(settings)}"
            f" where game_date <= (select max(game_date) from {settings.raw_relation} where {EVERY_DATE})"
        )
    dates = sorted(row[0] for row in wh.rows(raw))
    if not dates:
        raise NothingLoaded(f"{settings.raw_relation} is empty: run `shotzones load` first")
    return dates


def require_dates_in_range(dates: list[date], start: date | None, end: date | None) -> None:
    """Refuse a range that holds none of the loaded game dates: there is nothing to build."""
    if not any((start is None or day >= start) and (end is None or day <= end) for day in dates):
        asked = f"from {start} to {end}" if start and end else f"from {start} on" if start else f"up to {end}"
        raise NothingLoaded(f"no game dates loaded {asked}: the loaded dates run from {dates[0]} to {dates[-1]}")


def rows_present(wh: Warehouse, models=MODELS) -> dict[tuple[str, date], int]:
    counts: dict[tuple[str, date], int] = {}
    for model in models:
        if wh.table_exists(model):
            for day, rows in wh.rows(f"select game_date, count(*) from {wh.relation(model)} group by game_date"):
                counts[(model, day)] = rows
    return counts


# The play-by-play of each game, fingerprinted (row count and content hash): an ephemeral dbt
# model, whose compiled SQL the survey runs (it needs nothing built)
FINGERPRINTED = "int_games_fingerprinted"
# the session variable that narrows it to the rows loaded since (macro loaded_after)
LOADED_AFTER = "shotzones_loaded_after"
FINGERPRINT_CACHE = "shotzones_source_fingerprints"  # a directory in dbt's target/


def raw_version(wh: Warehouse) -> tuple[int, str]:
    """The play-by-play's row count and latest load: only the loader writes the raw table,
    stamping every row it writes, so the same pair means the same rows."""
    total, latest = wh.rows(f"select count(*), max(loaded_at) from {wh.settings.raw_relation} where {EVERY_DATE}")[0]
    return total, str(latest)


def source_fingerprints(wh: Warehouse, raw: tuple[int, str] | None = None) -> ledger.Fingerprints:
    """Every game's fingerprint as the play-by-play holds it now. Only the loader writes the raw
    table, stamping each row it writes with loaded_at and replacing a game whole, so the
    fingerprints a previous survey took (cached in dbt's target/) stay true of every game with
    no row loaded since: only the games loaded since are hashed again. Row counts that do not
    add up to the table's (a game deleted, none replacing it), or other fingerprint code, hash
    every game again."""
    total, latest = raw or raw_version(wh)
    cache = code.target_dir(wh.settings) / FINGERPRINT_CACHE / f"{_warehouse_key(wh.settings)}.json"
    version = hashlib.sha256(code.query(wh.settings, FINGERPRINTED).encode()).hexdigest()
    cached = json.loads(cache.read_text()) if cache.exists() else None
    if cached and cached.get("code") != version:
        cached = None
    if cached and (cached["total"], cached["latest"]) == (total, latest):
        return {(date.fromisoformat(day), game): (count, digest) for day, game, count, digest in cached["games"]}
    fingerprints = None
    if cached and cached["latest"] != "None" and latest != "None":
        # each statement of a load stamps its rows with its own current_timestamp: a survey taken
        # between two of them saw the first whole, and the second is later
        since = _fingerprints(wh, datetime.fromisoformat(cached["latest"]))
        reloaded = {game for _, game in since}
        kept = {
            (date.fromisoformat(day), game): (count, digest)
            for day, game, count, digest in cached["games"]
            if game not in reloaded
        }
        fingerprints = kept | since
        if sum(count for count, _ in fingerprints.values()) != total:
            fingerprints = None
    if fingerprints is None:
        fingerprints = _fingerprints(wh, None)
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    games = [[day.isoformat(), game, count, digest] for (day, game), (count, digest) in sorted(fingerprints.items())]
    partial.write_text(json.dumps({"code": version, "total": total, "latest": latest, "games": games}))
    partial.replace(cache)  # atomic: a concurrent survey reads the old cache or the new
    return fingerprints


def _fingerprints(wh: Warehouse, loaded_after: datetime | None) -> ledger.Fingerprints:
    """The fingerprints of the games loaded after `loaded_after` (None: every game)."""
    return {(day, game): (count, digest) for day, game, count, digest, _ in _games_fingerprinted(wh, loaded_after)}


def _games_fingerprinted(wh: Warehouse, loaded_after: datetime | None = None) -> list[tuple]:
    """(game_date, game_id, row_count, content_hash, loaded_at) of each game loaded after
    `loaded_after`: on DuckDB the model reads only those rows; elsewhere the filter on each
    game's latest load finds the same games, as the loader writes a game whole."""
    sql = f"select game_date, game_id, row_count, content_hash, loaded_at from ({code.query(wh.settings, FINGERPRINTED)}) as games"
    if loaded_after is None:
        return wh.rows(sql)
    return wh.rows(f"{sql} where loaded_at > {wh.literal(loaded_after)}", {LOADED_AFTER: loaded_after})


def _warehouse_key(settings: Settings) -> str:
    """A file name for the warehouse's raw table: its DuckDB file, or its BigQuery dataset."""
    where = (
        [str(settings.duckdb_path)] if settings.target == "duckdb" else [settings.bq_project, settings.bq_api_endpoint]
    )
    identity = json.dumps([settings.target, *where, settings.raw_relation])
    return hashlib.sha256(identity.encode()).hexdigest()[:20]


GAME_PLAYERS = "int_game_players"  # one row per player of a game, in any role (a dbt view)
# the dbt macro that says which later dates' windows read a changed game (macros/rolling_windows.sql)
REACH_INPUT = "shotzones_changed_players"
REACH_CALL = f"window_reach('{REACH_INPUT}')"


def window_reach(wh: Warehouse, changes: list[UpstreamChange]) -> dict[UpstreamChange, set[date]]:
    """For each change, the later dates whose windows read it (the dbt macro window_reach, which
    counts games as the windows do), from every player of the changed games -- as the
    player-games hold them, as the last features build saw them, and as the play-by-play is
    delivered now."""
    if not changes or not wh.table_exists(PLAYER_GAMES):
        return {change: set() for change in changes}
    values = wh.rows_as_select(
        ("change_id", "d0", "game_id"),
        [
            (number, change.day, game)
            for number, change in enumerate(changes)
            for game in (sorted(change.games) if change.games else [None])
        ],
        {"change_id": wh.types["int"], "d0": wh.types["date"], "game_id": wh.types["string"]},
    )
    # a literal filter on game_date too: BigQuery prunes partitions (and may require it) only so
    same_game = (
        f"t.game_date in {date_list(sorted({c.day for c in changes}))} and t.game_date = changes.d0"
        " and (changes.game_id is null or t.game_id = changes.game_id)"
    )
    tables = [model for model in (PLAYER_GAMES, FEATURES, GAME_PLAYERS) if wh.table_exists(model)]
    players = "\n    union distinct\n    ".join(
        f"select change_id, d0, t.player_lookup from ({values}) as changes"
        f" inner join {wh.relation(table)} as t on {same_game}"
        for table in tables
    )
    reach_sql = code.macro_sql(wh.settings, (REACH_CALL,))[REACH_CALL]
    rows = wh.rows(reach_sql.replace(REACH_INPUT, f"(\n    {players}\n)", 1))
    reach: dict[UpstreamChange, set[date]] = {change: set() for change in changes}
    for number, day in rows:
        reach[changes[number]].add(day)
    return reach


@dataclass(frozen=True)
class Beside:
    """The new versions under way beside the live tables: the rebuilds that can be resumed
    (the same code and play-by-play as when they started), their partitions' states (keyed by
    the live model's name), and the models whose new version can no longer be resumed."""

    under_way: dict[str, ledger.RebuildUnderWay]
    states: dict[tuple[str, date], PartitionState]
    abandoned: list[str]
    raw: tuple[int, str]  # the play-by-play now (raw_version)


@dataclass(frozen=True)
class Survey:
    """What the warehouse holds now: every partition's state, per player-game date the later
    dates whose features read what changed there (for the planner to rebuild with it), the
    fingerprint of every game's play-by-play, which models have a live table and how the
    code-changed ones' columns change, and the new versions under way beside them."""

    dates: list[date]
    states: dict[tuple[str, date], PartitionState]
    cascade: dict[date, set[date]]
    fingerprints: ledger.Fingerprints
    code: Code
    live_tables: set[str] = field(default_factory=set)
    schema_changes: dict[str, SchemaChange | None] = field(default_factory=dict)
    beside: Beside | None = None
    # what direct dbt runs built since the last backfill: in the states already, for the next
    # backfill to record (ledger.record_direct_builds)
    direct_builds: list[ledger.DirectBuild] = field(default_factory=list)


def current_states(settings: Settings) -> Survey:
    require_warehouse(settings)  # before the compile, which would create a missing DuckDB file
    versions = code.current_versions(settings)  # before opening the warehouse: dbt opens it too
    suffix = beside_suffix(settings)
    with open_warehouse(settings) as wh:
        dates = loaded_dates(wh)
        present = rows_present(wh, MODELS + tuple(model + suffix for model in MODELS))
        raw = raw_version(wh)
        fingerprints = source_fingerprints(wh, raw)
        direct_builds = read_direct_builds(wh, dates, versions, present, fingerprints)
        entries, recorded = _with_direct_builds(direct_builds, ledger.read_entries(wh), ledger.read_source_games(wh))
        known = {fingerprint: components for fingerprint, (_, components) in ledger.read_code_versions(wh).items()}
        code_now = Code(versions, known)
        live_tables = {model for model in MODELS if wh.table_exists(model)}
        built = {day for (model, day), entry in entries.items() if model == PLAYER_GAMES and entry.state == "done"}
        changed = source_changes(recorded, fingerprints, built)
        player_games = player_game_states(
            dates, entries, present, {d: list(g.values()) for d, g in changed.items()}, code_now
        )
        changes = upstream_changes(entries, recorded, changed, player_games)
        reach = window_reach(wh, changes)
        states = partition_states(
            dates, entries, present, {d: list(g.values()) for d, g in changed.items()}, reach, code_now
        )
        # a code change may change a table's columns: asked only then (DuckDB binds the SQL,
        # BigQuery dry-runs it)
        code_changed = {s.model for s in states.values() if s.reason.startswith(CODE_CHANGED)}
        schema_changes = {model: schema_change(wh, model) for model in MODELS if model in code_changed & live_tables}
        beside = _beside(wh, dates, entries, present, code_now, raw, suffix)
    for model, record in beside.under_way.items():
        built_beside = sum(beside.states[(model, day)].state == "done" for day in dates)
        under_way = (
            f" (new version under way beside the live table: {built_beside:,} of {len(dates):,} partitions built,"
            f" run {record.run_id})"
        )
        for day in dates:
            state = states[(model, day)]
            if state.state != "done":
                states[(model, day)] = PartitionState(model, day, state.state, state.reason + under_way)
    cascade: dict[date, set[date]] = {}
    for change, reached in reach.items():
        cascade.setdefault(change.day, set()).update(reached)
    return Survey(dates, states, cascade, fingerprints, code_now, live_tables, schema_changes, beside, direct_builds)


def beside_suffix(settings: Settings) -> str:
    """What a model's new version is called while it is built beside the live one (the dbt var
    that macros/beside.sql reads)."""
    return str(settings.vars["beside_suffix"])


def _beside(wh, dates, entries, present, code_now: Code, raw, suffix) -> Beside:
    """The new versions under way, and their partitions' states. A new version is resumed only
    if it was built from the same code and the same play-by-play as now; otherwise it is
    abandoned (dropped by the next backfill) and its partitions start from nothing."""
    records = ledger.read_rebuilds(wh)
    under_way: dict[str, ledger.RebuildUnderWay] = {}
    abandoned: list[str] = []
    states: dict[tuple[str, date], PartitionState] = {}
    for model in MODELS:
        fingerprint = code_now.current[model].fingerprint
        record = records.get(model)
        own = {day: entry for (name, day), entry in entries.items() if name == model + suffix}
        resumable = (
            record is not None
            and wh.table_exists(model + suffix)
            and (record.raw_rows, record.raw_loaded_at) == raw
            and all(entry.code_fingerprint == fingerprint for entry in own.values())
        )
        if resumable:
            under_way[model] = record
        elif record is not None or own or wh.table_exists(model + suffix):
            abandoned.append(model)
        for day in dates:
            entry = own.get(day) if resumable else None
            if entry is None:
                states[(model, day)] = PartitionState(model, day, "pending", "new version: not built yet")
            elif entry.state == "failed":
                states[(model, day)] = PartitionState(model, day, "failed", entry.error or "failed")
            elif entry.rows_written != present.get((model + suffix, day), 0):
                states[(model, day)] = PartitionState(model, day, "pending", "new version: rows changed since built")
            else:
                states[(model, day)] = PartitionState(model, day, "done", f"new version: run {entry.run_id}")
    return Beside(under_way, states, abandoned, raw)


def code_components(versions: dict[str, code.CodeVersion]) -> dict[str, tuple[str, dict]]:
    return {version.fingerprint: (model, version.components) for model, version in versions.items()}


def read_direct_builds(
    wh: Warehouse,
    dates: list[date],
    versions: dict[str, code.CodeVersion],
    present: dict[tuple[str, date], int],
    fingerprints: ledger.Fingerprints,
) -> list[ledger.DirectBuild]:
    """What direct dbt runs recorded (macros/direct_builds.sql), as ledger entries, in the order
    they finished (`_direct_entries`). Their player-game dates read the play-by-play loaded
    before the run: a game loaded since stays unrecorded, so it reads as changed."""
    if not wh.table_exists(ledger.DIRECT_BUILDS):
        return []
    rows = wh.rows(
        f"select invocation_id, finished_at, payload from {wh.relation(ledger.DIRECT_BUILDS)} order by finished_at"
    )
    if not rows:
        return []
    loaded_at = {(day, game): at for day, game, _, _, at in _games_fingerprinted(wh)}
    builds = []
    for invocation_id, finished_at, payload in rows:
        run_id = f"dbt-{invocation_id[:8]}"
        entries = _direct_entries(json.loads(payload), run_id, finished_at, dates, versions, present)
        days = [e.game_date for e in entries if e.model == PLAYER_GAMES and e.state == "done"]
        before = {key: value for key, value in fingerprints.items() if loaded_at[key] <= finished_at}
        builds.append(ledger.DirectBuild(invocation_id, finished_at, entries, days, before))
    return builds


def _direct_entries(
    payload: dict,
    run_id: str,
    finished_at: datetime,
    dates: list[date],
    versions: dict[str, code.CodeVersion],
    present: dict[tuple[str, date], int],
) -> list[ledger.Entry]:
    """A direct run's ledger entries: each incremental model it built is done on every loaded
    date, and failed where a failing test names the date (every date when it names none)
    whether it was built or skipped, with the current code fingerprint when the run compiled the
    SQL the project compiles to now (else unknown, so stale)."""
    problems: dict[str, dict[date | None, list[str]]] = {model: {} for model in MODELS}
    for test in payload["failed_tests"]:
        owners = [m for m in MODELS if any(d.endswith("." + m) for d in test["depends_on"])] or list(MODELS)
        days = [date.fromisoformat(d) for d in test["game_dates"] or []] or [None]
        for owner in owners:
            for day in days:
                problems[owner].setdefault(day, []).append(f"{test['name']}: {test['message'] or 'failed'}")
    entries = []
    for model in MODELS:
        built = payload["models"].get(model, {})
        success = built.get("status") == "success"
        same_code = success and built["compiled_md5"] == versions[model].compiled_md5
        for day in dates:
            error = "; ".join(problems[model].get(None, []) + problems[model].get(day, [])) or None
            if not success and error is None:
                continue  # skipped or failed to build: the table is as it was
            entries.append(
                ledger.Entry(
                    model,
                    day,
                    "failed" if error else "done",
                    run_id,
                    finished_at,
                    finished_at,
                    None if error else present.get((model, day), 0),
                    0.0,
                    error,
                    versions[model].fingerprint if same_code else None,
                )
            )
    return entries


def _with_direct_builds(
    builds: list[ledger.DirectBuild],
    entries: dict[tuple[str, date], ledger.Entry],
    recorded: dict[tuple[date, str], ledger.SourceGame],
) -> tuple[dict[tuple[str, date], ledger.Entry], dict[tuple[date, str], ledger.SourceGame]]:
    """The ledger's entries and source games as they will be once these direct builds are
    recorded (ledger.record_direct_builds), one after the other."""
    for build in builds:
        entries = entries | {(entry.model, entry.game_date): entry for entry in build.entries}
        days = set(build.player_game_days)
        if days:
            kept = {key: game for key, game in recorded.items() if key[0] not in days}
            recorded = kept | ledger.source_games_read(
                recorded, build.player_game_days, build.source_games, build.finished_at
            )
    return entries, recorded
