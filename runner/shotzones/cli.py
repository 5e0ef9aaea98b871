"""The `shotzones` command line: each command a few lines over the library. Options are
defined in params.py, output is rendered in render.py (and render_serving.py); what ends a
command, and with which exit code, is here (docs/cli.md, "Exit codes")."""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click

from shotzones import busy, feature_log, params, render, render_serving
from shotzones.backfill import Options, backfill, plan, plan_waves, unlock
from shotzones.cost import estimate
from shotzones.generate import generate
from shotzones.ledger import BackfillLocked, NotHolder
from shotzones.load import LoadError, load, load_schedule
from shotzones.nightly import update
from shotzones.report import build_report
from shotzones.serving import (
    NotReady,
    ServingError,
    first_games,
    historical_features,
    pregame_features,
    read_entities,
    served_training_set,
    training_set,
)
from shotzones.settings import BadSetting, Settings
from shotzones.skew import skew
from shotzones.status import status, write_png
from shotzones.survey import NothingLoaded
from shotzones.warehouse import WarehouseUnavailable

# Exit codes every command shares; each command's own are in its help and in docs/cli.md.
EXIT_FAILED = 1  # something did not finish: partitions failed or not done, rows quarantined
EXIT_REFUSED = 2  # a usage error, or refused before doing anything
EXIT_BUSY = 4  # `status`: another command holds the warehouse
EXIT_SIGNAL = 128  # + the signal's number: 130 for SIGINT, 143 for SIGTERM
EXIT_BROKEN_PIPE = EXIT_SIGNAL + signal.SIGPIPE  # 141: the reader of stdout left


class Refused(click.ClickException):
    """The command cannot start: nothing loaded, no warehouse, a setting it cannot use, or
    another command holds the warehouse."""

    exit_code = EXIT_REFUSED


# What the library raises when a command is refused (exit 2): a message, never a traceback.
REFUSALS = (
    NothingLoaded,
    BackfillLocked,
    NotHolder,
    WarehouseUnavailable,
    BadSetting,
    busy.WarehouseBusy,
    LoadError,
    ServingError,
)


def _fail(message: str, exit_code: int) -> None:
    """End the command with `message` on stderr (and an `error` event under --json)."""
    if click.get_current_context().meta.get(params.JSON_META):
        render.emit("error", message=message, exit_code=exit_code)
    if exit_code == EXIT_REFUSED:
        raise Refused(message)
    render.warn(message)
    raise SystemExit(exit_code)


def _exit(code: int) -> None:
    if code:
        raise SystemExit(code)


class _Main(click.Group):
    def make_context(self, *args, **kwargs) -> click.Context:
        with _quiet_when_the_reader_leaves():  # `shotzones --help | head -1`
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        interrupted: list[int] = []

        def on_interrupt(signum: int, frame) -> None:
            interrupted.append(signum)
            raise KeyboardInterrupt

        # Ctrl-C outside a backfill (which handles its own): inside a DuckDB query it surfaces
        # as the query's error (RuntimeError "Query interrupted"), so the signal is noted here
        with _quiet_when_the_reader_leaves(), _handling(signal.SIGINT, on_interrupt):
            try:
                return super().invoke(ctx)
            except REFUSALS as error:
                _fail(str(error), EXIT_REFUSED)
            except NotReady as error:
                _fail(f"{error}\n{render_serving.NOT_READY_HINT}", EXIT_FAILED)
            except Exception:
                if not interrupted:
                    raise
                _fail("interrupted", EXIT_SIGNAL + signal.SIGINT)
            except KeyboardInterrupt:
                _fail("interrupted", EXIT_SIGNAL + signal.SIGINT)


@contextmanager
def _quiet_when_the_reader_leaves() -> Iterator[None]:
    """`shotzones status | head -1`: once the reader of the output has gone, end quietly with
    the code of a process killed by SIGPIPE, as Unix tools do (Python ignores the signal, so
    a write raises instead; click and rich would exit 1, the code of a failure). Nothing more
    is written: the exit's own flush would fail again."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(devnull, stream.fileno())
            except (OSError, ValueError):  # not a file (a test's capture)
                pass
        raise SystemExit(EXIT_BROKEN_PIPE) from None


@contextmanager
def _handling(signum: int, handler: Callable) -> Iterator[None]:
    """`handler` for the signal while the block runs (only the main thread receives signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signum, handler)
    try:
        yield
    finally:
        signal.signal(signum, previous)


@contextmanager
def _writing(path: Path | None, what: str) -> Iterator[None]:
    """A file the command writes that cannot be written (its folder was checked before): a
    refusal, naming it. Without a file (stdout) errors are what they are."""
    try:
        yield
    except OSError as error:
        if path is None or isinstance(error, BrokenPipeError):
            raise
        raise Refused(f"cannot write {what} to {path}: {error.strerror or error}") from error


def _settings(target: str | None, wait_seconds: float | None = None, dbt_vars: str = "") -> Settings:
    """The settings a command runs with; a `--vars` name the project does not declare is refused
    here, before dbt (a bad value, by the project's compile: BadVar)."""
    settings = replace(busy.with_wait(Settings.from_env(target), wait_seconds), dbt_vars=dbt_vars)
    settings.check_var_names()
    return settings


# Python's exit collects every object left, and a command that ran dbt leaves millions: 0.4 s of
# a nightly `update`. Registered first, this runs after every other exit handler and lets the
# exit skip that work (the process ends; nothing waits on those objects' finalisers).
atexit.register(gc.freeze)
# dbt makes a lock of multiprocessing's spawn context for every invocation; a signal that lands
# while it does can leave the lock's semaphore to multiprocessing's resource tracker (a process
# of its own, which inherits these warning options), which removes it at exit and warns on
# stderr, after the one line an interrupted command prints. The semaphore is removed either way.
sys.warnoptions.append("ignore::UserWarning:multiprocessing.resource_tracker")


@click.group(cls=_Main)
@click.version_option(package_name="shotzones")
def main() -> None:
    """NBA shot-zone rolling features from BigDataBall play-by-play."""


@main.command("generate")
@params.first_season
@params.seasons
@params.seed
@params.out_dir
@params.upcoming_dates
@params.format_generation
@params.processes
def generate_command(first_season, seasons, seed, out_dir, upcoming_dates, format_generation, processes) -> None:
    """Write realistic synthetic BigDataBall files, one per game, and schedule.csv."""
    params.check_seasons(first_season, seasons)
    with render.generate_progress(seasons) as on_game:
        summary = generate(
            out_dir,
            first_season,
            seasons,
            seed,
            format_generation=format_generation,
            on_game=on_game,
            upcoming_dates=upcoming_dates,
            workers=min(processes, seasons),
        )
    render.generated(summary, out_dir)


@main.command("load")
@params.paths
@params.target
@params.wait
@params.reread
@params.as_json
def load_command(paths, target, wait_seconds, reread, as_json) -> None:
    """Load play-by-play files and directories (.csv, .csv.gz) into the raw table: the files
    new or changed since they were last loaded (--all: every file).

    Exit codes: 0 all loaded, 1 rows quarantined or values set aside, 2 a file rejected or the
    warehouse busy."""
    settings = _settings(target, wait_seconds)
    with render.load_progress(as_json) as on_read:
        summary = load(settings, paths, reread, on_read=on_read)
    render.loaded(summary, settings, as_json)
    _exit(summary.exit_code)


@main.command("load-schedule")
@params.paths
@params.target
def load_schedule_command(paths, target) -> None:
    """Load schedule CSVs (season, game_id, game_date, away_team, home_team; directories: their
    schedule.csv files) into the schedule table, replacing earlier rows of the same games.

    Exit codes: 0 all loaded, 2 a file rejected."""
    settings = _settings(target)
    summary = load_schedule(settings, paths)
    render.schedule_loaded(summary, settings)
    _exit(summary.exit_code)


@main.command("backfill")
@params.backfill_options
def backfill_command(
    start, end, workers, batch_days, models, force, full_refresh, target, as_json, wait_seconds, dbt_vars
) -> None:
    """Build every pending partition in the range (default: all loaded dates), in parallel
    batches, recording each finished partition in the ledger.

    Exit codes: 0 every planned partition built, 1 some failed, 2 refused (nothing loaded in
    the range, another command holding the warehouse past --wait), 130/143 stopped by SIGINT/SIGTERM."""
    settings = _settings(target, wait_seconds, dbt_vars)
    options = params.backfill_run(start, end, models, workers, batch_days, force, full_refresh)
    with render.backfill_progress(as_json, settings, workers) as (on_plan, on_event):
        result = backfill(settings, options, on_event, on_plan=on_plan)
    stopped_by = signal.Signals(result.interrupted).name if result.interrupted else None
    render.backfilled(result, options, as_json, stopped_by)
    _exit(EXIT_SIGNAL + result.interrupted if stopped_by else 0 if result.success else EXIT_FAILED)


@main.command("plan")
@params.backfill_options
def plan_command(
    start, end, workers, batch_days, models, force, full_refresh, target, as_json, wait_seconds, dbt_vars
) -> None:
    """Show the batches a backfill would run, and why, without running anything.

    Exit codes: 0 planned (or nothing pending), 2 refused (nothing loaded in the range)."""
    settings = _settings(target, wait_seconds, dbt_vars)
    planned = plan(settings, params.backfill_run(start, end, models, workers, batch_days, force, full_refresh))
    planned_waves = plan_waves(settings, planned, workers)
    # on BigQuery, what each wave would scan and cost, from dry runs of its compiled statements
    costs = estimate(settings, planned_waves) if settings.target == "bigquery" else None
    render.plan(settings, planned_waves, costs, as_json)


@main.command("status")
@params.start
@params.end
@params.target
@params.as_json
@params.dbt_vars
@params.png
def status_command(start, end, target, as_json, dbt_vars, png) -> None:
    """Partitions by state per model, the failed and stale ones with their reasons, the last
    run, and a calendar per season; while another command holds the warehouse, who holds it and
    how far it is.

    Exit codes: 0 every partition in range done, 1 some failed, 3 none failed but some pending
    or stale, 4 another command holds the warehouse (nothing checked), 2 refused (nothing
    loaded in the range)."""
    settings = _settings(target, dbt_vars=dbt_vars)
    try:
        report = status(settings, *params.date_range(start, end))
    except busy.WarehouseBusy as running:
        render.busy_warehouse(running, as_json, EXIT_BUSY)
        raise SystemExit(EXIT_BUSY) from None
    if png:
        with _writing(png, "the calendar"):
            write_png(report.date_states(), png)
    render.status(report, png, as_json)
    _exit(report.exit_code)


@main.command("unlock")
@params.run_id
@params.target
def unlock_command(run_id: str, target: str | None) -> None:
    """Release the backfill lock of RUN_ID, a run you know is dead (one on another host is never
    taken over automatically). Its unrecorded partitions are simply pending: the next backfill
    redoes them.

    Exit codes: 0 released, 2 refused (RUN_ID does not hold the lock, no warehouse)."""
    render.unlocked(unlock(_settings(target), run_id))


@main.command("report")
@params.target
@params.wait
def report_command(target: str | None, wait_seconds: float | None) -> None:
    """Summarise what the warehouse holds: partitions, rows, NULL rates, a few players.

    Exit codes: 0 reported, 2 refused (no warehouse, nothing built yet, the warehouse busy)."""
    render.report(build_report(_settings(target, wait_seconds)))


# --- serving -----------------------------------------------------------------------------------


@main.command("features")
@params.day
@params.fmt
@params.out()
@params.games
@params.log
@params.allow_stale
@params.target
@params.dbt_vars
def features_command(day, fmt, out, games, log, allow_stale, target, dbt_vars) -> None:
    """Pre-game features of every player expected in the games scheduled on a date: what to
    score tonight's slate with. Reads only finished partitions of earlier dates (exit 1 if one
    is not done); a date without scheduled games, or no schedule, exits 2. Not logged unless
    --log: a look at a slate is not a serve."""
    fmt = params.output_format(fmt, out, takes_format=True)
    settings = _settings(target, dbt_vars=dbt_vars)
    rows = pregame_features(settings, day.date() if day else None, allow_stale)
    render_serving.served_anyway(rows)
    rows = first_games(rows, games) if games is not None else rows
    if log:
        render_serving.logged(feature_log.append(settings, rows.table, "features"))
    with _writing(out, "the rows"):
        render_serving.rows(rows, fmt, out, f"Pre-game features for {rows.day}", settings)


@main.command("export")
@params.start
@params.end
@params.entities
@params.out(required=True)
@params.as_served
@params.allow_stale
@params.target
@params.dbt_vars
def export_command(start, end, entities, out, as_served, allow_stale, target, dbt_vars) -> None:
    """A point-in-time training set: every played (game, player) from --start to --end (default:
    every loaded date) with its model-ready features and the game's actual shot mix; with
    --as-served, the features as they were served; or, with --entities, the features of each
    (player, date) row over his games before that date."""
    fmt = params.output_format(None, out)
    if as_served and entities is not None:
        raise click.UsageError("--as-served reads the serves of played games: drop --entities")
    if entities is not None and (start or end):
        raise click.UsageError("--entities gives its own dates: drop --start and --end")
    settings = _settings(target, dbt_vars=dbt_vars)
    if entities is not None:
        rows = historical_features(settings, read_entities(entities), allow_stale)
        title = f"Features of {rows.table.num_rows:,} entity rows"
    else:
        read = served_training_set if as_served else training_set
        rows = read(settings, *params.date_range(start, end), allow_stale)
        title = "Training set as served" if as_served else "Training set"
    render_serving.served_anyway(rows)
    with _writing(out, "the rows"):
        render_serving.rows(rows, fmt, out, title, settings)
    if as_served:
        render_serving.unserved(rows)


@main.command("skew")
@params.start
@params.end
@params.as_json
@params.rows_shown
@params.target
@params.dbt_vars
def skew_command(start, end, as_json, rows, target, dbt_vars) -> None:
    """Served against now: for every served player who played (the last serve of his game's
    slate), whether the features served equal what the warehouse gives now, and for each
    difference why (games loaded after the serve in his window, a code or var change, or both).

    Exit codes: 0 nothing differs, 1 some rows differ, 2 nothing served."""
    report = skew(_settings(target, dbt_vars=dbt_vars), *params.date_range(start, end))
    render_serving.skew(report, rows, as_json)
    _exit(EXIT_FAILED if report.differences else 0)


# --- the nightly job ---------------------------------------------------------------------------


@main.command("update")
@params.paths
@params.serve_out
@params.reread
@params.workers
@params.target
@params.as_json
@params.wait
@params.dbt_vars
@params.allow_rebuild
def update_command(paths, serve_out, reread, workers, target, as_json, wait_seconds, dbt_vars, allow_rebuild) -> None:
    """The nightly job: load the files new or changed since the last load (and the folder's
    schedule.csv), backfill what is pending or stale, and serve the next slate.

    Exit codes: 0 all done; 1 rows quarantined, values set aside, partitions failed, or the slate
    reads partitions not done; 2 a file rejected, nothing loaded, or the warehouse busy."""
    fmt = params.output_format(None, serve_out, "--serve-out") if serve_out else "csv"
    settings = _settings(target, wait_seconds, dbt_vars)
    result = update(
        settings,
        paths,
        Options(workers=workers),
        serve_out,
        fmt,
        reread,
        on_step=lambda step: render_serving.update_step(step, settings, serve_out, as_json),
        on_event=render.batch_event if as_json else (lambda event: None),
        allow_rebuild=allow_rebuild,
    )
    render_serving.update_finished(result, as_json)
    _exit(result.exit_code)
