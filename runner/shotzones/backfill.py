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
    waves,
)
from shotzones.settings import Settings
from shotzones.warehouse import connect, table_exists

STAGING = ("stg_bigdataball__play_by_play", "stg_bigdataball__shots")
VIEWS_ON_FEATURES = ("player_shot_zone_features_model_ready",)
# Errors that go away by themselves: a lock held by another process, a serialization
# conflict, a quota or rate limit, a dropped connection.
TRANSIENT_ERRORS = (
    "could not set lock", "conflicting lock", "could not serialize", "transaction conflict",
    "conflict on tuple", "write-write conflict",
    "quota exceeded", "rate limit", "ratelimitexceeded", "too many requests", "503",
    "connection reset", "connection aborted", "connection refused", "timed out", "deadline exceeded",
)  # fmt: skip


class NothingLoaded(Exception):
    """The raw table is missing or empty."""


@dataclass(frozen=True)
class Event:
    """One thing that happened to a batch, for the progress display or --json."""

    kind: str  # started | done | failed | retry | skipped
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
    skipped: int = 0
    seconds: float = 0.0
    recovered_lock: ledger.Holder | None = None

    @property
    def success(self) -> bool:
        return not self.failed and not self.skipped


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


def loaded_dates(settings: Settings) -> list[date]:
    if not settings.duckdb_path.exists():
        raise NothingLoaded(f"no warehouse at {settings.duckdb_path}: run `shotzones load` first")
    with connect(settings) as con:
        if not table_exists(con, settings.raw_schema, settings.raw_table):
            raise NothingLoaded(f"{settings.raw_relation} does not exist: run `shotzones load` first")
        dates = [
            row[0]
            for row in con.execute(
                f"select distinct game_date from {settings.raw_relation} order by 1"
            ).fetchall()
        ]
    if not dates:
        raise NothingLoaded(f"{settings.raw_relation} is empty: run `shotzones load` first")
    return dates


def rows_present(con, models=MODELS) -> dict[tuple[str, date], int]:
    counts: dict[tuple[str, date], int] = {}
    for model in models:
        if table_exists(con, "main", model):
            for day, rows in con.execute(
                f"select game_date, count(*) from {model} group by game_date"
            ).fetchall():
                counts[(model, day)] = rows
    return counts


def current_states(settings: Settings) -> tuple[list[date], dict[tuple[str, date], PartitionState]]:
    dates = loaded_dates(settings)
    with connect(settings) as con:
        entries = ledger.read_entries(con)
        present = rows_present(con)
    return dates, partition_states(dates, entries, present)


def plan(settings: Settings, options: Options) -> list[Batch]:
    dates, states = current_states(settings)
    return plan_batches(
        dates, states, options.start, options.end, options.models, options.batch_days, options.force
    )


def is_transient(message: str) -> bool:
    lowered = message.lower()
    return any(pattern in lowered for pattern in TRANSIENT_ERRORS)


@dataclass
class WaveOutcome:
    """What dbt said about one wave: per model, None if built and tested, else the error."""

    model_errors: dict[str, str | None]
    finished_at: dict[str, datetime]
    error: str | None = None  # the invocation itself failed

    def failure_text(self) -> str:
        return self.error or "; ".join(f"{m}: {e}" for m, e in self.model_errors.items() if e)


def run_wave(settings: Settings, wave: list[Batch], threads: int) -> WaveOutcome:
    models = wave[0].models
    selected = [*STAGING, *models, *(VIEWS_ON_FEATURES if FEATURES in models else ())]
    try:
        result = dbt.invoke(
            settings,
            [
                "build", "--select", *selected, "--exclude", "test_type:unit",
                # a test that also reads a model outside this wave waits for that model's wave
                "--indirect-selection", "cautious",
                "--threads", str(threads),
            ],  # fmt: skip
            variables={"batches": [[b.start.isoformat(), b.end.isoformat()] for b in wave]},
            quiet=True,
        )
    except dbt.DbtError as error:
        return WaveOutcome({}, {}, error=str(error))
    errors: dict[str, list[str]] = {model: [] for model in models}
    finished_at: dict[str, datetime] = {}
    for node_result in result.result.results:
        node = node_result.node
        depends_on = set(getattr(node.depends_on, "nodes", []) or [])
        if node.resource_type == "model" and node.name in errors:
            owners = [node.name]
            completed = [t.completed_at for t in node_result.timing if t.completed_at]
            if completed:
                finished_at[node.name] = max(completed)
        elif node.resource_type in ("model", "test", "unit_test"):
            # a failing test (or staging view) fails the models that read what it checked
            owners = [m for m in models if any(d.endswith("." + m) for d in depends_on)] or list(models)
        else:
            owners = list(models)
        status = str(node_result.status)
        if status not in ("success", "pass"):
            for owner in owners:
                errors[owner].append(f"{node.name} {status}: {node_result.message or ''}".strip())
    return WaveOutcome(
        {model: "; ".join(problems) or None for model, problems in errors.items()}, finished_at
    )


def count_rows(settings: Settings, model: str, days: list[date]) -> dict[date, int]:
    with connect(settings) as con:
        rows = con.execute(
            f"select game_date, count(*) from {model} where game_date in (select unnest(?::date[]))"
            " group by game_date",
            [days],
        ).fetchall()
    return {day: 0 for day in days} | dict(rows)


def backfill(
    settings: Settings,
    options: Options = Options(),
    on_event: Callable[[Event], None] = lambda event: None,
    sleep: Callable[[float], None] = time.sleep,
) -> BackfillResult:
    started = time.perf_counter()
    run_id = uuid.uuid4().hex[:12]
    now = datetime.now()
    dates = loaded_dates(settings)
    with connect(settings) as con:
        recovered = ledger.acquire_lock(con, run_id, now)
        ledger.start_run(con, run_id, now, f"backfill {options}")
    result = BackfillResult(run_id, [], recovered_lock=recovered)
    try:
        with connect(settings) as con:
            states = partition_states(dates, ledger.read_entries(con), rows_present(con))
        result.planned = plan_batches(
            dates, states, options.start, options.end, options.models, options.batch_days, options.force
        )
        _run_waves(settings, options, result, on_event, sleep)
    finally:
        outcome = "success" if result.success else "failed"
        with connect(settings) as con:
            ledger.finish_run(con, run_id, outcome)
            ledger.release_lock(con, run_id)
        result.seconds = time.perf_counter() - started
    return result


def _run_waves(settings, options, result, on_event, sleep) -> None:
    queue = deque(waves(result.planned, options.workers))
    concurrency = options.workers
    failed_player_games: set[date] = set()
    attempts: dict[int, int] = {}
    while queue:
        wave = queue.popleft()
        # features read every earlier player-game partition: after a failure there, later
        # features wait (they stay pending) while their player-games still get built
        if FEATURES in wave[0].models and failed_player_games:
            blocked = [b for b in wave if min(failed_player_games) <= b.end]
            for batch in blocked:
                result.skipped += len(batch.dates)
                on_event(Event("skipped", batch, error="an earlier player-game partition failed"))
            wave = [b for b in wave if b not in blocked]
            upstream_only = [
                Batch((PLAYER_GAMES,), b.dates, b.reasons) for b in blocked if PLAYER_GAMES in b.models
            ]
            if upstream_only:
                queue.appendleft(upstream_only)
            if not wave:
                continue
        if len(wave) > concurrency:
            queue.appendleft(wave[concurrency:])
            wave = wave[:concurrency]
        for batch in wave:
            on_event(Event("started", batch))
        wave_started, started_at = time.perf_counter(), datetime.now()
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
        if failure and len(wave) > 1:
            # isolate the failing batch: the others still finish
            for batch in reversed(wave):
                queue.appendleft([batch])
            continue
        if not failure:
            concurrency = min(options.workers, concurrency * 2)

        entries = []
        for model in wave[0].models:
            error = outcome.error or outcome.model_errors.get(model)
            finished_at = outcome.finished_at.get(model, datetime.now())
            days = [d for b in wave for d in b.dates]
            rows = count_rows(settings, model, days) if not error else {}
            for day in days:
                entries.append(
                    ledger.Entry(
                        model, day, "failed" if error else "done", result.run_id, started_at,
                        finished_at, rows.get(day), seconds, error,
                    )
                )  # fmt: skip
            if error and model != FEATURES:
                failed_player_games.update(days)
        with connect(settings) as con:
            ledger.record(con, entries)
        result.done += sum(e.state == "done" for e in entries)
        result.failed += [e for e in entries if e.state == "failed"]
        for batch in wave:
            on_event(Event("failed" if failure else "done", batch, seconds, failure or None))
