"""What the warehouse holds: the figures `make demo` prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shotzones import busy, holding
from shotzones.planning import FEATURES as FEATURES_MODEL
from shotzones.planning import PLAYER_GAMES
from shotzones.settings import Settings
from shotzones.survey import NothingLoaded, loaded_dates
from shotzones.warehouse import EVERY_DATE, open_warehouse, require_warehouse


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
    window_games: int
    sample_columns: list[str]
    sample: list[tuple]


def build_report(settings: Settings, sample_players: int = 5) -> Report:
    relations = {
        "raw play-by-play": settings.raw_relation,
        "shots": settings.models_schema + ".int_shots_classified",
        "player-games": f"{settings.models_schema}.{PLAYER_GAMES}",
        "features": f"{settings.models_schema}.{FEATURES_MODEL}",
    }
    features_read = [feature.name for feature in settings.model_features]
    short = [feature.label for feature in settings.model_features]
    require_warehouse(settings)
    with holding.hold(settings, busy.command_line("report"), writes=False), open_warehouse(settings) as wh:
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
        null_share = ", ".join(f"avg(case when {name} is null then 1 else 0 end) as {name}" for name in features_read)
        overall = wh.rows(f"select {null_share} from {features}")[0]
        full = wh.rows(f"select {null_share} from {features} where games_in_window = {settings.window_games}")[0]
        columns = ["player", "date", "team", "games", *short]
        sample_rows = wh.rows(
            f"""
            with busiest as (
                select player_lookup from {player_games}
                group by player_lookup order by sum(fga) desc, player_lookup limit {sample_players}
            )
            select player_lookup as player, game_date as date, team_abbr as team,
                   games_in_window as games,
                   {", ".join(f"round({name}, 1) as {alias}" for name, alias in zip(features_read, short))}
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
        null_rates=dict(zip(features_read, overall)),
        null_rates_full_window=dict(zip(features_read, full)),
        window_games=settings.window_games,
        sample_columns=columns,
        sample=sample_rows,
    )
