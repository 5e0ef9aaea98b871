"""Options shared by the commands, defined once."""

from __future__ import annotations

import click

from shotzones.settings import TARGETS

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
