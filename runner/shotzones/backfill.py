"""The backfill runner: plan the pending partitions, build them in waves of batches (one dbt
invocation a wave), and record each partition in the ledger once dbt has committed it and its
tests have passed. Killed at any moment, the next run redoes exactly what was not recorded."""

from __future__ import annotations

import shlex
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

from shotzones import busy, holding, ledger, rebuild
from shotzones.planning import (
    MODELS,
    PLAYER_GAMES,
    Batch,
    PartitionState,
    Rebuild,
    cap_partitions,
    plan_batches,
    rebuilt_beside,
    waves,
)
from shotzones.rebuild import built_beside
from shotzones.retry import Backoff
from shotzones.settings import Settings
from shotzones.survey import (
    Survey,
    beside_suffix,
    code_components,
    current_states,
    loaded_dates,
    require_dates_in_range,
)
from shotzones.warehouse import open_warehouse, require_warehouse
from shotzones.waves import WaveOutcome, count_rows, run_wave


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
    # the models whose new version replaced the live table (rebuild.py)
    swapped: list[str] = field(default_factory=list)
    # what kept new versions from replacing the live tables: (model, date, why)
    swap_held_back: list[tuple[str, date, str]] = field(default_factory=list)
    # the caller declined the plan (`approve`): nothing was built
    declined: bool = False
    # the dates whose partitions this run recorded (done or failed)
    recorded: set[date] = field(default_factory=set)
    # the models it rebuilt beside their live tables, and why
    rebuilds: list[Rebuild] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not (self.failed or self.swap_held_back or self.declined) and self.interrupted is None

    @property
    def outcome(self) -> str:
        if self.interrupted is not None:
            return "interrupted"
        return "declined" if self.declined else "success" if self.success else "failed"


@dataclass(frozen=True)
class Options:
    start: date | None = None
    end: date | None = None
    models: tuple[str, ...] = MODELS
    workers: int = 4
    batch_days: int | None = None
    force: bool = False
    # rebuild the selected models beside their live tables and swap them in (rebuild.py)
    full_refresh: bool = False
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
        words += ["--full-refresh"] if self.full_refresh else []
        return " ".join(words)

    def resume_command(self, result: BackfillResult) -> str:
        """The command that builds what this run left: a plain backfill finds what is pending
        or stale, but a forced rebuild of done partitions, or a --full-refresh, must be asked
        for again (from the first partition the run did not record, for --force)."""
        words = ["shotzones", "backfill"]
        if self.models != MODELS:
            words += ["--select", ",".join(self.models)]
        if self.full_refresh:
            return " ".join([*words, "--full-refresh"])
        start, end = self.start, self.end
        if self.force:
            left = [day for batch in result.planned for day in batch.dates if day not in result.recorded]
            start, end = (min(left), max(left)) if left else (start, end)
        for name, value in (("--start", start), ("--end", end)):
            words += [name, value.isoformat()] if value else []
        return " ".join(words + (["--force"] if self.force else []))


def plan(settings: Settings, options: Options) -> list[Batch]:
    require_warehouse(settings)
    with holding.hold(settings, busy.command_line("plan"), writes=False):
        survey = current_states(settings)
    require_dates_in_range(survey.dates, options.start, options.end)
    return plan_survey(survey, options)


def plan_survey(survey: Survey, options: Options) -> list[Batch]:
    """The batches that bring the selected partitions to done: into the live tables, and, for a
    model rebuilt beside its live table, into its new version over every loaded date (after
    the live batches it reads)."""
    rebuilds = planned_rebuilds(survey, options)
    beside = tuple(r.model for r in rebuilds)
    live_models = tuple(m for m in options.models if m not in beside)
    # a new version reads every earlier player-game: then the live ones are built whatever the range
    start, end = (None, None) if beside else (options.start, options.end)
    batches = []
    if live_models:
        batches += plan_batches(
            survey.dates, survey.states, start, end, live_models, options.batch_days, options.force, survey.cascade
        )
    if beside:
        why = {r.model: r.why for r in rebuilds}
        # the live models' partitions are the live batches' business, which run first
        states = {
            (model, day): survey.beside.states[(model, day)]
            if model in beside
            else PartitionState(model, day, "done", "")
            for model, day in survey.states
        }
        for batch in plan_batches(survey.dates, states, None, None, beside, options.batch_days):
            batch.beside = True
            batch.reasons = {f"{why[m]}: rebuilt beside the live table" for m in batch.models} | {
                r for r in batch.reasons if not r.startswith("new version: not built")
            }
            batches.append(batch)
    return batches


def planned_rebuilds(survey: Survey, options: Options) -> list[Rebuild]:
    """The models this run rebuilds beside their live tables (planning.rebuilt_beside)."""
    ranged = options.start is not None or options.end is not None
    return rebuilt_beside(
        survey.states, survey.schema_changes, survey.live_tables, options.models, ranged, options.full_refresh
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
    approve: Callable[[list[Batch], list[Rebuild]], bool] | None = None,
) -> BackfillResult:
    """Plan under the lock (`on_plan` sees the plan before anything runs), then build it. The
    warehouse is held throughout (holding.hold), its progress advertised to `status`. SIGINT or
    SIGTERM stops it: the run is recorded `interrupted` (`result.interrupted` names the
    signal), what it had not recorded stays as it was, and the lock is released."""
    started = time.perf_counter()
    run_id = uuid.uuid4().hex[:12]
    now = datetime.now()
    require_warehouse(settings)
    signals = Signals()
    # the runs table records the command as typed (`shotzones backfill --vars ...`), or, called
    # from Python, the run as its options
    command = busy.command_line(
        options.command_line() + (f" --vars {shlex.quote(settings.dbt_vars)}" if settings.dbt_vars else "")
    )
    with signals.installed(), holding.hold(settings, command, run_id) as held:
        # on BigQuery the hold took the lock row (and recorded the run when it is this one's)
        takes_lock = not held.owns_lock_row
        records_run = takes_lock or held.activity.run_id != run_id
        with open_warehouse(settings) as wh:
            # refuse before taking the lock when there is nothing to build
            require_dates_in_range(loaded_dates(wh), options.start, options.end)
            recovered = ledger.acquire_lock(wh, run_id, now) if takes_lock else held.recovered
            if records_run:
                ledger.start_run(wh, run_id, now, command)
        result = BackfillResult(run_id, [], recovered_lock=recovered)
        progress = _Progress(held, run_id)
        raised = False
        try:
            survey = current_states(settings)
            if survey.direct_builds:  # in the survey's states already; recorded here, under the lock
                with open_warehouse(settings) as wh:
                    ledger.record_direct_builds(wh, survey.direct_builds, code_components(survey.code.current))
            result.planned = plan_survey(survey, options)
            progress.planned(result.planned)
            signals.check()
            on_plan(result.planned)
            if approve is not None and not approve(result.planned, planned_rebuilds(survey, options)):
                result.declined = True
                return result
            _Waves(settings, options, result, survey, progress.wrap(on_event), sleep, signals).run()
            if result.success:
                planned = {(model, day) for batch in result.planned for model in batch.models for day in batch.dates}
                result.not_done = [
                    state for key, state in survey.states.items() if state.state != "done" and key not in planned
                ]
        except Interrupted:
            result.interrupted = signals.received
        except BaseException:
            raised = True  # whatever stopped it (a var the compile refuses, a lost connection): it failed
            raise
        finally:
            held.outcome = "failed" if raised else result.outcome
            with open_warehouse(settings) as wh:
                if records_run:
                    ledger.finish_run(wh, run_id, held.outcome, datetime.now())
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


@dataclass
class _Waves:
    """One backfill's waves: built one at a time, each recorded in the ledger once dbt has
    committed it. `fingerprints` were taken before the plan: a load during the run can only
    make a build look older than it is (a redo later), never newer (a change missed)."""

    settings: Settings
    options: Options
    result: BackfillResult
    survey: Survey
    on_event: Callable[[Event], None]
    sleep: Callable[[float], None]
    signals: Signals

    def run(self) -> None:
        versions = self.survey.code.current
        rebuilds = self.result.rebuilds = planned_rebuilds(self.survey, self.options)
        self.beside = built_beside(versions, tuple(r.model for r in rebuilds)) if rebuilds else ()
        self.views = {name: version.fingerprint for name, version in versions.items() if version.materialized == "view"}
        self.concurrency = self.options.workers
        with open_warehouse(self.settings) as wh:
            # views read no batch: the waves create them until every one is there as the code says
            # (a wave of player-games alone cannot create those over the features)
            created = ledger.read_views(wh)
            self.current_views = {n for n, fp in self.views.items() if created.get(n) == fp and wh.table_exists(n)}
            if rebuilds:
                rebuild.begin(wh, self.survey, rebuilds, self.result.run_id, datetime.now())
        # the new versions' views are created by the first wave that builds beside
        self.beside_views_built = False
        attempts: dict[tuple, int] = {}
        queue = deque(plan_waves(self.settings, self.result.planned, self.options.workers))
        while queue:
            wave = queue.popleft()
            if len(wave) > self.concurrency:
                queue.appendleft(wave[self.concurrency :])
                wave = wave[: self.concurrency]
            outcome, seconds, started_at = self._build(wave)
            failure = outcome.failure_text()
            key = tuple((b.start, b.end, b.models, b.beside) for b in wave)
            if failure and outcome.transient and attempts.get(key, 0) + 1 < self.options.max_attempts:
                attempts[key] = attempts.get(key, 0) + 1
                self._back_off(wave, seconds, failure, attempts[key])
                queue.appendleft(wave)
                continue
            if outcome.whole_wave_failed and len(wave) > 1:
                # isolate the failing batch: the others still finish
                queue.extendleft([batch] for batch in reversed(wave))
                continue
            if not failure:
                self.concurrency = min(self.options.workers, self.concurrency * 2)
            for warning in outcome.warnings:
                self.on_event(Event("warning", wave[0], seconds, warning))
            self._record(wave, outcome, seconds, started_at)
        if rebuilds:
            self._swap(rebuilds)

    def _build(self, wave: list[Batch]) -> tuple[WaveOutcome, float, datetime]:
        for batch in wave:
            self.on_event(Event("started", batch))
        wave_started, started_at = time.perf_counter(), datetime.now()
        beside = wave[0].beside
        with_views = not self.beside_views_built if beside else not set(self.views) <= self.current_views
        # an interrupted wave records nothing: its partitions stay as they were
        with self.signals.interruptible():
            outcome = run_wave(self.settings, wave, self.concurrency, with_views, beside=self.beside if beside else ())
        if not outcome.views_failed:
            self.current_views |= set(outcome.views_built) - set(self.beside)
            self.beside_views_built = self.beside_views_built or beside and bool(outcome.views_built)
        return outcome, time.perf_counter() - wave_started, started_at

    def _back_off(self, wave: list[Batch], seconds: float, failure: str, attempt: int) -> None:
        """Wait before trying a wave that met a transient error again, with fewer batches a wave
        while the warehouse is struggling."""
        self.concurrency = max(1, self.concurrency // 2)
        delay = Backoff(self.options.backoff_seconds).delay(attempt)
        for batch in wave:
            self.on_event(Event("retry", batch, seconds, failure, attempt))
        with self.signals.interruptible():
            self.sleep(delay)

    def _record(self, wave: list[Batch], outcome: WaveOutcome, seconds: float, started_at: datetime) -> None:
        """Ledger entries for every partition of the wave: done, or failed with why. A new
        version's partitions are recorded under its own name, and what its player-games read is
        recorded when it is swapped in."""
        versions = self.survey.code.current
        suffix = beside_suffix(self.settings) if wave[0].beside else ""
        wave_days = [d for b in wave for d in b.dates]
        with open_warehouse(self.settings) as wh:
            entries = []
            for model in wave[0].models:
                finished_at = outcome.finished_at.get(model, datetime.now())
                rows = count_rows(wh, model + suffix, wave_days)
                for day in wave_days:
                    error = outcome.error_for(model, day)
                    state, written = ("failed", None) if error else ("done", rows[day])
                    entries.append(
                        ledger.Entry(
                            model + suffix,
                            day,
                            state,
                            self.result.run_id,
                            started_at,
                            finished_at,
                            written,
                            seconds,
                            error,
                            versions[model].fingerprint,
                        )
                    )
            ledger.record_code_versions(wh, code_components(versions), datetime.now())
            # the live views the wave created (a new version's views are recorded once swapped in)
            live_views = {name: self.views[name] for name in outcome.views_built if name not in self.beside}
            ledger.record_views(wh, live_views, datetime.now())
            ledger.record(wh, entries)
            built = [e.game_date for e in entries if e.model == PLAYER_GAMES and e.state == "done"]
            if built:
                at = outcome.finished_at.get(PLAYER_GAMES, started_at)
                ledger.record_source_games(wh, built, self.survey.fingerprints, at)
        self.result.recorded.update(wave_days)
        self.result.done += sum(e.state == "done" for e in entries)
        self.result.failed += [e for e in entries if e.state == "failed"]
        for batch in wave:
            errors: dict[date, dict[str, None]] = {}  # per date, each error once
            for e in entries:
                if e.state == "failed" and e.game_date in batch.dates:
                    errors.setdefault(e.game_date, {})[e.error or ""] = None
            if errors:
                said = "; ".join(f"{day}: {' / '.join(found)}" for day, found in sorted(errors.items()))
                self.on_event(Event("failed", batch, seconds, said))
            else:
                self.on_event(Event("done", batch, seconds))

    def _swap(self, rebuilds: list[Rebuild]) -> None:
        """Swap the new versions in once they are whole; else say what holds them back."""
        with open_warehouse(self.settings) as wh:
            missing = rebuild.complete(wh, self.survey, rebuilds)
        if missing:
            self.result.swap_held_back = missing
            return
        rebuild.swap_in(self.settings, self.survey, rebuilds, datetime.now())
        self.result.swapped = [r.model for r in rebuilds]
