"""Everything the command line shows, in one place: messages, tables, progress displays and
the JSON Lines events of `--json` (docs/cli.md, "JSON output"). Each function renders one thing, as
text or (with `as_json`) as events; the commands decide what to render and with which exit code.

Text goes to stdout through `console` (rich: coloured on a terminal, never wrapped in a pipe but
for the tables); warnings and rejected input go to stderr. Under `--json` stdout carries events
only. The serving and nightly displays are in render_serving.py."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from shotzones import busy
from shotzones.backfill import BackfillResult, Event, Options, plan_waves
from shotzones.cost import TIB
from shotzones.load import LoadSummary, ReadProgress, ScheduleSummary, quarantine_relation, schedule_relation
from shotzones.planning import STATES, Batch, partitions_named
from shotzones.report import Report
from shotzones.settings import Settings
from shotzones.status import Status, calendar_lines, hours


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader left (`shotzones status | head -1`): rich would exit 1, the code of a
        failure; the command line ends quietly instead, as Unix tools do (cli.py)."""
        self.quiet = True
        raise BrokenPipeError


# Piped output (CI logs, `make demo | tee`) gets room for the tables rather than 80 columns, and
# messages are never wrapped (a wrapped line breaks grep); only tables fit the width.
console = _Console(width=None if sys.stdout.isatty() else 120, soft_wrap=True)

NOTHING_PENDING = "nothing pending: every partition in range is done"


def utc(moment: datetime) -> str:
    """A time as ISO-8601 UTC; the ledger's times are naive local times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def emit(event: str, **fields) -> None:
    """One line of `--json` output: JSON Lines, each object with its `event` type and `at`, an
    ISO-8601 UTC timestamp."""
    click.echo(json.dumps({"event": event, "at": utc(datetime.now()), **fields}))


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 game`, `1,230 games`."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def note(message: str, as_json: bool) -> None:
    """A message the run's output carries: a `note` event under --json."""
    if as_json:
        emit("note", message=message)
    else:
        plain(message)


def warn(message: str) -> None:
    click.echo(message, err=True)


def plain(message: str) -> None:
    """A line as it is (no markup, no highlighting), on stdout."""
    console.print(message, highlight=False, markup=False)


def _progress_bar(*columns, remaining: bool = True, transient: bool = False) -> Progress:
    """A bar on a terminal: what, how far (N/M), `columns`, the time taken and (`remaining`) left."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        *columns,
        TimeElapsedColumn(),
        *([TimeRemainingColumn()] if remaining else []),
        console=console,
        transient=transient,
    )


# --- generate and load ---------------------------------------------------------------------------


@contextmanager
def generate_progress(seasons: int) -> Iterator[Callable[[], None]]:
    """A bar of games written (about 1,320 a season: 1,230 regular, 6 play-in, 80-105 playoff
    games); what to call after each game."""
    with _progress_bar(remaining=False, transient=True) as progress:
        task = progress.add_task("generating games", total=1320 * seasons)
        yield lambda: progress.advance(task)


def generated(summary, out_dir: Path) -> None:
    plain(
        f"Wrote {count(summary.files, 'file')} ({count(summary.games, 'game')} on {count(summary.dates, 'date')},"
        f" {count(summary.rows, 'row')}) to {out_dir} in {summary.seconds:.1f} s"
    )


@contextmanager
def load_progress(as_json: bool) -> Iterator[Callable[[ReadProgress], None]]:
    """The files and rows read so far, after each bundle or group of files: a `read` event
    under --json, a bar on a terminal, a plain line otherwise. Yields what to call with each."""
    if as_json:
        yield lambda read: emit("read", files=read.files, of=read.total, rows=read.rows)
    elif console.is_terminal:
        with _progress_bar("files", TextColumn("{task.fields[rows]:,} rows")) as progress:
            task = progress.add_task("loading", total=None, rows=0)
            yield lambda read: progress.update(task, completed=read.files, total=read.total, rows=read.rows)
    else:
        yield lambda read: click.echo(
            f"{datetime.now():%H:%M:%S} read {read.files:,} of {count(read.total, 'file')}, {count(read.rows, 'row')}"
        )


def loaded(summary: LoadSummary, settings: Settings, as_json: bool) -> None:
    """What a load did: a `loaded` event, or its summary and notes; then, on stderr either way,
    the files rejected and the rows quarantined."""
    if as_json:
        emit(
            "loaded",
            files=summary.files,
            unchanged=summary.unchanged,
            rows=summary.rows,
            games=summary.games,
            quarantined_rows=summary.quarantined_rows,
            set_aside_values=summary.set_aside_values,
            rejected=[r.describe() for r in summary.rejected],
            notes=list(summary.notes),
            seconds=round(summary.seconds, 3),
        )
    elif not summary.files and summary.unchanged and not summary.rejected:
        plain(f"Nothing new to load: {count(summary.unchanged, 'file')} unchanged since loaded (--all re-reads them)")
        return
    elif summary.rows or not summary.rejected:
        dates = f" ({summary.first_date} to {summary.last_date})" if summary.rows else ""
        unchanged = f"; {count(summary.unchanged, 'file')} unchanged since loaded, skipped" if summary.unchanged else ""
        plain(
            f"Loaded {count(summary.rows, 'row')} of {count(summary.games, 'game')}{dates} from"
            f" {count(summary.files, 'file')} into {settings.raw_relation} in {summary.seconds:.1f} s{unchanged}"
        )
    else:
        warn(f"Nothing loaded: {count(len(summary.rejected), 'file')} rejected")
    for message in [] if as_json else summary.notes:
        plain(f"note: {message}")
    for rejected in summary.rejected:
        warn(f"rejected {rejected.describe()}")
    if summary.problem_count:
        _quarantined(summary, quarantine_relation(settings))


# Bad rows named one by one in the load output; past that, counts per file.
_BAD_ROWS_SHOWN = 30


def _quarantined(summary: LoadSummary, relation: str) -> None:
    warn(
        f"quarantined {count(summary.quarantined_rows, 'row')} and set aside {count(summary.set_aside_values, 'value')}"
        f" (rows loaded, values missing) ({count(summary.problem_count, 'problem')})"
        f" in {count(len(summary.quarantined_by_file), 'file')} into {relation}:"
    )
    rows = itertools.groupby(summary.problems, key=lambda p: (p.source_file, p.line))
    shown: dict[str, int] = {}
    for (file, line), problems in itertools.islice(rows, _BAD_ROWS_SHOWN):
        warn(f"  {file}:{line}: " + "; ".join(p.describe() for p in problems))
        shown[file] = shown.get(file, 0) + 1
    rest = [(file, number - shown.get(file, 0)) for file, number in summary.quarantined_by_file]
    rest = [(file, number) for file, number in rest if number]
    if rest:
        warn(
            f"  ... and {sum(n for _, n in rest):,} more bad rows: "
            + ", ".join(f"{file} ({number:,})" for file, number in rest[:10])
            + (f" and {len(rest) - 10:,} more files" if len(rest) > 10 else "")
        )


def schedule_loaded(summary: ScheduleSummary, settings: Settings, as_json: bool = False, step: bool = False) -> None:
    """What a schedule load did (`step`: as a step of `update`, whose event is `schedule_loaded`)."""
    if as_json:
        emit(
            "schedule_loaded",
            games=summary.games,
            files=summary.files,
            rejected=[r.describe() for r in summary.rejected],
        )
    elif step:
        plain(f"Schedule: loaded {count(summary.games, 'scheduled game')} from {count(summary.files, 'file')}")
    else:
        dates = f" ({summary.first_date} to {summary.last_date})" if summary.games else ""
        plain(
            f"Loaded {count(summary.games, 'scheduled game')}{dates} from {count(summary.files, 'file')} into"
            f" {schedule_relation(settings)} in {summary.seconds:.1f} s"
        )
    for rejected in summary.rejected:
        warn(f"rejected {rejected.describe()}")


# --- plan and backfill -----------------------------------------------------------------------------


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


def batch_event(event: Event) -> None:
    """A batch's `started`, `done`, `failed`, `retry` or `warning` event."""
    emit(
        event.kind,
        **_batch_fields(event.batch),
        seconds=round(event.seconds, 3),
        error=event.error,
        attempt=event.attempt,
    )


@contextmanager
def backfill_progress(
    as_json: bool, settings: Settings, workers: int
) -> Iterator[tuple[Callable[[list[Batch]], None], Callable[[Event], None]]]:
    """JSON lines with --json; a progress bar on a terminal; plain log lines otherwise. Yields
    what to call with the plan, and with each event."""
    if as_json:
        yield (lambda planned: emit("planned", **_plan_fields(plan_waves(settings, planned, workers)))), batch_event
    elif console.is_terminal:
        with _progress_bar("partitions") as progress:
            task = progress.add_task("backfill", total=None)

            def planned(batches: list[Batch]) -> None:
                progress.update(task, total=sum(len(b.dates) * len(b.models) for b in batches))

            def advance(event: Event) -> None:
                if event.kind in ("done", "failed"):
                    progress.advance(task, len(event.batch.dates) * len(event.batch.models))
                if event.kind in ("failed", "retry", "warning"):
                    progress.console.print(f"{event.kind} {event.batch.describe()}: {event.error}", markup=False)

            yield planned, advance
    else:

        def log(event: Event) -> None:
            detail = f" in {event.seconds:.1f} s" if event.kind in ("done", "failed") else ""
            error = f": {event.error}" if event.error else ""
            click.echo(f"{datetime.now():%H:%M:%S} {event.kind} {event.batch.describe()}{detail}{error}")

        yield (lambda planned: None), log


def plan(settings: Settings, planned_waves: list[list[Batch]], costs, as_json: bool) -> None:
    """The batches of each wave and why; on BigQuery what each wave would scan and cost."""
    price = settings.bq_price_per_tib
    if as_json:
        for number, wave in enumerate(planned_waves, start=1):
            cost = costs[number - 1] if costs else None
            fields = (
                {
                    "wave_bytes": cost.bytes,
                    "wave_dollars": cost.dollars(price),
                    "wave_statements": len(cost.bytes_by_node),
                    "wave_partitions": partitions_named(wave),
                }
                if cost
                else {}
            )
            for batch in wave:
                emit("batch", wave=number, **_batch_fields(batch), reasons=sorted(batch.reasons), **fields)
        total = sum(cost.bytes for cost in costs) if costs else None
        emit(
            "planned",
            **_plan_fields(planned_waves),
            **({"bytes": total, "dollars": total / TIB * price} if costs else {}),
        )
        return
    if not planned_waves:
        plain(NOTHING_PENDING.capitalize() + ".")
        return
    columns = ("statements", "partitions", "scans", "cost") if costs else ()
    table = Table("wave", "batch", "why", *columns, title="Backfill plan")
    for number, wave in enumerate(planned_waves, start=1):
        cost = costs[number - 1] if costs else None
        cells = (
            [
                str(len(cost.bytes_by_node)),
                f"{partitions_named(wave):,}",
                filesize.decimal(cost.bytes),
                f"${cost.dollars(price):.4f}",
            ]
            if cost
            else []
        )
        for index, batch in enumerate(wave):
            table.add_row(
                str(number),
                batch.describe(),
                "; ".join(sorted(batch.reasons)),
                *(cells if index == 0 else [""] * len(cells)),
            )
    console.print(table)
    if costs:
        total = sum(cost.bytes for cost in costs)
        plain(
            f"Estimated from dry runs: {filesize.decimal(total)} scanned, ${total / TIB * price:.4f}"
            f" at ${price:g} per TiB (SHOTZONES_BQ_PRICE_PER_TIB). A wave's batches run as one statement per model."
        )
        plain(
            f"The largest statement names {max(map(partitions_named, planned_waves)):,} partitions"
            f" (at most {settings.bq_max_partitions_per_job:,} a job: SHOTZONES_BQ_MAX_PARTITIONS_PER_JOB)."
        )


def backfilled(result: BackfillResult, options: Options, as_json: bool, stopped_by: str | None) -> None:
    """How a backfill ended: the `finished` event, or what it built, what failed and what was
    swapped in; and, stopped by a signal, one line on stderr saying so."""
    if result.recovered_lock is not None:
        note(f"recovered the lock of a dead backfill: {result.recovered_lock.describe()}", as_json)
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
        plain(NOTHING_PENDING.capitalize() + ".")
    elif stopped_by is None:
        plain(
            f"{count(result.done, 'partition')} built, {len(result.failed):,} failed"
            f" in {result.seconds:.1f} s (run {result.run_id})"
        )
        failures(result.failed)
        swapped(result, options)
    if stopped_by:
        warn(
            f"interrupted ({stopped_by}) after {count(result.done, 'partition')} built in {result.seconds:.1f} s:"
            f" run {result.run_id} recorded interrupted, lock released; `{options.resume_command(result)}` builds the rest"
        )


def swapped(result: BackfillResult, options: Options) -> None:
    """What became of the new versions built beside the live tables."""
    if result.swapped:
        plain(f"New version swapped in: {', '.join(result.swapped)} (each live table replaced whole)")
    held: dict[str, list] = {}
    for model, day, why in result.swap_held_back:
        held.setdefault(model, []).append((day, why))
    for model, missing in held.items():
        day, why = missing[0]
        _flagged(
            "not swapped in",
            f"{model}: its new version lacks {count(len(missing), 'partition')}"
            f" the live table has (first {day}: {why}); the live table stays as it was,"
            f" and `{options.resume_command(result)}` resumes the new version",
        )


def failures(failed) -> None:
    """The partitions a backfill failed: one line per reason, with the dates (and models) it
    failed."""
    by_error: dict[str, dict[str, list[str]]] = {}
    for entry in failed:
        by_error.setdefault(entry.error or "", {}).setdefault(entry.game_date.isoformat(), []).append(entry.model)
    for error, days in by_error.items():
        models = sorted({model for found in days.values() for model in found})
        _flagged("failed", f"{', '.join(days)} ({', '.join(models)}): {error}")


def _flagged(flag: str, message: str) -> None:
    """`flag message`, the flag in red on a terminal; the message as it is (no markup)."""
    console.print(Text.assemble((flag, "red"), " ", message), highlight=False)


# --- status and report -----------------------------------------------------------------------------


def status(report: Status, png: Path | None, as_json: bool) -> None:
    """Partitions by state per model (`partition` events and a `status` event), the failed and
    stale ones with their reasons, the last run, the freshness and the calendar."""
    if as_json:
        for p in report.partitions:
            emit("partition", model=p.model, date=p.game_date.isoformat(), state=p.state, reason=p.reason)
        last, fresh = report.last_run, report.freshness
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
        return
    table = Table("model", *STATES, title="Partitions")
    for model, counts in report.counts().items():
        table.add_row(model, *(str(counts[state]) for state in STATES))
    console.print(table)
    for problem in report.problems():
        plain(problem.describe())
    if report.last_run:
        run = report.last_run
        plain(
            f"Last run {run['run_id']} (`{run['command']}`) on {run['host']} started"
            f" {run['started_at']:%Y-%m-%d %H:%M:%S}: {run['outcome'] or 'not finished'}"
        )
    plain(report.freshness.describe())
    for line in calendar_lines(report.date_states()):
        console.print(line)
    if png:
        plain(f"Calendar written to {png}")


def busy_warehouse(running: busy.WarehouseBusy, as_json: bool, exit_code: int) -> None:
    """What `status` can say while another command holds the warehouse: its holder, and a
    backfill's live progress (a `busy` event under --json)."""
    activity = running.activity
    if as_json:
        holder = activity.as_json() if activity else None
        emit("busy", holder=holder, message=str(running), exit_code=exit_code)
        return
    if activity is None:
        plain(str(running))
        return
    plain(f"Busy: {activity.describe()}")
    progress = activity.progress
    if "partitions_total" in progress:
        plain(
            f"backfill {progress['backfill_run_id']}: {progress['partitions_done']:,} of"
            f" {progress['partitions_total']:,} partitions done, {progress['partitions_left']:,} left,"
            f" {progress['partitions_failed']:,} failed; wave {progress['wave']}"
            + (f" building {', '.join(progress['current_batches'])}" if progress["current_batches"] else "")
            + f" (as of {activity.updated_at[11:19]} UTC)"
        )


def unlocked(holder) -> None:
    plain(f"released the lock of {holder.describe()}; the run is recorded as abandoned")


def report(summary: Report) -> None:
    """Partitions, rows per table, NULL rates, the busiest shooters' latest features."""
    console.print(f"[bold]{summary.partitions}[/] game-date partitions, {summary.first_date} to {summary.last_date}")
    counts = Table("table", "rows", title="Rows")
    for name, rows in summary.rows.items():
        counts.add_row(name, f"{rows:,}")
    console.print(counts)
    nulls = Table("feature", "NULL, all rows", f"NULL, full {summary.window_games}-game window", title="NULL rates")
    for name, share in summary.null_rates.items():
        full = summary.null_rates_full_window[name]
        # no player has a full window in the first weeks of the data
        nulls.add_row(name, f"{share:.2%}", "no full window yet" if full is None else f"{full:.2%}")
    console.print(nulls)
    sample = Table(*summary.sample_columns, title="Latest features of the busiest shooters")
    for row in summary.sample:
        sample.add_row(*("" if value is None else str(value) for value in row))
    console.print(sample)
