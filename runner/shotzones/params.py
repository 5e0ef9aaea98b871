"""The command line's options and arguments, each defined once; and the checks that read
several of them together (a usage error, exit 2, before anything runs)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import click

from shotzones.backfill import Options
from shotzones.generate import SEASONS
from shotzones.planning import MODELS
from shotzones.serving import FORMATS
from shotzones.settings import TARGETS, parse_vars

# --- where, and which dates -----------------------------------------------------------------

target = click.option(
    "--target",
    type=click.Choice(TARGETS),
    default=None,
    help="Warehouse: the embedded DuckDB file (default, or $SHOTZONES_TARGET) or BigQuery.",
)

start = click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First game date, YYYY-MM-DD (default: the first loaded date).",
)

end = click.option(
    "--end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last game date, YYYY-MM-DD (default: the last loaded date).",
)


def date_range(start: datetime | None, end: datetime | None):
    """--start and --end as dates; a reversed range is a usage error."""
    if start and end and start > end:
        raise click.UsageError(f"--start {start:%Y-%m-%d} is after --end {end:%Y-%m-%d}")
    return (start.date() if start else None), (end.date() if end else None)


day = click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Game date, YYYY-MM-DD (default: the first scheduled date after the latest loaded one).",
)

wait = click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(0),
    default=None,
    help="Seconds to wait for a warehouse another command holds, then refuse (default 5).",
)


def _vars(ctx, param, value: str | None) -> str:
    try:
        parse_vars(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    return value or ""


dbt_vars = click.option(
    "--vars",
    "dbt_vars",
    default=None,
    callback=_vars,
    help="dbt vars as dbt takes them, a YAML mapping ('{zone_scheme: legacy_distance}'): passed to"
    " every dbt invocation, and part of the code fingerprints.",
)

# where --json is remembered for the command line's error handling (an `error` event)
JSON_META = "shotzones.json"


def _remember_json(ctx, param, value: bool) -> bool:
    ctx.meta[JSON_META] = value
    return value


as_json = click.option(
    "--json",
    "as_json",
    is_flag=True,
    callback=_remember_json,
    help="Print JSON Lines (one event per line) instead of text.",
)

# --- what to load -----------------------------------------------------------------------------

paths = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))

reread = click.option(
    "--all", "reread", is_flag=True, help="Read every file, also those unchanged since they were loaded."
)

# --- what to build, and how -------------------------------------------------------------------


def _models(ctx, param, value: str | None) -> tuple[str, ...]:
    if not value:
        return MODELS
    chosen = [name.strip() for name in value.replace(",", " ").split()]
    unknown = [name for name in chosen if name not in MODELS]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: choose from {', '.join(MODELS)}")
    return tuple(model for model in MODELS if model in chosen)


select = click.option(
    "--select",
    "models",
    default=None,
    callback=_models,
    help=f"Incremental models to build, comma-separated (default: all: {', '.join(MODELS)}).",
)

workers = click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Batches per wave (one dbt invocation), and dbt threads.",
)

batch_days = click.option(
    "--batch-days",
    type=click.IntRange(1),
    default=None,
    help="Game dates per batch at most (default: each contiguous pending range is one batch).",
)

force = click.option("--force", is_flag=True, help="Rebuild partitions that are already done.")

full_refresh = click.option(
    "--full-refresh",
    is_flag=True,
    help="Rebuild the selected models whole, beside their live tables, and swap them in when built and tested"
    " (the live tables stay as they are until then).",
)


def backfill_options(command):
    """The options `backfill` and `plan` share: what to build, and how."""
    for option in reversed(
        (start, end, workers, batch_days, select, force, full_refresh, target, as_json, wait, dbt_vars)
    ):
        command = option(command)
    return command


def backfill_run(start, end, models, workers, batch_days, force, full_refresh) -> Options:
    """What `backfill` and `plan` were asked for; --force with --full-refresh is a usage error."""
    if force and full_refresh:
        raise click.UsageError("--force rebuilds partitions in place, --full-refresh rebuilds whole models: choose one")
    return Options(*date_range(start, end), models, workers, batch_days, force, full_refresh)


allow_rebuild = click.option(
    "--allow-rebuild",
    is_flag=True,
    help="On BigQuery, rebuild what a code or var change made stale (billed; its estimate is printed first)."
    " Without it a nightly run there builds nothing for a code change. DuckDB always rebuilds.",
)

run_id = click.argument("run_id")

# --- files written ----------------------------------------------------------------------------


def _in_a_directory(ctx, param, value: Path | None) -> Path | None:
    """Checked before anything runs: a file that cannot be written is a usage error."""
    if value is not None and not value.parent.is_dir():
        raise click.BadParameter(f"{value.parent} is not a directory", ctx, param)
    return value


def _file(name: str, help: str, required: bool = False):
    return click.option(
        name,
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        required=required,
        callback=_in_a_directory,
        help=help,
    )


# suffix -> format, for --out and --serve-out
SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
_SUFFIXES = ", ".join(list(SUFFIX_FORMATS)[:-1]) + " or " + list(SUFFIX_FORMATS)[-1]


def out(required: bool = False):
    """--out: the rows' file, its format from its suffix (`features` also takes --format)."""
    return _file("--out", f"Write the rows to this file ({_SUFFIXES}: CSV, JSON Lines, Parquet).", required)


serve_out = _file("--serve-out", f"Write the next slate's pre-game features to this file ({_SUFFIXES}).")

png = _file("--png", "Also draw the calendar to this PNG file.")

fmt = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="table (default on a terminal), csv, json (JSON Lines) or parquet; with --out, from its suffix.",
)


def output_format(fmt: str | None, out: Path | None, option: str = "--out", takes_format: bool = False) -> str:
    """The format rows are written in: --format's, else the suffix of the file `option` names,
    else a table. A file whose suffix names another format than --format is a usage error, and
    so is an unknown suffix without --format (suggested only where the command takes it)."""
    named = SUFFIX_FORMATS.get(out.suffix.lower()) if out is not None else None
    if fmt is None:
        if out is None:
            return "table"
        if named is None:
            hint = ", or pass --format" if takes_format else ""
            raise click.UsageError(f"{option} {out}: name a {_SUFFIXES} file{hint}")
        return named
    if fmt == "table" and out is not None:
        raise click.UsageError(f"--format table prints to the terminal; {option} takes csv, json or parquet")
    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet needs --out FILE")
    if named is not None and named != fmt:
        raise click.UsageError(
            f"--format {fmt} does not match {option} {out} ({named}): drop --format, or rename the file"
        )
    return fmt


# --- serving ----------------------------------------------------------------------------------

allow_stale = click.option(
    "--allow-stale",
    is_flag=True,
    help="Serve even if partitions the rows read are pending, failed or stale (they are listed on stderr).",
)

games = click.option(
    "--games", type=click.IntRange(1), default=None, help="Only the slate's first N games (by game id)."
)

log = click.option(
    "--log",
    is_flag=True,
    help="Log the rows as served to the props model (shotzones_served_features), as `update` logs every"
    " slate it serves: what `export --as-served` and `skew` read.",
)

entities = click.option(
    "--entities",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV of player_lookup, as_of_date: features as of each row's date (a historical read).",
)

as_served = click.option(
    "--as-served",
    is_flag=True,
    help="The features as the props model was served them (the log `update` and `features --log` write):"
    " per played game and player, the last serve of his game's slate, with the same labels.",
)

rows_shown = click.option(
    "--rows", type=click.IntRange(0), default=20, show_default=True, help="Differing rows shown, worst first."
)

# --- generate ---------------------------------------------------------------------------------

first_season = click.option(
    "--first-season",
    type=click.IntRange(SEASONS.start, SEASONS.stop - 1),
    required=True,
    help="Starting year of the first season (2021 = 2021-22).",
)

seasons = click.option("--seasons", type=click.IntRange(1, 30), default=1, show_default=True)

seed = click.option("--seed", type=int, default=0, show_default=True)

out_dir = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="The folder to write."
)

upcoming_dates = click.option(
    "--upcoming-dates",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="The last N game dates are scheduled, not played yet: in schedule.csv, without files.",
)

format_generation = click.option(
    "--format-generation",
    type=click.Choice(["2017", "2021", "2024"]),
    default=None,
    help="Render every season in one format generation (default: the season's own).",
)


def check_seasons(first: int, count: int) -> None:
    """Every season generated must keep its game ids unique (two digits of the year)."""
    if first + count - 1 not in SEASONS:
        raise click.BadParameter(
            f"seasons {first} to {first + count - 1} go past {SEASONS.stop - 1}: game ids carry two digits"
            f" of the year, so seasons {SEASONS.start}-{SEASONS.stop - 1} keep them unique",
            param_hint="--seasons",
        )


processes = click.option(
    "--workers",
    "processes",
    type=click.IntRange(1, 64),
    default=os.cpu_count() or 1,
    show_default=True,
    help="Processes writing seasons in parallel (the files are the same whatever the number).",
)
