"""The backfill runner: plan the pending partitions, build them in waves of batches (one dbt
invocation a wave), and record each partition in the ledger once dbt has committed it and its
tests have passed. Killed at any moment, the next run redoes exactly what was not recorded."""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from shotzones import busy, ledger
from shotzones.planning import (
    MODELS,
    PLAYER_GAMES,
    Batch,
    PartitionState,
    cap_partitions,
    plan_batches,
    waves,
)
from shotzones.settings import Settings
from shotzones.survey import Survey, code_components, current_states, loaded_dates, require_dates_in_range
from shotzones.warehouse import open_warehouse, require_warehouse
from shotzones.waves import count_rows, run_wave


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


def plan(settings: Settings, options: Options) -> list[Batch]:
    require_warehouse(settings)
    with busy.hold(settings, busy.command_line("plan"), writes=False):
        survey = current_states(settings)
    require_dates_in_range(survey.dates, options.start, options.end)
    return plan_survey(survey, options)


def plan_survey(survey: Survey, options: Options) -> list[Batch]:
    return plan_batches(
        survey.dates,
        survey.states,
        options.start,
        options.end,
        options.models,
        options.batch_days,
        options.force,
        survey.cascade,
    )


def plan_waves(settings: Settings, batches: list[Batch], workers: int) -> list[list[Batch]]:
    """The waves a backfill runs: up to `workers` batches each, within BigQuery's partitions per job."""
    return cap_partitions(waves(batches, workers), settings.max_partitions_per_statement)


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
            _run_waves(
                settings,
                options,
                result,
                survey.fingerprints,
                progress.wrap(on_event),
                sleep,
                signals,
                survey.code.current,
            )
            if result.success:
                planned = {(model, day) for batch in result.planned for model in batch.models for day in batch.dates}
                result.not_done = [
                    state for key, state in survey.states.items() if state.state != "done" and key not in planned
                ]
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
            backfill_run_id=self.run_id,
            partitions_total=self.total,
            partitions_done=self.done,
            partitions_failed=self.failed,
            partitions_left=self.total - self.done - self.failed,
            wave=self.wave,
            current_batches=self.current if self._in_wave else [],
        )


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
    views = {name: version.fingerprint for name, version in versions.items() if version.materialized == "view"}
    with open_warehouse(settings) as wh:
        # views read no batch: created (all of them) by the first wave, unless every one is there
        # as the code says
        created = ledger.read_views(wh)
        views_current = all(created.get(name) == fp and wh.table_exists(name) for name, fp in views.items())
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
            outcome = run_wave(settings, wave, concurrency, with_views=not views_current)
        views_current = views_current or bool(outcome.views_built) and not outcome.views_failed
        seconds = time.perf_counter() - wave_started
        failure = outcome.failure_text()

        if failure and outcome.transient:
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
                            model,
                            day,
                            "failed" if error else "done",
                            result.run_id,
                            started_at,
                            finished_at,
                            None if error else rows[day],
                            seconds,
                            error,
                            versions[model].fingerprint,
                        )
                    )
            ledger.record_code_versions(wh, code_components(versions), datetime.now())
            ledger.record_views(wh, {name: views[name] for name in outcome.views_built}, datetime.now())
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
