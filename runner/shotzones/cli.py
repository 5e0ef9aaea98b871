"""The `shotzones` command line: each command a few lines over the library."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from shotzones import params
from shotzones.backfill import NothingLoaded, backfill
from shotzones.dbt import DbtError
from shotzones.generate import generate
from shotzones.load import LoadError, load
from shotzones.report import build_report
from shotzones.settings import Settings

console = Console()


def _date(value: datetime | None):
    return value.date() if value else None


@click.group()
@click.version_option(package_name="shotzones")
def main() -> None:
    """NBA shot-zone rolling features from BigDataBall play-by-play."""


@main.command("generate")
@click.option("--first-season", type=int, required=True, help="Starting year of the first season (2021 = 2021-22).")
@click.option("--seasons", type=click.IntRange(1, 30), default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--format-generation",
    type=click.Choice(["2017", "2021", "2024"]),
    default=None,
    help="Render every season in one format generation (default: the season's own).",
)
def generate_command(first_season: int, seasons: int, seed: int, out_dir: Path, format_generation: str | None) -> None:
    """Write realistic synthetic BigDataBall files, one per game, and schedule.csv."""
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("generating games", total=1230 * seasons)
        summary = generate(
            out_dir, first_season, seasons, seed,
            format_generation=format_generation,
            on_game=lambda: progress.advance(task),
        )  # fmt: skip
    console.print(
        f"Wrote {summary.files:,} files ({summary.games:,} games on {summary.dates} dates,"
        f" {summary.rows:,} rows) to {out_dir} in {summary.seconds:.1f} s"
    )


@main.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@params.target
def load_command(paths: tuple[Path, ...], target: str | None) -> None:
    """Load play-by-play files and directories (.csv, .csv.gz) into the raw table."""
    settings = Settings.from_env(target)
    try:
        summary = load(settings, paths)
    except LoadError as error:
        raise click.ClickException(str(error)) from error
    console.print(
        f"Loaded {summary.rows:,} rows of {summary.games:,} games ({summary.first_date} to"
        f" {summary.last_date}) from {summary.files:,} files into {settings.raw_relation}"
        f" in {summary.seconds:.1f} s"
    )


@main.command("backfill")
@params.start
@params.end
@params.target
def backfill_command(start: datetime | None, end: datetime | None, target: str | None) -> None:
    """Build the shot-zone models for a range of game dates (default: all loaded dates)."""
    settings = Settings.from_env(target)
    try:
        result = backfill(settings, _date(start), _date(end))
    except (NothingLoaded, DbtError) as error:
        raise click.ClickException(str(error)) from error
    state = "done" if result.success else "FAILED"
    console.print(f"Backfill {result.start} to {result.end} {state} in {result.seconds:.1f} s")
    if not result.success:
        raise SystemExit(1)


@main.command("report")
@params.target
def report_command(target: str | None) -> None:
    """Summarise what the warehouse holds: partitions, rows, NULL rates, a few players."""
    report = build_report(Settings.from_env(target))
    console.print(
        f"[bold]{report.partitions}[/] game-date partitions, {report.first_date} to {report.last_date}"
    )
    counts = Table("table", "rows", title="Rows")
    for name, rows in report.rows.items():
        counts.add_row(name, f"{rows:,}")
    console.print(counts)
    nulls = Table("feature", "NULL, all rows", "NULL, full 10-game window", title="NULL rates")
    for name, share in report.null_rates.items():
        nulls.add_row(name, f"{share:.2%}", f"{report.null_rates_full_window[name]:.2%}")
    console.print(nulls)
    sample = Table(*report.sample_columns, title="Latest features of the busiest shooters")
    for row in report.sample:
        sample.add_row(*("" if value is None else str(value) for value in row))
    console.print(sample)
