"""The backfill runner: plan the pending partitions, build them in waves of batches (one dbt
invocation a wave), and record each partition in the ledger once dbt has committed it and its
tests have passed. Killed at any moment, the next run redoes exactly what was not recorded."""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

from shotzones import dbt, ledger
from shotzones.planning import (
    FEATURES,
    MODELS,
    PLAYER_GAMES,
    Batch,
    PartitionState,
    partition_states,
    plan_batches,
    UpstreamChange,
    player_game_states,
    cap_partitions,
    waves,
)
from shotzones.settings import RAW_COLUMNS, Settings
from shotzones.warehouse import EVERY_DATE, Warehouse, date_list, open_warehouse

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

    def as_dict(self) -> dict:
        return {
            "event": self.kind,
            "models": list(self.batch.models),
            "start": self.batch.start.isoformat(),
            "end": self.batch.end.isoformat(),
            "dates": len(self.batch.dates),
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "attempt": self.attempt,
        }


@dataclass
class BackfillResult:
    run_id: str
    planned: list[Batch]
    done: int = 0
    failed: list[ledger.Entry] = field(default_factory=list)
    seconds: float = 0.0
    recovered_lock: ledger.Holder | None = None

    @property
    def success(self) -> bool:
        return not self.failed


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


def require_warehouse(settings: Settings) -> None:
    """Refuse to plan on a DuckDB file that does not exist, rather than create an empty one."""
    if settings.target == "duckdb" and not settings.duckdb_path.exists():
        raise NothingLoaded(f"no warehouse at {settings.duckdb_path}: run `shotzones load` first")


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
    where {every_date}
    group by 1, 2
"""


def source_fingerprints(wh: Warehouse) -> ledger.Fingerprints:
    sql = FINGERPRINT_SQL.format(
        game_id=wh.canonical_game_id("game_id"),
        row_hash=wh.row_hash([wh.quote(name) for name in RAW_COLUMNS]),
        string=wh.types["string"],
        raw=wh.settings.raw_relation,
        every_date=EVERY_DATE,
    )
    rows = wh.rows(sql)
    return {(day, game): (count, digest) for day, game, count, digest in rows}


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


def current_states(settings: Settings) -> Survey:
    require_warehouse(settings)
    with open_warehouse(settings) as wh:
        dates = loaded_dates(wh)
        entries = ledger.read_entries(wh)
        present = rows_present(wh)
        built = {day for (model, day), entry in entries.items() if model == PLAYER_GAMES and entry.state == "done"}
        recorded = ledger.read_source_games(wh)
        fingerprints = source_fingerprints(wh)
        changed = source_changes(recorded, fingerprints, built)
        player_games = player_game_states(dates, entries, present, {d: list(g.values()) for d, g in changed.items()})
        changes = upstream_changes(entries, recorded, changed, player_games)
        reach = window_reach(wh, changes)
    cascade: dict[date, set[date]] = {}
    for change, reached in reach.items():
        cascade.setdefault(change.day, set()).update(reached)
    states = partition_states(dates, entries, present, {d: list(g.values()) for d, g in changed.items()}, reach)
    return Survey(dates, states, cascade, fingerprints)


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
        if state.state != "done" and day not in changed:
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
    return plan_survey(current_states(settings), options)


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
        return self.error or "; ".join(
            message for by_day in self.problems.values() for messages in by_day.values() for message in messages
        )


def failing_dates(settings: Settings, relation_name: str | None) -> list[date] | None:
    """The game dates a failed test's stored failures name, or None when it names none (then
    the failure belongs to every partition of the wave)."""
    if not relation_name:
        return None
    with open_warehouse(settings) as wh:
        if "game_date" not in wh.columns(relation_name):
            return None
        return [row[0] for row in wh.rows(f"select distinct game_date from {relation_name}")]


def wave_commands(models: tuple[str, ...]) -> list[list[str]]:
    """The dbt commands of a wave: build the staging views, the models and the views over them
    (not those over a model this wave leaves alone: it may not exist yet), then test them and
    their sources."""
    select = ["--select", "path:models/staging", *(f"{model}+" for model in models)]
    exclude = ["--exclude", *(f"{model}+" for model in MODELS if model not in models)]
    exclude = exclude if len(exclude) > 1 else []
    return [
        ["run", *select, *exclude],
        # a test that also reads a model outside this wave waits for that model's wave
        [
            "test", *select, "source:bigdataball", "--exclude", "test_type:unit", *exclude[1:],
            "--indirect-selection", "cautious",
        ],
    ]  # fmt: skip


def run_wave(settings: Settings, wave: list[Batch], threads: int) -> WaveOutcome:
    """Build the wave's batches, then test them: two dbt invocations, because in one `dbt build`
    a failing test skips everything downstream for every date of the wave, where only the dates
    the test names have failed."""
    models = wave[0].models
    results = []
    try:
        for command in wave_commands(models):
            batches = [(b.start, b.end) for b in wave]
            invocation = dbt.invoke(settings, [*command, "--threads", str(threads)], batches, quiet=True)
            results += invocation.result.results
            if command[0] == "run" and not invocation.success:
                break  # a model failed to build: there is nothing to test
    except dbt.DbtError as error:
        return WaveOutcome({}, {}, error=str(error))
    outcome = WaveOutcome({model: {} for model in models}, {})
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
        if status == "warn":
            outcome.warnings.append(f"{node.name}: {node_result.message or ''}".strip())
            continue
        days = failing_dates(settings, getattr(node, "relation_name", None)) if status == "fail" else None
        message = f"{node.name} {status}" + (f": {node_result.message}" if node_result.message else "")
        for owner in owners:
            for day in days or [None]:
                outcome.problems[owner].setdefault(day, []).append(message)
    return outcome


def count_rows(wh: Warehouse, model: str, days: list[date]) -> dict[date, int]:
    if not wh.table_exists(model):  # its first build failed
        return {day: 0 for day in days}
    rows = wh.rows(
        f"select game_date, count(*) from {wh.relation(model)} where game_date in {date_list(days)} group by game_date"
    )
    return {day: 0 for day in days} | dict(rows)


def backfill(
    settings: Settings,
    options: Options = Options(),
    on_event: Callable[[Event], None] = lambda event: None,
    sleep: Callable[[float], None] = time.sleep,
    on_plan: Callable[[list[Batch]], None] = lambda planned: None,
) -> BackfillResult:
    """Plan under the lock (`on_plan` sees the plan before anything runs), then build it."""
    started = time.perf_counter()
    run_id = uuid.uuid4().hex[:12]
    now = datetime.now()
    require_warehouse(settings)
    with open_warehouse(settings) as wh:
        loaded_dates(wh)  # refuse before taking the lock when nothing is loaded
        recovered = ledger.acquire_lock(wh, run_id, now)
        ledger.start_run(wh, run_id, now, f"backfill {options}")
    result = BackfillResult(run_id, [], recovered_lock=recovered)
    try:
        survey = current_states(settings)
        result.planned = plan_survey(survey, options)
        on_plan(result.planned)
        _run_waves(settings, options, result, survey.fingerprints, on_event, sleep)
    finally:
        outcome = "success" if result.success else "failed"
        with open_warehouse(settings) as wh:
            ledger.finish_run(wh, run_id, outcome, datetime.now())
            ledger.release_lock(wh, run_id)
        result.seconds = time.perf_counter() - started
    return result


def unlock(settings: Settings, run_id: str) -> ledger.Holder:
    """Release the lock of a run the user says is dead; LookupError when it does not hold it."""
    with open_warehouse(settings) as wh:
        return ledger.break_lock(wh, run_id, datetime.now())


def _run_waves(settings, options, result, fingerprints, on_event, sleep) -> None:
    """Build the plan wave by wave. `fingerprints` were taken before the plan: a load during
    the run can only make a build look older than it is (a redo later), never newer (a change
    missed)."""
    queue = deque(plan_waves(settings, result.planned, options.workers))
    concurrency = options.workers
    attempts: dict[int, int] = {}
    while queue:
        wave = queue.popleft()
        if len(wave) > concurrency:
            queue.appendleft(wave[concurrency:])
            wave = wave[:concurrency]
        for batch in wave:
            on_event(Event("started", batch))
        wave_started, started_at = time.perf_counter(), datetime.now()
        wave_days = [d for b in wave for d in b.dates]
        outcome = run_wave(settings, wave, concurrency)
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
                        )
                    )  # fmt: skip
            ledger.record(wh, entries)
            built = [e.game_date for e in entries if e.model == PLAYER_GAMES and e.state == "done"]
            if built:
                ledger.record_source_games(wh, built, fingerprints, outcome.finished_at.get(PLAYER_GAMES, started_at))
        result.done += sum(e.state == "done" for e in entries)
        result.failed += [e for e in entries if e.state == "failed"]
        failed_dates = {e.game_date for e in entries if e.state == "failed"}
        for batch in wave:
            batch_failures = sorted(d.isoformat() for d in failed_dates.intersection(batch.dates))
            if batch_failures:
                on_event(Event("failed", batch, seconds, f"{', '.join(batch_failures)}: {failure}"))
            else:
                on_event(Event("done", batch, seconds))
