"""Build the incremental models for a range of game dates."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from shotzones import dbt
from shotzones.settings import INCREMENTAL_MODELS, Settings
from shotzones.warehouse import connect, table_exists


class NothingLoaded(Exception):
    """The raw table is missing or has no rows in the range."""


@dataclass(frozen=True)
class BackfillResult:
    start: date
    end: date
    success: bool
    seconds: float


def loaded_range(settings: Settings) -> tuple[date, date]:
    if not settings.duckdb_path.exists():
        raise NothingLoaded(f"no warehouse at {settings.duckdb_path}: run `shotzones load` first")
    with connect(settings) as con:
        if not table_exists(con, settings.raw_schema, settings.raw_table):
            raise NothingLoaded(f"{settings.raw_relation} does not exist: run `shotzones load` first")
        first, last = con.execute(
            f"select min(game_date), max(game_date) from {settings.raw_relation}"
        ).fetchone()
    if first is None:
        raise NothingLoaded(f"{settings.raw_relation} is empty: run `shotzones load` first")
    return first, last


def backfill(settings: Settings, start: date | None = None, end: date | None = None) -> BackfillResult:
    """One dbt build of the staging views and the incremental models over [start, end]."""
    started = time.perf_counter()
    first, last = loaded_range(settings)
    start, end = start or first, end or last
    result = dbt.invoke(
        settings,
        # unit tests check the SQL, not the data: they belong to `make test`, not to a backfill
        [
            "build",
            "--select", " ".join(f"+{model}" for model in INCREMENTAL_MODELS),
            "--exclude", "test_type:unit",
        ],  # fmt: skip
        variables={"start_date": start.isoformat(), "end_date": end.isoformat()},
    )
    return BackfillResult(start, end, result.success, time.perf_counter() - started)
