"""The backfill runner: plan the pending partitions, build them in waves of batches (one dbt
invocation a wave), and record each partition in the ledger once dbt has committed it and its
tests have passed. Killed at any moment, the next run redoes exactly what was not recorded."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterator

from shotzones import busy, code, dbt, ledger
from shotzones.planning import (
    CODE_CHANGED,
    FEATURES,
    MODELS,
    PLAYER_GAMES,
    Batch,
    Code,
    PartitionState,
    partition_states,
    plan_batches,
    UpstreamChange,
    player_game_states,
    cap_partitions,
    waves,
)
from shotzones.settings import RAW_COLUMNS, Settings
from shotzones.warehouse import EVERY_DATE, Warehouse, date_list, open_warehouse, require_warehouse

# Errors that go away by themselves: a lock held by another process, a serialization
# conflict, a quota or rate limit, a dropped connection.
TRANSIENT_ERRORS = (
    "could not set lock", "conflicting lock", "could not serialize", "transaction conflict",
    "conflict on tuple", "write-write conflict",
    "quota exceeded", "rate limit", "ratelimitexceeded", "too many requests", "503",
    "too many dml statements outstanding",
    "connection reset", "connection aborted", "connection refused", "timed out", "deadline exceeded",
)  # fmt: skip


class NothingLoaded(Exception):
    """The raw table is missing or empty."""


@dataclass(frozen=True)
class Event:
    """One thing that happened to a batch, for the progress display or --json."""

    kind: str  # started | done | failed | retry | warning
    batch: Batch
    seconds: float = 0.0
    error: str | None = None
    attempt: int = 0


@dataclass
class BackfillResult:
    run_id: str
    planned: list[Batch]
    done: int = 0
    failed: list[ledger.Entry] = field(default_factory=list)
    seconds: float = 0.0
    recovered_lock: ledger.Holder | None = None
    interrupted: int | None = None  # the signal that stopped the run (SIGINT, SIGTERM)
    # after a successful run, the partitions still not done (outside its range): what a survey
    # under the same hold would find, without its cost. None when the run did not succeed.
    not_done: list[PartitionState] | None = None

    @property
    def success(self) -> bool:
        return not self.failed and self.interrupted is None

    @property
    def outcome(self) -> str:
        return "interrupted" if self.interrupted is not None else "failed" if self.failed else "success"


@dataclass(frozen=True)
class Options:
    start: date | None = None
    end: date | None = None
    models: tuple[str, ...] = MODELS
    workers: int = 4
    batch_days: int | None = None
    force: bool = False
    max_attempts: int = 5
    backoff_seconds: float = 1.0

    def command_line(self) -> str:
        """The run as `shotzones backfill` options, for the runs table."""
        words = ["backfill"]
        for name, value in (("--start", self.start), ("--end", self.end)):
            words += [name, value.isoformat()] if value else []
        if self.models != MODELS:
            words += ["--select", ",".join(self.models)]
        words += ["--workers", str(self.workers)]
        words += ["--batch-days", str(self.batch_days)] if self.batch_days else []
        words += ["--force"] if self.force else []
        return " ".join(words)


def loaded_dates(wh: Warehouse) -> list[date]:
    settings = wh.settings
    if not wh.table_exists(settings.raw_table, settings.raw_schema):
        raise NothingLoaded(f"{settings.raw_relation} does not exist: run `shotzones load` first")
    # a scheduled date up to the last delivered one is a game day too, data or not: its
    # partitions exist, and fail the coverage test until its play-by-play arrives
    raw = f"select distinct game_date from {settings.raw_relation} where {EVERY_DATE}"
    if wh.table_exists("schedule", settings.raw_schema):
        raw += (
            f" union distinct select game_date from {wh.relation('schedule', settings.raw_schema)}"
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


# The play-by-play of each game, fingerprinted: row count and an order-independent sum of row
# hashes over the 44 delivered columns (not source_file or loaded_at: reloading an identical file
# changes nothing).
FINGERPRINT_SQL = """
    select
        game_date,
        {game_id} as game_id,
        count(*) as row_count,
        cast(sum({row_hash}) as {string}) as content_hash
    from {raw}
    where {every_date} and {rows}
    group by 1, 2
"""
FINGERPRINT_CACHE = "shotzones_source_fingerprints"  # a directory in dbt's target/


def source_fingerprints(wh: Warehouse) -> ledger.Fingerprints:
    """Every game's fingerprint as the play-by-play holds it now. Only the loader writes the raw
    table, stamping each row it writes with loaded_at and replacing a game whole, so the
    fingerprints a previous survey took (cached in dbt's target/) stay true of every game with
    no row loaded since: only the games loaded since are hashed again. Row counts that do not
    add up to the table's (a game deleted, none replacing it) hash every game again."""
    total, latest = wh.rows(f"select count(*), max(loaded_at) from {wh.settings.raw_relation} where {EVERY_DATE}")[0]
    cache = code.target_dir(wh.settings) / FINGERPRINT_CACHE / f"{_warehouse_key(wh.settings)}.json"
    cached = json.loads(cache.read_text()) if cache.exists() else None
    if cached and (cached["total"], cached["latest"]) == (total, str(latest)):
        return {(date.fromisoformat(day), game): (count, digest) for day, game, count, digest in cached["games"]}
    fingerprints = None
    if cached and cached["latest"] != "None" and latest is not None:
        # each statement of a load stamps its rows with its own current_timestamp: a survey taken
        # between two of them saw the first whole, and the second is later
        since = _fingerprints(wh, f"loaded_at > {wh.literal(datetime.fromisoformat(cached['latest']))}")
        reloaded = {game for _, game in since}
        kept = {(date.fromisoformat(day), game): (count, digest)
                for day, game, count, digest in cached["games"] if game not in reloaded}  # fmt: skip
        fingerprints = kept | since
        if sum(count for count, _ in fingerprints.values()) != total:
            fingerprints = None
    if fingerprints is None:
        fingerprints = _fingerprints(wh, "true")
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    games = [[day.isoformat(), game, count, digest] for (day, game), (count, digest) in sorted(fingerprints.items())]
    partial.write_text(json.dumps({"total": total, "latest": str(latest), "games": games}))
    partial.replace(cache)  # atomic: a concurrent survey reads the old cache or the new
    return fingerprints


def _fingerprints(wh: Warehouse, rows: str) -> ledger.Fingerprints:
    """The fingerprints of the games with rows matching `rows` (every row of each such game
    must match: the loader writes a game whole)."""
    sql = FINGERPRINT_SQL.format(
        game_id=wh.canonical_game_id("game_id"),
        row_hash=wh.row_hash([wh.quote(name) for name in RAW_COLUMNS]),
        string=wh.types["string"],
        raw=wh.settings.raw_relation,
        every_date=EVERY_DATE,
        rows=rows,
    )
    return {(day, game): (count, digest) for day, game, count, digest in wh.rows(sql)}


def _warehouse_key(settings: Settings) -> str:
    """A file name for the warehouse's raw table: its DuckDB file, or its BigQuery dataset."""
    where = [str(settings.duckdb_path)] if settings.target == "duckdb" else [settings.bq_project, settings.bq_api_endpoint]
    identity = json.dumps([settings.target, *where, settings.raw_relation])
    return hashlib.sha256(identity.encode()).hexdigest()[:20]


def source_changes(
    recorded: dict[tuple[date, str], ledger.SourceGame], current: ledger.Fingerprints, built: set[date]
) -> dict[date, dict[str, str]]:
    """Per built date, the games whose play-by-play changed since its build read it."""
    changes: dict[date, dict[str, str]] = {}
    for day, game in sorted(recorded.keys() | current.keys()):
        if day not in built:
            continue
        now = current.get((day, game), (0, ""))
        before = recorded.get((day, game))
        if before is None:
            changes.setdefault(day, {})[game] = f"game {game} arrived late"
        elif (before.row_count, before.content_hash) != now:
            what = "was removed" if now == (0, "") else "was re-delivered changed"
            changes.setdefault(day, {})[game] = f"game {game} {what}"
    return changes


REACH_SQL = """
    with

    changes as (
        {changes}
    ),

    players as (
        {players}
    ),

    later_games as (
        select
            players.change_id,
            player_games.game_date,
            row_number() over (
                partition by players.change_id, players.player_lookup
                order by player_games.game_date, player_games.game_id
            ) as games_after
        from players
        inner join {player_games} as player_games
            on player_games.player_lookup = players.player_lookup and player_games.game_date > players.d0
    )

    select distinct change_id, game_date from later_games where games_after <= {window}
"""
LONGEST_WINDOW = 20


def window_reach(wh: Warehouse, changes: list[UpstreamChange]) -> dict[UpstreamChange, set[date]]:
    """For each change, the later dates whose windows read it: the next games, up to the
    longest window, of every player of the changed games -- as the player-games hold them, as
    the last features build saw them, and as the play-by-play is delivered now."""
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
    sources = [
        f"select change_id, d0, t.player_lookup from changes inner join {wh.relation(model)} as t on {same_game}"
        for model in (PLAYER_GAMES, FEATURES)
        if wh.table_exists(model)
    ]
    if wh.table_exists("stg_bigdataball__play_by_play"):
        lookups = ["player_lookup", "assist_player_lookup", "block_player_lookup"] + [
            f"{side}{n}_player_lookup" for side in "ah" for n in range(1, 6)
        ]
        sources.append(
            f"select change_id, d0, on_court_player as player_lookup from changes"
            f" inner join {wh.relation('stg_bigdataball__play_by_play')} as t on {same_game}"
            f" {wh.unnest_columns([f't.{c}' for c in lookups], 'on_court_player')}"
        )
    rows = wh.rows(
        REACH_SQL.format(
            changes=values,
            players="\n        union distinct\n        ".join(sources),
            player_games=wh.relation(PLAYER_GAMES),
            window=LONGEST_WINDOW,
        )
    )
    reach: dict[UpstreamChange, set[date]] = {change: set() for change in changes}
    for number, day in rows:
        reach[changes[number]].add(day)
    return reach


@dataclass(frozen=True)
class Survey:
    """What the warehouse holds now: every partition's state, per player-game date the later
    dates whose features read what changed there (for the planner to rebuild with it), and the
    fingerprint of every game's play-by-play."""

    dates: list[date]
    states: dict[tuple[str, date], PartitionState]
    cascade: dict[date, set[date]]
    fingerprints: ledger.Fingerprints
    code: Code


def current_states(settings: Settings) -> Survey:
    require_warehouse(settings)  # before the compile, which would create a missing DuckDB file
    versions = code.current_versions(settings)  # before opening the warehouse: dbt opens it too
    with open_warehouse(settings) as wh:
        dates = loaded_dates(wh)
        reconcile_direct_builds(wh, dates, versions)
        entries = ledger.read_entries(wh)
        known = {fingerprint: components for fingerprint, (_, components) in ledger.read_code_versions(wh).items()}
        code_now = Code(versions, known)
        present = rows_present(wh)
        built = {day for (model, day), entry in entries.items() if model == PLAYER_GAMES and entry.state == "done"}
        recorded = ledger.read_source_games(wh)
        fingerprints = source_fingerprints(wh)
        changed = source_changes(recorded, fingerprints, built)
        player_games = player_game_states(
            dates, entries, present, {d: list(g.values()) for d, g in changed.items()}, code_now
        )
        changes = upstream_changes(entries, recorded, changed, player_games)
        reach = window_reach(wh, changes)
    cascade: dict[date, set[date]] = {}
    for change, reached in reach.items():
        cascade.setdefault(change.day, set()).update(reached)
    states = partition_states(
        dates, entries, present, {d: list(g.values()) for d, g in changed.items()}, reach, code_now
    )
    return Survey(dates, states, cascade, fingerprints, code_now)


def _components(versions: dict[str, code.CodeVersion]) -> dict[str, tuple[str, dict]]:
    return {version.fingerprint: (model, version.components) for model, version in versions.items()}


def reconcile_direct_builds(wh: Warehouse, dates: list[date], versions: dict[str, code.CodeVersion]) -> None:
    """Turn what direct dbt runs recorded (macros/direct_builds.sql) into ledger entries. Each
    incremental model such a run built is done on every loaded date, and failed where a failing
    test names the date (every date when it names none) whether it was built or skipped, with the current code fingerprint
    when the run compiled the SQL the project compiles to now (else unknown, so stale). Its
    player-game dates record the play-by-play loaded before the run: a game loaded since stays
    unrecorded, so it reads as changed."""
    if not wh.table_exists(ledger.DIRECT_BUILDS):
        return
    builds = wh.rows(
        f"select invocation_id, finished_at, payload from {wh.relation(ledger.DIRECT_BUILDS)} order by finished_at"
    )
    if not builds:
        return
    ledger.create_tables(wh)
    present = rows_present(wh)
    fingerprints = source_fingerprints(wh)
    loaded_at = {
        (day, game): at
        for day, game, at in wh.rows(
            f"select game_date, {wh.canonical_game_id('game_id')}, max(loaded_at) from {wh.settings.raw_relation}"
            f" where {EVERY_DATE} group by 1, 2"
        )
    }
    for invocation_id, finished_at, payload in builds:
        payload = json.loads(payload)
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
                        model, day, "failed" if error else "done", f"dbt-{invocation_id[:8]}", finished_at,
                        finished_at, None if error else present.get((model, day), 0), 0.0, error,
                        versions[model].fingerprint if same_code else None,
                    )
                )  # fmt: skip
        ledger.record_code_versions(wh, _components(versions), finished_at)
        ledger.record(wh, entries)
        built_days = [e.game_date for e in entries if e.model == PLAYER_GAMES and e.state == "done"]
        if built_days:
            before = {key: value for key, value in fingerprints.items() if loaded_at[key] <= finished_at}
            ledger.record_source_games(wh, built_days, before, finished_at)
        wh.execute(
            f"delete from {wh.relation(ledger.DIRECT_BUILDS)} where invocation_id = {wh.literal(invocation_id)}"
        )


def upstream_changes(entries, recorded, changed, player_games) -> list[UpstreamChange]:
    """What changed under features partitions built earlier: games re-delivered, late or
    removed (rebuilt or not yet), and player-game dates not done. Only what a built features
    partition on or after the date could have read."""
    oldest_features_from: dict[date, datetime | None] = {}
    oldest = None
    for day in sorted(player_games, reverse=True):
        entry = entries.get((FEATURES, day))
        if entry is not None and entry.state == "done":
            oldest = entry.finished_at if oldest is None else min(oldest, entry.finished_at)
        oldest_features_from[day] = oldest
    changes = []
    for day, games in sorted(changed.items()):
        changes.append(UpstreamChange(day, frozenset(games), None, "; ".join(games.values())))
    for day, state in sorted(player_games.items()):
        # new player-game code changes every features fingerprint (they chain): stale already
        if state.state != "done" and day not in changed and not state.reason.startswith(CODE_CHANGED):
            changes.append(UpstreamChange(day, None, None, f"its player-games are {state.state}: {state.reason}"))
    rebuilt: dict[tuple[date, datetime], set[str]] = {}
    for (day, game), source in recorded.items():
        oldest = oldest_features_from.get(day)
        if oldest is not None and source.changed_at > oldest:
            rebuilt.setdefault((day, source.changed_at), set()).add(game)
    for (day, since), games in sorted(rebuilt.items()):
        changes.append(UpstreamChange(day, frozenset(games), since, f"games {', '.join(sorted(games))} changed"))
    return [c for c in changes if oldest_features_from.get(c.day) is not None]


def plan(settings: Settings, options: Options) -> list[Batch]:
    require_warehouse(settings)
    with busy.hold(settings, busy.command_line("plan"), writes=False):
        survey = current_states(settings)
    require_dates_in_range(survey.dates, options.start, options.end)
    return plan_survey(survey, options)


def plan_survey(survey: Survey, options: Options) -> list[Batch]:
    return plan_batches(
        survey.dates, survey.states, options.start, options.end, options.models, options.batch_days,
        options.force, survey.cascade,
    )  # fmt: skip


def plan_waves(settings: Settings, batches: list[Batch], workers: int) -> list[list[Batch]]:
    """The waves a backfill runs: up to `workers` batches each, within BigQuery's partitions per job."""
    return cap_partitions(waves(batches, workers), settings.max_partitions_per_statement)


def is_transient(message: str) -> bool:
    lowered = message.lower()
    return any(pattern in lowered for pattern in TRANSIENT_ERRORS)


@dataclass
class WaveOutcome:
    """What dbt said about one wave. `problems[model][day]` lists what failed the model's
    partition on that day; the day None stands for every partition of the wave."""

    problems: dict[str, dict[date | None, list[str]]]
    finished_at: dict[str, datetime]
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # the invocation itself failed
    views_built: bool = False  # the wave (re)created every view it selected

    def error_for(self, model: str, day: date) -> str | None:
        if self.error:
            return self.error
        by_day = self.problems.get(model, {})
        messages = by_day.get(None, []) + by_day.get(day, [])
        return "; ".join(messages) or None

    @property
    def whole_wave_failed(self) -> bool:
        return self.error is not None or any(None in by_day for by_day in self.problems.values())

    def failure_text(self) -> str:
        messages = (m for by_day in self.problems.values() for ms in by_day.values() for m in ms)
        return self.error or "; ".join(dict.fromkeys(messages))  # each once, in order


def failures_by_date(settings: Settings, node) -> dict[date, str] | None:
    """What a failed test's stored failures say, per game date they name: the measured rate
    against its bound, the scheduled games without play-by-play, or how many rows failed; and
    the audit table holding the rows. None when they name no date (the failure then belongs to
    every partition of the wave)."""
    relation = getattr(node, "relation_name", None)
    if not relation:
        return None
    with open_warehouse(settings) as wh:
        columns = wh.columns(relation)
        if "game_date" not in columns:
            return None
        rows = [dict(zip(columns, row)) for row in wh.rows(f"select * from {relation}")]
    by_day: dict[date, list[dict]] = {}
    for row in rows:
        by_day.setdefault(row["game_date"], []).append(row)
    table = relation.replace('"', "").replace("`", "")
    return {day: f"{node.name}: {_measured(node, found)} (rows in {table})" for day, found in by_day.items()}


def _measured(node, rows: list[dict]) -> str:
    """One date's failing rows of a test, said the way a person checks them."""
    row = rows[0]
    if "null_rate" in row:  # tests/generic/null_rate.sql: one row per date
        column = getattr(node, "column_name", None) or "the column"
        measured = f"{column} is NULL in {row['null_count']:,} of {row['row_count']:,} rows ({row['null_rate']:.1%})"
        if row["null_rate"] > row["max_rate"]:
            return f"{measured}, above the {row['max_rate']:.1%} allowed"
        return f"{measured}, below the {row['min_rate']:.1%} expected"
    if "coverage" in row:  # tests/generic/schedule_coverage.sql: one row per date
        missing = ", ".join(sorted((row.get("missing_games") or "").split(", ")))
        return (
            f"{row['games_with_play_by_play']} of {row['scheduled_games']} scheduled games have play-by-play"
            f" ({row['coverage']:.0%}); without any: {missing}"
        )
    return f"{len(rows):,} failing {'row' if len(rows) == 1 else 'rows'}"


def wave_commands(models: tuple[str, ...], with_views: bool = True) -> list[list[str]]:
    """The dbt commands of a wave: build the staging views, the models and the views over them
    (not those over a model this wave leaves alone: it may not exist yet), then test them and
    their sources. Without views, the models alone: a view reads no batch, so once a backfill
    has created them, later waves leave them be."""
    # every staging view, and every view the models read (int_shots_classified)
    select = ["--select", "path:models/staging", *(f"+{model},config.materialized:view" for model in models),
              *(f"{model}+" for model in models)]  # fmt: skip
    # a model upstream of the wave's is left alone itself; one downstream with its views
    exclude = ["--exclude", *(f"{m}+" if MODELS.index(m) > MODELS.index(models[0]) else m
                              for m in MODELS if m not in models)]  # fmt: skip
    exclude = exclude if len(exclude) > 1 else []
    build = ["run", *select, *exclude] if with_views else ["run", "--select", *models]
    return [
        build,
        # a test that also reads a model outside this wave waits for that model's wave
        [
            "test", *select, "source:bigdataball", "--exclude", "test_type:unit", *exclude[1:],
            "--indirect-selection", "cautious",
        ],
    ]  # fmt: skip


def run_wave(settings: Settings, wave: list[Batch], threads: int, with_views: bool = True) -> WaveOutcome:
    """Build the wave's batches, then test them: two dbt invocations, because in one `dbt build`
    a failing test skips everything downstream for every date of the wave, where only the dates
    the test names have failed."""
    models = wave[0].models
    results = []
    try:
        for command in wave_commands(models, with_views):
            batches = [(b.start, b.end) for b in wave]
            invocation = dbt.invoke(settings, [*command, "--threads", str(threads)], batches, quiet=True)
            results += invocation.result.results
            if command[0] == "run" and not invocation.success:
                break  # a model failed to build: there is nothing to test
    except dbt.DbtError as error:
        return WaveOutcome({}, {}, error=str(error))
    outcome = WaveOutcome({model: {} for model in models}, {})
    views = [r for r in results if r.node.resource_type == "model" and r.node.name not in models]
    outcome.views_built = with_views and all(str(r.status) == "success" for r in views)
    ran = {r.node.name for r in results if r.node.resource_type == "model"}
    for model in models:
        if model not in ran:  # never record done what dbt did not build
            outcome.problems[model][None] = [f"dbt did not run {model}"]
    for node_result in results:
        node, status = node_result.node, str(node_result.status)
        depends_on = set(getattr(node.depends_on, "nodes", []) or [])
        if node.resource_type == "model" and node.name in models:
            owners = [node.name]
            completed = [t.completed_at for t in node_result.timing if t.completed_at]
            if completed:
                outcome.finished_at[node.name] = max(completed)
        else:
            # a failing test (or staging view) fails the models that read what it checked
            owners = [m for m in models if any(d.endswith("." + m) for d in depends_on)] or list(models)
        if status in ("success", "pass"):
            continue
        measured = failures_by_date(settings, node) if status in ("fail", "warn") else None
        if status == "warn":
            outcome.warnings += (
                [f"{day}: {said}" for day, said in sorted(measured.items())]
                if measured
                else [f"{node.name}: {node_result.message or ''}"]
            )
            continue
        # an error (SQL, compilation) or a failure that names no date: the whole wave
        whole = f"{node.name} {status}" + (f": {node_result.message}" if node_result.message else "")
        for owner in owners:
            for day, message in (measured or {None: whole}).items():
                outcome.problems[owner].setdefault(day, []).append(message)
    return outcome


def count_rows(wh: Warehouse, model: str, days: list[date]) -> dict[date, int]:
    if not wh.table_exists(model):  # its first build failed
        return {day: 0 for day in days}
    rows = wh.rows(
        f"select game_date, count(*) from {wh.relation(model)} where game_date in {date_list(days)} group by game_date"
    )
    return {day: 0 for day in days} | dict(rows)


class Interrupted(Exception):
    """A signal stopped the backfill between two ledger writes."""


class Signals:
    """SIGINT and SIGTERM during a backfill. Remembered when they arrive, and raised (as
    KeyboardInterrupt) only while dbt runs or the runner waits to retry: there stopping is no
    worse than a kill -9, since dbt's statements roll back and nothing of the wave is recorded
    yet. The ledger writes in between always finish."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._interruptible = False

    def _handle(self, signum: int, frame) -> None:
        self.received = self.received or signum
        if self._interruptible:
            raise KeyboardInterrupt

    def _unraisable(self, unraisable) -> None:
        """An interrupt raised inside a finalizer (a thread pool's, collected) is swallowed there,
        with a traceback: no traceback. The signal is remembered, so the wave still records
        nothing, but it stops only once dbt has finished it."""
        if not (issubclass(unraisable.exc_type, KeyboardInterrupt) and self.received is not None):
            sys.__unraisablehook__(unraisable)

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():  # only it receives signals
            yield
            return
        previous = {number: signal.signal(number, self._handle) for number in (signal.SIGINT, signal.SIGTERM)}
        previous_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            sys.unraisablehook = previous_hook

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        self.check()
        self._interruptible = True
        try:
            yield
        except KeyboardInterrupt:
            self.received = self.received or signal.SIGINT
        finally:
            self._interruptible = False
        self.check()

    def check(self) -> None:
        if self.received is not None:
            raise Interrupted


def backfill(
    settings: Settings,
    options: Options = Options(),
    on_event: Callable[[Event], None] = lambda event: None,
    sleep: Callable[[float], None] = time.sleep,
    on_plan: Callable[[list[Batch]], None] = lambda planned: None,
) -> BackfillResult:
    """Plan under the lock (`on_plan` sees the plan before anything runs), then build it. The
    warehouse is held throughout (busy.hold), its progress advertised to `status`. SIGINT or
    SIGTERM stops it: the run is recorded `interrupted` (`result.interrupted` names the
    signal), what it had not recorded stays as it was, and the lock is released."""
    started = time.perf_counter()
    run_id = uuid.uuid4().hex[:12]
    now = datetime.now()
    require_warehouse(settings)
    signals = Signals()
    with signals.installed(), busy.hold(settings, busy.command_line("backfill"), run_id) as held:
        # on BigQuery the hold took the lock row (and recorded the run when it is this one's)
        takes_lock = not held.owns_lock_row
        records_run = takes_lock or held.activity.run_id != run_id
        with open_warehouse(settings) as wh:
            # refuse before taking the lock when there is nothing to build
            require_dates_in_range(loaded_dates(wh), options.start, options.end)
            recovered = ledger.acquire_lock(wh, run_id, now) if takes_lock else held.recovered
            if records_run:
                ledger.start_run(wh, run_id, now, options.command_line())
        result = BackfillResult(run_id, [], recovered_lock=recovered)
        progress = _Progress(held, run_id)
        try:
            survey = current_states(settings)
            result.planned = plan_survey(survey, options)
            progress.planned(result.planned)
            signals.check()
            on_plan(result.planned)
            _run_waves(settings, options, result, survey.fingerprints, progress.wrap(on_event), sleep, signals,
                       survey.code.current)  # fmt: skip
            if result.success:
                planned = {(model, day) for batch in result.planned for model in batch.models for day in batch.dates}
                result.not_done = [state for key, state in survey.states.items()
                                   if state.state != "done" and key not in planned]  # fmt: skip
        except Interrupted:
            result.interrupted = signals.received
        finally:
            held.outcome = result.outcome
            with open_warehouse(settings) as wh:
                if records_run:
                    ledger.finish_run(wh, run_id, result.outcome, datetime.now())
                if takes_lock:
                    ledger.release_lock(wh, run_id)
            result.seconds = time.perf_counter() - started
    return result


class _Progress:
    """The running backfill's progress, advertised through the hold for `status` to show."""

    def __init__(self, held: busy.Held, run_id: str):
        self.held, self.run_id = held, run_id
        self.total = self.done = self.failed = self.wave = 0
        self.current: list[str] = []
        self._in_wave = False

    def planned(self, batches: list[Batch]) -> None:
        self.total = sum(len(b.dates) * len(b.models) for b in batches)
        self._report()

    def wrap(self, on_event: Callable[[Event], None]) -> Callable[[Event], None]:
        def tracked(event: Event) -> None:
            partitions = len(event.batch.dates) * len(event.batch.models)
            if event.kind == "started":
                if not self._in_wave:
                    self.wave, self.current, self._in_wave = self.wave + 1, [], True
                self.current.append(f"{event.batch.start}..{event.batch.end} {'+'.join(event.batch.models)}")
            elif event.kind in ("done", "failed", "retry"):
                self._in_wave = False
                self.done += partitions if event.kind == "done" else 0
                self.failed += partitions if event.kind == "failed" else 0
            self._report()
            on_event(event)

        return tracked

    def _report(self) -> None:
        self.held.report(
            backfill_run_id=self.run_id, partitions_total=self.total, partitions_done=self.done,
            partitions_failed=self.failed, partitions_left=self.total - self.done - self.failed,
            wave=self.wave, current_batches=self.current if self._in_wave else [],
        )  # fmt: skip


def unlock(settings: Settings, run_id: str) -> ledger.Holder:
    """Release the lock of a run the user says is dead; LookupError when it does not hold it."""
    with open_warehouse(settings) as wh:
        return ledger.break_lock(wh, run_id, datetime.now())


def _run_waves(settings, options, result, fingerprints, on_event, sleep, signals: Signals, versions) -> None:
    """Build the plan wave by wave. `fingerprints` were taken before the plan: a load during
    the run can only make a build look older than it is (a redo later), never newer (a change
    missed)."""
    queue = deque(plan_waves(settings, result.planned, options.workers))
    concurrency = options.workers
    attempts: dict[int, int] = {}
    views_built = False  # the first wave that succeeds in creating the views is the last to
    while queue:
        wave = queue.popleft()
        if len(wave) > concurrency:
            queue.appendleft(wave[concurrency:])
            wave = wave[:concurrency]
        for batch in wave:
            on_event(Event("started", batch))
        wave_started, started_at = time.perf_counter(), datetime.now()
        wave_days = [d for b in wave for d in b.dates]
        with signals.interruptible():  # an interrupted wave records nothing: its partitions stay as they were
            outcome = run_wave(settings, wave, concurrency, with_views=not views_built)
        views_built = views_built or outcome.views_built
        seconds = time.perf_counter() - wave_started
        failure = outcome.failure_text()

        if failure and is_transient(failure):
            attempt = attempts.get(id(wave[0]), 0) + 1
            attempts[id(wave[0])] = attempt
            if attempt < options.max_attempts:
                concurrency = max(1, concurrency // 2)  # back off while the warehouse is struggling
                delay = options.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
                for batch in wave:
                    on_event(Event("retry", batch, seconds, failure, attempt))
                with signals.interruptible():
                    sleep(delay)
                queue.appendleft(wave)
                continue
        if outcome.whole_wave_failed and len(wave) > 1:
            # isolate the failing batch: the others still finish
            for batch in reversed(wave):
                queue.appendleft([batch])
            continue
        if not failure:
            concurrency = min(options.workers, concurrency * 2)
        for warning in outcome.warnings:
            on_event(Event("warning", wave[0], seconds, warning))

        with open_warehouse(settings) as wh:
            entries = []
            for model in wave[0].models:
                finished_at = outcome.finished_at.get(model, datetime.now())
                rows = count_rows(wh, model, wave_days)
                for day in wave_days:
                    error = outcome.error_for(model, day)
                    entries.append(
                        ledger.Entry(
                            model, day, "failed" if error else "done", result.run_id, started_at,
                            finished_at, None if error else rows[day], seconds, error,
                            versions[model].fingerprint,
                        )
                    )  # fmt: skip
            ledger.record_code_versions(wh, _components(versions), datetime.now())
            ledger.record(wh, entries)
            built = [e.game_date for e in entries if e.model == PLAYER_GAMES and e.state == "done"]
            if built:
                ledger.record_source_games(wh, built, fingerprints, outcome.finished_at.get(PLAYER_GAMES, started_at))
        result.done += sum(e.state == "done" for e in entries)
        result.failed += [e for e in entries if e.state == "failed"]
        for batch in wave:
            errors: dict[date, dict[str, None]] = {}  # per date, each error once
            for e in entries:
                if e.state == "failed" and e.game_date in batch.dates:
                    errors.setdefault(e.game_date, {})[e.error or ""] = None
            if errors:
                said = "; ".join(f"{day}: {' / '.join(found)}" for day, found in sorted(errors.items()))
                on_event(Event("failed", batch, seconds, said))
            else:
                on_event(Event("done", batch, seconds))
