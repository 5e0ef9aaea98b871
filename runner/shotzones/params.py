"""Options shared by the commands, defined once."""

from __future__ import annotations

import click

from shotzones.planning import MODELS
from shotzones.settings import TARGETS, parse_vars

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

allow_stale = click.option(
    "--allow-stale",
    is_flag=True,
    help="Serve even if partitions the rows read are pending, failed or stale (they are listed on stderr).",
)

# where --json is remembered for the command line's error handling (cli._fail)
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


def backfill_options(command):
    """The options `backfill` and `plan` share: what to build, and how."""
    for option in reversed(
        (start, end, workers, batch_days, select, force, full_refresh, target, as_json, wait, dbt_vars)
    ):
        command = option(command)
    return command
