"""The `shotzones` command line: each command a few lines over the library."""

from __future__ import annotations

import atexit
import gc
import itertools
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click
from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from shotzones import busy, feature_log, params
from shotzones.backfill import Event, Options, backfill, plan, plan_waves, unlock
from shotzones.cost import TIB, estimate
from shotzones.generate import SEASONS, generate
from shotzones.ledger import BackfillLocked
from shotzones.load import LoadError, load, load_schedule, quarantine_relation, schedule_relation
from shotzones.nightly import Step, update
from shotzones.planning import STATES, Batch, partitions_named
from shotzones.report import build_report
from shotzones.serving import (
    FORMATS,
    NotReady,
    Rows,
    ServingError,
    describe_ranges,
    historical_features,
    pregame_features,
    read_entities,
    served_training_set,
    training_set,
    write,
)
from shotzones.settings import BadSetting, Feature, Settings
from shotzones.skew import skew
from shotzones.status import calendar_lines, hours, status, write_png
from shotzones.survey import NothingLoaded
from shotzones.warehouse import WarehouseUnavailable

# Piped output (CI logs, `make demo | tee`) gets room for the tables rather than 80 columns, and
# messages are never wrapped (a wrapped line breaks grep); only tables fit the width.
console = Console(width=None if sys.stdout.isatty() else 120, soft_wrap=True)

# Exit codes every command shares (README, "Exit codes").
EXIT_REFUSED = 2
EXIT_SIGNAL = 128  # + the signal's number: 130 for SIGINT, 143 for SIGTERM


class Refused(click.ClickException):
    """The command cannot start: nothing loaded, no warehouse, a setting it cannot use, or
    another backfill holds the warehouse."""

    exit_code = EXIT_REFUSED


# What any command may meet before it does anything: refused with a message, never a traceback.
REFUSALS = (NothingLoaded, BackfillLocked, WarehouseUnavailable, BadSetting, busy.WarehouseBusy)


def emit(event: str, **fields) -> None:
    """One line of `--json` output: JSON Lines, each object with its `event` type and `at`, an
    ISO-8601 UTC timestamp (README, "JSON output")."""
    click.echo(json.dumps({"event": event, "at": utc(datetime.now()), **fields}))


def utc(moment: datetime) -> str:
    """A time as ISO-8601 UTC; the ledger's times are naive local times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_json() -> bool:
    return bool(click.get_current_context().meta.get(params.JSON_META))


def _fail(message: str, exit_code: int) -> None:
    """End the command with `message` on stderr (and an `error` event under --json)."""
    if _as_json():
        emit("error", message=message, exit_code=exit_code)
    if exit_code == EXIT_REFUSED:
        raise Refused(message)
    click.echo(message, err=True)
    raise SystemExit(exit_code)


class _Main(click.Group):
    def invoke(self, ctx: click.Context):
        interrupted: list[int] = []

        def on_interrupt(signum: int, frame) -> None:
            interrupted.append(signum)
            raise KeyboardInterrupt

        # Ctrl-C outside a backfill (which handles its own): inside a DuckDB query it surfaces
        # as the query's error (RuntimeError "Query interrupted"), so the signal is noted here
        with _handling(signal.SIGINT, on_interrupt):
            try:
                return super().invoke(ctx)
            except REFUSALS as error:
                _fail(str(error), EXIT_REFUSED)
            except Exception:
                if not interrupted:
                    raise
                _fail("interrupted", EXIT_SIGNAL + signal.SIGINT)
            except KeyboardInterrupt:
                _fail("interrupted", EXIT_SIGNAL + signal.SIGINT)


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


def _settings(target: str | None, wait_seconds: float | None = None, dbt_vars: str = "") -> Settings:
    """The settings a command runs with; a `--vars` name the project does not declare is refused
    here, before dbt (a bad value, by the project's compile: BadVar)."""
    settings = replace(busy.with_wait(Settings.from_env(target), wait_seconds), dbt_vars=dbt_vars)
    settings.check_var_names()
    return settings


def _date(value: datetime | None):
    return value.date() if value else None


def _range(start: datetime | None, end: datetime | None):
    """--start and --end as dates; a reversed range is a usage error."""
    if start and end and start > end:
        raise click.UsageError(f"--start {start:%Y-%m-%d} is after --end {end:%Y-%m-%d}")
    return _date(start), _date(end)


def _count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 game`, `1,230 games`."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


# Python's exit collects every object left, and a command that ran dbt leaves millions: 0.4 s of
# a nightly `update`. Registered first, this runs after every other exit handler and lets the
# exit skip that work (the process ends; nothing waits on those objects' finalisers).
atexit.register(gc.freeze)


@click.group(cls=_Main)
@click.version_option(package_name="shotzones")
def main() -> None:
    """NBA shot-zone rolling features from BigDataBall play-by-play."""


@main.command("generate")
@click.option(
    "--first-season",
    type=click.IntRange(SEASONS.start, SEASONS.stop - 1),
    required=True,
    help="Starting year of the first season (2021 = 2021-22).",
)
@click.option("--seasons", type=click.IntRange(1, 30), default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--upcoming-dates",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="The last N game dates are scheduled, not played yet: in schedule.csv, without files.",
)
@click.option(
    "--format-generation",
    type=click.Choice(["2017", "2021", "2024"]),
    default=None,
    help="Render every season in one format generation (default: the season's own).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=os.cpu_count() or 1,
    show_default=True,
    help="Processes writing seasons in parallel (the files are the same whatever the number).",
)
def generate_command(
    first_season: int,
    seasons: int,
    seed: int,
    out_dir: Path,
    upcoming_dates: int,
    format_generation: str | None,
    workers: int,
) -> None:
    """Write realistic synthetic BigDataBall files, one per game, and schedule.csv."""
    if first_season + seasons - 1 not in SEASONS:
        raise click.BadParameter(
            f"seasons {first_season} to {first_season + seasons - 1} go past {SEASONS.stop - 1}:"
            f" game ids carry two digits of the year, so seasons {SEASONS.start}-{SEASONS.stop - 1} keep them unique",
            param_hint="--seasons",
        )
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        # about 1,320 games a season: 1,230 regular, 6 play-in, 80-105 playoff games
        task = progress.add_task("generating games", total=1320 * seasons)
        summary = generate(
            out_dir,
            first_season,
            seasons,
            seed,
            format_generation=format_generation,
            on_game=lambda: progress.advance(task),
            upcoming_dates=upcoming_dates,
            workers=min(workers, seasons),
        )
    console.print(
        f"Wrote {_count(summary.files, 'file')} ({_count(summary.games, 'game')} on {_count(summary.dates, 'date')},"
        f" {_count(summary.rows, 'row')}) to {out_dir} in {summary.seconds:.1f} s"
    )


@main.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@params.target
@params.wait
@click.option("--all", "reread", is_flag=True, help="Read every file, also those unchanged since they were loaded.")
def load_command(paths: tuple[Path, ...], target: str | None, wait_seconds: float | None, reread: bool) -> None:
    """Load play-by-play files and directories (.csv, .csv.gz) into the raw table: the files
    new or changed since they were last loaded (--all: every file).

    Exit codes: 0 all loaded, 1 rows quarantined or values set aside, 2 a file rejected or the
    warehouse busy."""
    settings = _settings(target, wait_seconds)
    try:
        summary = load(settings, paths, reread)
    except LoadError as error:
        raise Refused(str(error)) from error
    _echo_load(summary, settings)
    if summary.exit_code:
        raise SystemExit(summary.exit_code)


def _echo_load(summary, settings: Settings) -> None:
    if not summary.files and summary.unchanged and not summary.rejected:
        click.echo(
            f"Nothing new to load: {_count(summary.unchanged, 'file')} unchanged since loaded (--all re-reads them)"
        )
        return
    if summary.rows or not summary.rejected:
        dates = f" ({summary.first_date} to {summary.last_date})" if summary.rows else ""
        unchanged = (
            f"; {_count(summary.unchanged, 'file')} unchanged since loaded, skipped" if summary.unchanged else ""
        )
        click.echo(
            f"Loaded {_count(summary.rows, 'row')} of {_count(summary.games, 'game')}{dates} from"
            f" {_count(summary.files, 'file')} into {settings.raw_relation} in {summary.seconds:.1f} s{unchanged}"
        )
    else:
        click.echo(f"Nothing loaded: {_count(len(summary.rejected), 'file')} rejected", err=True)
    for note in summary.notes:
        click.echo(f"note: {note}")
    for rejected in summary.rejected:
        click.echo(f"rejected {rejected.describe()}", err=True)
    if summary.problem_count:
        _echo_quarantine(summary, quarantine_relation(settings))


# Bad rows named one by one in the load output; past that, counts per file.
_BAD_ROWS_SHOWN = 30


def _echo_quarantine(summary, relation: str) -> None:
    click.echo(
        f"quarantined {_count(summary.quarantined_rows, 'row')} and set aside {_count(summary.set_aside_values, 'value')}"
        f" (rows loaded, values missing) ({_count(summary.problem_count, 'problem')})"
        f" in {_count(len(summary.quarantined_by_file), 'file')} into {relation}:",
        err=True,
    )
    rows = itertools.groupby(summary.problems, key=lambda p: (p.source_file, p.line))
    shown: dict[str, int] = {}
    for (file, line), problems in itertools.islice(rows, _BAD_ROWS_SHOWN):
        click.echo(f"  {file}:{line}: " + "; ".join(p.describe() for p in problems), err=True)
        shown[file] = shown.get(file, 0) + 1
    rest = [(file, count - shown.get(file, 0)) for file, count in summary.quarantined_by_file]
    rest = [(file, count) for file, count in rest if count]
    if rest:
        click.echo(
            f"  ... and {sum(c for _, c in rest):,} more bad rows: "
            + ", ".join(f"{file} ({count:,})" for file, count in rest[:10])
            + (f" and {len(rest) - 10:,} more files" if len(rest) > 10 else ""),
            err=True,
        )


@main.command("load-schedule")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@params.target
def load_schedule_command(paths: tuple[Path, ...], target: str | None) -> None:
    """Load schedule CSVs (season, game_id, game_date, away_team, home_team; directories: their
    schedule.csv files) into the schedule table, replacing earlier rows of the same games.

    Exit codes: 0 all loaded, 2 a file rejected."""
    settings = _settings(target)
    try:
        summary = load_schedule(settings, paths)
    except LoadError as error:
        raise Refused(str(error)) from error
    dates = f" ({summary.first_date} to {summary.last_date})" if summary.games else ""
    click.echo(
        f"Loaded {_count(summary.games, 'scheduled game')}{dates} from {_count(summary.files, 'file')} into"
        f" {schedule_relation(settings)} in {summary.seconds:.1f} s"
    )
    for rejected in summary.rejected:
        click.echo(f"rejected {rejected.describe()}", err=True)
    if summary.exit_code:
        raise SystemExit(summary.exit_code)


def _options(start, end, models, workers, batch_days, force, full_refresh) -> Options:
    if force and full_refresh:
        raise click.UsageError("--force rebuilds partitions in place, --full-refresh rebuilds whole models: choose one")
    return Options(*_range(start, end), models, workers, batch_days, force, full_refresh)


def _batch_fields(batch: Batch) -> dict:
    return {
        "models": list(batch.models),
        "start": batch.start.isoformat(),
        "end": batch.end.isoformat(),
        "dates": len(batch.dates),
        "beside": batch.beside,
    }


def _plan_fields(planned_waves: list[list[Batch]]) -> dict:
    """The plan's summary, counted as it runs (BigQuery's partition cap may split batches)."""
    batches = [batch for wave in planned_waves for batch in wave]
    return {
        "batches": len(batches),
        "waves": len(planned_waves),
        "partitions": sum(len(b.dates) * len(b.models) for b in batches),
    }


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
    options = _options(start, end, models, workers, batch_days, force, full_refresh)
    with _progress_display(as_json, settings, workers) as (on_plan, on_event):
        result = backfill(settings, options, on_event, on_plan=on_plan)
    if result.recovered_lock is not None:
        _say(as_json, f"recovered the lock of a dead backfill: {result.recovered_lock.describe()}")
    stopped_by = signal.Signals(result.interrupted).name if result.interrupted else None
    if as_json:
        emit(
            "finished",
            run_id=result.run_id,
            outcome=result.outcome,
            done=result.done,
            failed=len(result.failed),
            seconds=round(result.seconds, 3),
            signal=stopped_by,
            swapped=result.swapped,
            held_back=len(result.swap_held_back),
        )
    elif stopped_by is None and not result.planned:
        console.print("Nothing pending: every partition in range is done.")
    elif stopped_by is None:
        console.print(
            f"{_count(result.done, 'partition')} built, {len(result.failed):,} failed"
            f" in {result.seconds:.1f} s (run {result.run_id})"
        )
        _echo_failures(result.failed)
        _echo_swap(result, options)
    if stopped_by:
        click.echo(
            f"interrupted ({stopped_by}) after {_count(result.done, 'partition')} built in {result.seconds:.1f} s:"
            f" run {result.run_id} recorded interrupted, lock released; `{options.resume_command(result)}` builds the rest",
            err=True,
        )
        raise SystemExit(EXIT_SIGNAL + result.interrupted)
    if not result.success:
        raise SystemExit(1)


def _echo_swap(result, options: Options) -> None:
    """What became of the new versions built beside the live tables."""
    if result.swapped:
        console.print(f"New version swapped in: {', '.join(result.swapped)} (each live table replaced whole)")
    held = {}
    for model, day, why in result.swap_held_back:
        held.setdefault(model, []).append((day, why))
    for model, missing in held.items():
        day, why = missing[0]
        console.print(
            f"[red]not swapped in[/] {model}: its new version lacks {_count(len(missing), 'partition')}"
            f" the live table has (first {day}: {why}); the live table stays as it was,"
            f" and `{options.resume_command(result)}` resumes the new version",
            highlight=False,
        )


def _echo_failures(failed) -> None:
    """One line per reason: the dates (and models) it failed."""
    by_error: dict[str, dict[str, list[str]]] = {}
    for entry in failed:
        by_error.setdefault(entry.error or "", {}).setdefault(entry.game_date.isoformat(), []).append(entry.model)
    for error, days in by_error.items():
        models = sorted({model for found in days.values() for model in found})
        console.print(f"[red]failed[/] {', '.join(days)} ({', '.join(models)}): {error}", highlight=False)


def _say(as_json: bool, message: str) -> None:
    if as_json:
        emit("note", message=message)
    else:
        console.print(message)


@contextmanager
def _progress_display(
    as_json: bool, settings: Settings, workers: int
) -> Iterator[tuple[Callable[[list[Batch]], None], Callable[[Event], None]]]:
    """JSON lines with --json; a progress bar on a terminal; plain log lines otherwise. Yields
    what to call with the plan, and with each event."""
    if as_json:
        yield (
            lambda planned: emit("planned", **_plan_fields(plan_waves(settings, planned, workers))),
            lambda event: emit(
                event.kind,
                **_batch_fields(event.batch),
                seconds=round(event.seconds, 3),
                error=event.error,
                attempt=event.attempt,
            ),
        )
    elif console.is_terminal:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            "partitions",
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("backfill", total=None)

            def planned(batches: list[Batch]) -> None:
                progress.update(task, total=sum(len(b.dates) * len(b.models) for b in batches))

            def advance(event: Event) -> None:
                if event.kind in ("done", "failed"):
                    progress.advance(task, len(event.batch.dates) * len(event.batch.models))
                if event.kind in ("failed", "retry", "warning"):
                    progress.console.print(f"{event.kind} {event.batch.describe()}: {event.error}")

            yield planned, advance
    else:

        def log(event: Event) -> None:
            detail = f" in {event.seconds:.1f} s" if event.kind in ("done", "failed") else ""
            error = f": {event.error}" if event.error else ""
            click.echo(f"{datetime.now():%H:%M:%S} {event.kind} {event.batch.describe()}{detail}{error}")

        yield (lambda planned: None), log


@main.command("plan")
@params.backfill_options
def plan_command(
    start, end, workers, batch_days, models, force, full_refresh, target, as_json, wait_seconds, dbt_vars
) -> None:
    """Show the batches a backfill would run, and why, without running anything.

    Exit codes: 0 planned (or nothing pending), 2 refused (nothing loaded in the range)."""
    settings = _settings(target, wait_seconds, dbt_vars)
    planned = plan(settings, _options(start, end, models, workers, batch_days, force, full_refresh))
    planned_waves = plan_waves(settings, planned, workers)
    # on BigQuery, what each wave would scan and cost, from dry runs of its compiled statements
    costs = estimate(settings, planned_waves) if settings.target == "bigquery" else None
    price = settings.bq_price_per_tib
    if as_json:
        for number, wave in enumerate(planned_waves, start=1):
            cost = (
                {
                    "wave_bytes": costs[number - 1].bytes,
                    "wave_dollars": costs[number - 1].dollars(price),
                    "wave_statements": len(costs[number - 1].bytes_by_node),
                    "wave_partitions": partitions_named(wave),
                }
                if costs
                else {}
            )
            for batch in wave:
                emit("batch", wave=number, **_batch_fields(batch), reasons=sorted(batch.reasons), **cost)
        total = sum(cost.bytes for cost in costs) if costs else None
        emit(
            "planned",
            **_plan_fields(planned_waves),
            **({"bytes": total, "dollars": total / TIB * price} if costs else {}),
        )
        return
    if not planned:
        console.print("Nothing pending: every partition in range is done.")
        return
    columns = ("statements", "partitions", "scans", "cost") if costs else ()
    table = Table("wave", "batch", "why", *columns, title="Backfill plan")
    for number, wave in enumerate(planned_waves, start=1):
        for index, batch in enumerate(wave):
            cost = (
                [
                    str(len(costs[number - 1].bytes_by_node)),
                    f"{partitions_named(wave):,}",
                    filesize.decimal(costs[number - 1].bytes),
                    f"${costs[number - 1].dollars(price):.4f}",
                ]
                if costs
                else []
            )
            table.add_row(
                str(number),
                batch.describe(),
                "; ".join(sorted(batch.reasons)),
                *(cost if index == 0 else [""] * len(cost)),
            )
    console.print(table)
    if costs:
        total = sum(cost.bytes for cost in costs)
        console.print(
            f"Estimated from dry runs: {filesize.decimal(total)} scanned, ${total / TIB * price:.4f}"
            f" at ${price:g} per TiB (SHOTZONES_BQ_PRICE_PER_TIB). A wave's batches run as one statement per model."
        )
        console.print(
            f"The largest statement names {max(map(partitions_named, planned_waves)):,} partitions"
            f" (at most {settings.bq_max_partitions_per_job:,} a job: SHOTZONES_BQ_MAX_PARTITIONS_PER_JOB)."
        )


def _png_path(ctx, param, value: Path | None) -> Path | None:
    """Checked before anything runs: a calendar that cannot be written is a usage error."""
    if value is not None and not value.parent.is_dir():
        raise click.BadParameter(f"{value.parent} is not a directory", ctx, param)
    return value


@main.command("status")
@params.start
@params.end
@params.target
@params.as_json
@params.dbt_vars
@click.option(
    "--png",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_png_path,
    help="Also draw the calendar to this PNG file.",
)
def status_command(start, end, target, as_json, dbt_vars, png) -> None:
    """Partitions by state per model, the failed and stale ones with their reasons, the last
    run, and a calendar per season; while another command holds the warehouse, who holds it and
    how far it is.

    Exit codes: 0 every partition in range done, 1 some failed, 3 none failed but some pending
    or stale, 2 refused (nothing loaded in the range)."""
    settings = _settings(target, dbt_vars=dbt_vars)
    try:
        report = status(settings, *_range(start, end))
    except busy.WarehouseBusy as running:
        _echo_running(running, as_json)
        return
    if png:
        try:
            write_png(report.date_states(), png)
        except OSError as error:
            raise Refused(f"cannot write the calendar to {png}: {error.strerror or error}") from error
    if as_json:
        for p in report.partitions:
            emit("partition", model=p.model, date=p.game_date.isoformat(), state=p.state, reason=p.reason)
        last = report.last_run
        fresh = report.freshness
        emit(
            "status",
            models=report.counts(),
            exit_code=report.exit_code,
            last_run={key: utc(value) if isinstance(value, datetime) else value for key, value in last.items()}
            if last
            else None,
            freshness={
                "status": fresh.status,
                "loaded_at": utc(fresh.latest) if fresh.latest else None,
                "age_hours": hours(fresh.age),
                "warn_after_hours": hours(fresh.warn_after),
                "error_after_hours": hours(fresh.error_after),
            },
        )
        raise SystemExit(report.exit_code)
    table = Table("model", *STATES, title="Partitions")
    for model, counts in report.counts().items():
        table.add_row(model, *(str(counts[state]) for state in STATES))
    console.print(table)
    for problem in report.problems():
        console.print(problem.describe(), highlight=False, markup=False)
    if report.last_run:
        run = report.last_run
        console.print(
            f"Last run {run['run_id']} (`{run['command']}`) on {run['host']} started"
            f" {run['started_at']:%Y-%m-%d %H:%M:%S}: {run['outcome'] or 'not finished'}",
            highlight=False,
            markup=False,
        )
    console.print(report.freshness.describe(), highlight=False, markup=False)
    for line in calendar_lines(report.date_states()):
        console.print(line)
    if png:
        console.print(f"Calendar written to {png}")
    raise SystemExit(report.exit_code)


def _echo_running(running: busy.WarehouseBusy, as_json: bool) -> None:
    """What `status` can say while another command holds the warehouse: its holder, and a
    backfill's live progress."""
    activity = running.activity
    if as_json:
        click.echo(
            json.dumps({"busy": True, "holder": activity.as_json() if activity else None, "message": str(running)})
        )
        return
    if activity is None:
        console.print(str(running))
        return
    console.print(f"Busy: {activity.describe()}")
    progress = activity.progress
    if "partitions_total" in progress:
        console.print(
            f"backfill {progress['backfill_run_id']}: {progress['partitions_done']:,} of"
            f" {progress['partitions_total']:,} partitions done, {progress['partitions_left']:,} left,"
            f" {progress['partitions_failed']:,} failed; wave {progress['wave']}"
            + (f" building {', '.join(progress['current_batches'])}" if progress["current_batches"] else "")
            + f" (as of {activity.updated_at[11:19]} UTC)"
        )


@main.command("unlock")
@click.argument("run_id")
@params.target
def unlock_command(run_id: str, target: str | None) -> None:
    """Release the backfill lock of RUN_ID, a run you know is dead (one on another host is never
    taken over automatically). Its unrecorded partitions are simply pending: the next backfill
    redoes them.

    Exit codes: 0 released, 2 refused (RUN_ID does not hold the lock, no warehouse)."""
    try:
        holder = unlock(_settings(target), run_id)
    except LookupError as error:
        raise Refused(str(error)) from error
    click.echo(f"released the lock of {holder.describe()}; the run is recorded as abandoned")


@main.command("report")
@params.target
@params.wait
def report_command(target: str | None, wait_seconds: float | None) -> None:
    """Summarise what the warehouse holds: partitions, rows, NULL rates, a few players.

    Exit codes: 0 reported, 2 refused (no warehouse, nothing built yet, the warehouse busy)."""
    report = build_report(_settings(target, wait_seconds))
    console.print(f"[bold]{report.partitions}[/] game-date partitions, {report.first_date} to {report.last_date}")
    counts = Table("table", "rows", title="Rows")
    for name, rows in report.rows.items():
        counts.add_row(name, f"{rows:,}")
    console.print(counts)
    nulls = Table("feature", "NULL, all rows", f"NULL, full {report.window_games}-game window", title="NULL rates")
    for name, share in report.null_rates.items():
        full = report.null_rates_full_window[name]
        # no player has a full window in the first weeks of the data
        nulls.add_row(name, f"{share:.2%}", "no full window yet" if full is None else f"{full:.2%}")
    console.print(nulls)
    sample = Table(*report.sample_columns, title="Latest features of the busiest shooters")
    for row in report.sample:
        sample.add_row(*("" if value is None else str(value) for value in row))
    console.print(sample)


# --- serving -----------------------------------------------------------------------------------

_SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


def _serve(read: Callable[[], Rows]) -> Rows:
    """Run a serving read: nothing to serve is a refusal (2); partitions not done exit 1."""
    try:
        rows = read()
    except (ServingError, NothingLoaded) as error:
        raise Refused(str(error)) from error
    except NotReady as error:
        click.echo(f"{error}\nRun `shotzones backfill` first, or pass --allow-stale to serve anyway.", err=True)
        raise SystemExit(1) from error
    if rows.unready:
        click.echo(
            f"warning: served with {len(rows.unready)} partition{'s' if len(rows.unready) != 1 else ''} not done"
            " (--allow-stale):\n" + "\n".join(describe_ranges(rows.unready)),
            err=True,
        )
    return rows


def _output_format(fmt: str | None, out: Path | None) -> str:
    if fmt is None:
        if out is None:
            return "table"
        if out.suffix.lower() not in _SUFFIX_FORMATS:
            raise click.UsageError(f"--out {out}: name a .csv, .json, .jsonl or .parquet file, or pass --format")
        return _SUFFIX_FORMATS[out.suffix.lower()]
    if fmt == "table" and out is not None:
        raise click.UsageError("--format table prints to the terminal; --out takes csv, json or parquet")
    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet needs --out FILE")
    return fmt


def _emit(rows: Rows, fmt: str, out: Path | None, title: str, settings: Settings) -> None:
    if fmt == "table":
        _print_slate(rows, title, settings.model_features)
    elif out is not None:
        write(rows.table, fmt, out)
        click.echo(f"{title}: {rows.table.num_rows:,} rows written to {out}", err=True)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / f"rows.{fmt}"
            write(rows.table, fmt, path)
            click.echo(path.read_text(encoding="utf-8"), nl=False)


def _print_slate(rows: Rows, title: str, features: list[Feature]) -> None:
    data = rows.table.to_pylist()
    games = len({row["game_id"] for row in data})
    filled = any(row[f"{feature.name}_is_filled"] for row in data for feature in features)
    table = Table(
        "game",
        "team",
        "vs",
        "player",
        *(feature.label for feature in features),
        "games",
        title=f"{title}: {_count(games, 'game')}, {_count(len(data), 'player')}",
        caption="* league rate: no window of his own" if filled else None,
    )
    for row in data:
        cells = [
            "" if row[f.name] is None else f"{row[f.name]:.1f}" + ("*" if row[f"{f.name}_is_filled"] else "")
            for f in features
        ]
        opponent = ("vs " if row["is_home"] else "@ ") + (row["opponent_abbr"] or "")
        table.add_row(
            row["game_id"], row["team_abbr"], opponent, row["player_lookup"], *cells, str(row["games_in_window"])
        )
    console.print(table)


@main.command("features")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Game date, YYYY-MM-DD (default: the first scheduled date after the latest loaded one).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="table (default on a terminal), csv, json (JSON Lines) or parquet; with --out, from its suffix.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the rows to this file."
)
@click.option("--games", type=click.IntRange(1), default=None, help="Only the slate's first N games (by game id).")
@click.option(
    "--log",
    is_flag=True,
    help="Log the rows as served to the props model (shotzones_served_features), as `update` logs every"
    " slate it serves: what `export --as-served` and `skew` read.",
)
@params.allow_stale
@params.target
@params.dbt_vars
def features_command(day, fmt, out, games, log, allow_stale, target, dbt_vars) -> None:
    """Pre-game features of every player expected in the games scheduled on a date: what to
    score tonight's slate with. Reads only finished partitions of earlier dates (exit 1 if one
    is not done); a date without scheduled games, or no schedule, exits 2. Not logged unless
    --log: a look at a slate is not a serve."""
    fmt = _output_format(fmt, out)
    settings = _settings(target, dbt_vars=dbt_vars)
    rows = _serve(lambda: pregame_features(settings, _date(day), allow_stale))
    if games is not None:
        import pyarrow as pa  # here: it takes half a second to import, and only --games needs it
        import pyarrow.compute as pc

        first = sorted(set(rows.table.column("game_id").to_pylist()))[:games]
        rows = replace(rows, table=rows.table.filter(pc.is_in(rows.table.column("game_id"), pa.array(first))))
    if log:
        served = feature_log.append(settings, rows.table, "features")
        click.echo(f"Logged as served: serve {served.serve_id}, {_count(served.rows, 'row')}", err=True)
    _emit(rows, fmt, out, f"Pre-game features for {rows.day}", settings)


@main.command("export")
@params.start
@params.end
@click.option(
    "--entities",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV of player_lookup, as_of_date: features as of each row's date (a historical read).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The file to write: .parquet, .csv, .json or .jsonl.",
)
@click.option(
    "--as-served",
    is_flag=True,
    help="The features as the props model was served them (the log `update` and `features --log` write):"
    " per played game and player, the last serve of his game's slate, with the same labels.",
)
@params.allow_stale
@params.target
@params.dbt_vars
def export_command(start, end, entities, out, as_served, allow_stale, target, dbt_vars) -> None:
    """A point-in-time training set: every played (game, player) from --start to --end (default:
    every loaded date) with its model-ready features and the game's actual shot mix; with
    --as-served, the features as they were served; or, with --entities, the features of each
    (player, date) row over his games before that date."""
    fmt = _output_format(None, out)
    settings = _settings(target, dbt_vars=dbt_vars)
    if as_served:
        if entities is not None:
            raise click.UsageError("--as-served reads the serves of played games: drop --entities")
        rows = _serve(lambda: served_training_set(settings, *_range(start, end), allow_stale))
        _emit(rows, fmt, out, "Training set as served", settings)
        click.echo(
            f"{_count(rows.unserved, 'player-game')} played in the range but never served: not in the file",
            err=True,
        )
        return
    if entities is not None:
        if start or end:
            raise click.UsageError("--entities gives its own dates: drop --start and --end")
        rows = _serve(lambda: historical_features(settings, read_entities(entities), allow_stale))
        _emit(rows, fmt, out, f"Features of {rows.table.num_rows:,} entity rows", settings)
        return
    rows = _serve(lambda: training_set(settings, *_range(start, end), allow_stale))
    _emit(rows, fmt, out, "Training set", settings)


@main.command("skew")
@params.start
@params.end
@params.as_json
@click.option(
    "--rows", type=click.IntRange(0), default=20, show_default=True, help="Differing rows shown, worst first."
)
@params.target
@params.dbt_vars
def skew_command(start, end, as_json, rows, target, dbt_vars) -> None:
    """Served against now: for every served player who played (the last serve of his game's
    slate), whether the features served equal what the warehouse gives now, and for each
    difference why (games loaded after the serve in his window, a code or var change, or both).

    Exit codes: 0 nothing differs, 1 some rows differ, 2 nothing served."""
    settings = _settings(target, dbt_vars=dbt_vars)
    try:
        report = skew(settings, *_range(start, end))
    except ServingError as error:
        raise Refused(str(error)) from error
    if as_json:
        for difference in report.differences[:rows] if rows else report.differences:
            emit(
                "difference",
                game_id=difference.game_id,
                player_lookup=difference.player_lookup,
                date=difference.game_date.isoformat(),
                serve_id=difference.serve_id,
                served_at=utc(difference.served_at),
                columns={name: {"served": s, "now": n} for name, (s, n) in difference.columns.items()},
                cause=difference.cause,
                games=[{"game_id": g, "date": d.isoformat()} for g, d in difference.games],
                league_games=difference.league_games,
                code=difference.code,
            )
        emit(
            "skew",
            compared=report.compared,
            serves=report.serves,
            differing=len(report.differences),
            causes=report.counts(),
        )
    else:
        console.print(
            f"Compared {_count(report.compared, 'served player-game')} who played ({_count(report.serves, 'serve')}):"
            f" {len(report.differences):,} differ from what the warehouse gives now",
            highlight=False,
        )
        for cause, count in report.counts().items():
            if count:
                console.print(f"  {cause}: {count:,}", highlight=False)
        for difference in report.differences[:rows]:
            console.print(difference.describe(), highlight=False, markup=False)
        if len(report.differences) > rows:
            console.print(f"... and {len(report.differences) - rows:,} more (--rows N, or --json)", highlight=False)
    if report.differences:
        raise SystemExit(1)


# --- the nightly job ---------------------------------------------------------------------------


@main.command("update")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--serve-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the next slate's pre-game features to this .csv, .json, .jsonl or .parquet file.",
)
@click.option("--all", "reread", is_flag=True, help="Read every file, also those unchanged since they were loaded.")
@params.workers
@params.target
@params.as_json
@params.wait
@params.dbt_vars
@click.option(
    "--allow-rebuild",
    is_flag=True,
    help="On BigQuery, rebuild what a code or var change made stale (billed; its estimate is printed first)."
    " Without it a nightly run there builds nothing for a code change. DuckDB always rebuilds.",
)
def update_command(paths, serve_out, reread, workers, target, as_json, wait_seconds, dbt_vars, allow_rebuild) -> None:
    """The nightly job: load the files new or changed since the last load (and the folder's
    schedule.csv), backfill what is pending or stale, and serve the next slate.

    Exit codes: 0 all done; 1 rows quarantined, values set aside, partitions failed, or the slate
    reads partitions not done; 2 a file rejected, nothing loaded, or the warehouse busy."""
    fmt = _output_format(None, serve_out) if serve_out else "csv"
    settings = _settings(target, wait_seconds, dbt_vars)
    say = emit if as_json else None
    on_event = (
        (
            lambda event: emit(
                event.kind,
                **_batch_fields(event.batch),
                seconds=round(event.seconds, 3),
                error=event.error,
                attempt=event.attempt,
            )
        )
        if as_json
        else (lambda event: None)
    )
    try:
        result = update(
            settings,
            paths,
            Options(workers=workers),
            serve_out,
            fmt,
            reread,
            on_step=lambda step: _echo_step(step, settings, serve_out, say),
            on_event=on_event,
            allow_rebuild=allow_rebuild,
        )
    except (LoadError, NothingLoaded) as error:
        raise Refused(str(error)) from error
    if say:
        say("finished", exit_code=result.exit_code, seconds=round(result.seconds, 3))
    else:
        click.echo(f"update finished in {result.seconds:.1f} s, exit code {result.exit_code}")
    if result.exit_code:
        raise SystemExit(result.exit_code)


def _echo_rebuilds(result, settings: Settings, say) -> None:
    """What update rebuilds for a code or var change, said before it runs (and on BigQuery
    what it would cost, and whether it runs)."""
    cost = {}
    if result.rebuild_bytes is not None:
        cost = {"bytes": result.rebuild_bytes, "dollars": result.rebuild_bytes / TIB * settings.bq_price_per_tib}
    for rebuild in result.rebuilds:
        if say:
            say(
                "rebuild",
                model=rebuild.model,
                reason=rebuild.why,
                partitions=rebuild.partitions,
                allowed=result.rebuild_allowed,
                **cost,
            )
        else:
            click.echo(f"Rebuild: {rebuild.why}: {_count(rebuild.partitions, 'partition')}, beside the live table")
    if cost and not say:
        estimate = f"{filesize.decimal(cost['bytes'])} scanned, about ${cost['dollars']:.2f}"
        if result.rebuild_allowed:
            click.echo(f"Rebuild on BigQuery, estimated from dry runs: {estimate}")
        else:
            click.echo(
                f"Not rebuilt: on BigQuery a rebuild for a code or var change is billed ({estimate}, from dry runs)."
                " Run `shotzones update --allow-rebuild` or `shotzones backfill` to build it.",
                err=True,
            )


def _echo_step(step: Step, settings: Settings, serve_out: Path | None, say) -> None:
    result = step.result
    if step.name == "schedule":
        if result.schedule is None:
            return
        if say:
            say(
                "schedule_loaded",
                games=result.schedule.games,
                files=result.schedule.files,
                rejected=[r.describe() for r in result.schedule.rejected],
            )
        else:
            click.echo(f"Schedule: loaded {result.schedule.games:,} scheduled games from {result.schedule.files} files")
            for rejected in result.schedule.rejected:
                click.echo(f"rejected {rejected.describe()}", err=True)
    elif step.name == "load":
        summary = result.loaded
        if say:
            say(
                "loaded",
                files=summary.files,
                unchanged=summary.unchanged,
                rows=summary.rows,
                games=summary.games,
                quarantined_rows=summary.quarantined_rows,
                set_aside_values=summary.set_aside_values,
                rejected=[r.describe() for r in summary.rejected],
                seconds=round(summary.seconds, 3),
            )
        else:
            _echo_load(summary, settings)
    elif step.name == "rebuild":
        _echo_rebuilds(result, settings, say)
    elif step.name == "backfill":
        run = result.backfilled
        if say:
            say(
                "backfilled",
                run_id=run.run_id,
                done=run.done,
                failed=len(run.failed),
                seconds=round(run.seconds, 3),
                outcome=run.outcome,
                swapped=run.swapped,
            )
        elif run.declined:
            click.echo("Backfill: not run, nothing built (above: the rebuild it would have run)")
        elif not run.planned:
            click.echo("Backfill: nothing pending, every partition is done.")
        else:
            click.echo(
                f"Backfill: {_count(run.done, 'partition')} built, {len(run.failed):,} failed in {run.seconds:.1f} s (run {run.run_id})"
            )
            for entry in run.failed:
                click.echo(f"failed {entry.model} on {entry.game_date}: {entry.error}", err=True)
            if run.swapped:
                click.echo(f"New version swapped in: {', '.join(run.swapped)}")
    elif result.served is not None:
        served = result.served
        games = len(set(served.table.column("game_id").to_pylist()))
        where = f" to {serve_out}" if serve_out else ""
        if say:
            say(
                "served",
                date=served.day.isoformat(),
                games=games,
                rows=served.table.num_rows,
                out=str(serve_out) if serve_out else None,
                serve_id=result.serve.serve_id,
                log_seconds=round(result.serve.seconds, 3),
            )
        else:
            click.echo(
                f"Served the slate of {served.day}: {_count(games, 'game')}, {_count(served.table.num_rows, 'player')}{where}"
                f" (logged as serve {result.serve.serve_id} in {result.serve.seconds:.2f} s)"
            )
    elif say:
        say("serve_skipped", reason=result.serve_note, failed=result.serve_failed)
    else:
        click.echo(result.serve_note, err=result.serve_failed)
