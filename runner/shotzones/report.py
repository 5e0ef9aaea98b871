"""What the warehouse holds: the figures `make demo` prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shotzones import busy
from shotzones.planning import FEATURES as FEATURES_MODEL
from shotzones.planning import PLAYER_GAMES
from shotzones.settings import Settings
from shotzones.survey import NothingLoaded, loaded_dates
from shotzones.warehouse import EVERY_DATE, open_warehouse, require_warehouse

FEATURES = (
    "paint_rate_last_10",
    "mid_range_rate_last_10",
    "three_pt_rate_last_10",
    "assisted_rate_last_10",
)


class NothingBuilt(NothingLoaded):
    """Loaded, but no backfill has built the features yet."""


@dataclass(frozen=True)
class Report:
    first_date: date
    last_date: date
    partitions: int
    rows: dict[str, int]
    null_rates: dict[str, float]
    # Null rates once a player has a full window: what a model sees after the first weeks.
    null_rates_full_window: dict[str, float]
    sample_columns: list[str]
    sample: list[tuple]


def build_report(settings: Settings, sample_players: int = 5) -> Report:
    relations = {
        "raw play-by-play": settings.raw_relation,
        "shots": settings.models_schema + ".int_shots_classified",
        "player-games": f"{settings.models_schema}.{PLAYER_GAMES}",
        "features": f"{settings.models_schema}.{FEATURES_MODEL}",
    }
    short = [name.removesuffix("_rate_last_10") for name in FEATURES]
    require_warehouse(settings)
    with busy.hold(settings, busy.command_line("report"), writes=False), open_warehouse(settings) as wh:
        loaded_dates(wh)  # refuses when nothing is loaded
        if not wh.table_exists(FEATURES_MODEL):
            raise NothingBuilt("no features built yet: run `shotzones backfill` first")
        features, player_games = wh.relation(FEATURES_MODEL), wh.relation(PLAYER_GAMES)
        rows = {
            name: wh.rows(f"select count(*) from {relation} where {EVERY_DATE}")[0][0]
            for name, relation in relations.items()
        }
        first, last, partitions = wh.rows(
            f"select min(game_date), max(game_date), count(distinct game_date) from {features}"
        )[0]
        null_share = ", ".join(f"avg(case when {name} is null then 1 else 0 end) as {name}" for name in FEATURES)
        overall = wh.rows(f"select {null_share} from {features}")[0]
        full = wh.rows(f"select {null_share} from {features} where games_in_window = 10")[0]
        columns = ["player", "date", "team", "games", *short]
        sample_rows = wh.rows(
            f"""
            with busiest as (
                select player_lookup from {player_games}
                group by player_lookup order by sum(fga) desc, player_lookup limit {sample_players}
            )
            select player_lookup as player, game_date as date, team_abbr as team,
                   games_in_window as games,
                   {", ".join(f"round({name}, 1) as {alias}" for name, alias in zip(FEATURES, short))}
            from {features}
            where player_lookup in (select player_lookup from busiest)
            qualify row_number() over (partition by player_lookup order by game_date desc) = 1
            order by player_lookup
            """
        )
    return Report(
        first_date=first,
        last_date=last,
        partitions=partitions,
        rows=rows,
        null_rates=dict(zip(FEATURES, overall)),
        null_rates_full_window=dict(zip(FEATURES, full)),
        sample_columns=columns,
        sample=sample_rows,
    )
