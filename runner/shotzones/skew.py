"""`shotzones skew`: what the props model was served against what the warehouse gives now, for
every served player who played, and why each difference arose.

A served row (feature_log: the last serve of a game's slate for a player) is compared column for
column, to the last bit, with the model-ready row of the same game and player now. A difference
has a cause the log lets the runner name:

- games whose play-by-play changed after the serve (re-delivered, late or removed) that his
  window reads now (game id and date), or, for a value filled from the league's rate, any game
  before the date that changed since;
- a code or var change: the fingerprint of the view that served the row, or of the model-ready
  view training reads, is not the one the project compiles now (said as `plan` says it).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from shotzones import code, feature_log, ledger
from shotzones.feature_log import as_utc
from shotzones.planning import Code
from shotzones.serving import ServingError, read_served_views
from shotzones.settings import MODEL_READY, PREGAME, Settings
from shotzones.warehouse import Warehouse, open_warehouse

# the dbt rules the windows follow (macros/rolling_windows.sql)
GAMES_IN_WINDOWS, LONGEST_WINDOW = "games_in_windows()", "longest_window()"
DATA, CODE, BOTH, UNEXPLAINED = "re-delivered or late games", "code or var change", "both", "unexplained"
CAUSES = (DATA, CODE, BOTH, UNEXPLAINED)


@dataclass
class Difference:
    """One served player-game whose features differ now."""

    game_id: str
    player_lookup: str
    game_date: date
    serve_id: str
    served_at: datetime
    columns: dict[str, tuple[object, object]]  # column -> (served, now)
    filled: bool  # a value filled from the league's rate, as served or now
    games: list[tuple[str, date]] = field(default_factory=list)  # changed games his window reads
    league_games: int = 0  # changed games before the date (for a filled value)
    code: list[str] = field(default_factory=list)  # what changed in the code or vars

    @property
    def worst(self) -> float:
        """The largest difference of a value (a flag or a NULL on one side counts 100)."""
        gaps = [
            abs(now - served) if isinstance(served, float) and isinstance(now, float) else 100.0
            for served, now in self.columns.values()
        ]
        return max(gaps, default=0.0)

    @property
    def cause(self) -> str:
        data = bool(self.games or self.league_games)
        return BOTH if data and self.code else DATA if data else CODE if self.code else UNEXPLAINED

    def describe(self) -> str:
        changed = "; ".join(f"{name} {served!r} -> {now!r}" for name, (served, now) in self.columns.items())
        why = []
        if self.games:
            why.append("games " + ", ".join(f"{game} ({day})" for game, day in self.games) + " changed since")
        if self.league_games and not self.games:
            why.append(f"league rate: {self.league_games:,} earlier games changed since")
        why += self.code
        return f"{self.game_date} {self.game_id} {self.player_lookup}: {changed} ({'; '.join(why) or 'no cause found'})"


@dataclass
class SkewReport:
    compared: int
    serves: int
    differences: list[Difference]

    def counts(self) -> dict[str, int]:
        counted = Counter(d.cause for d in self.differences)
        return {cause: counted[cause] for cause in CAUSES}


def skew(settings: Settings, start: date | None = None, end: date | None = None) -> SkewReport:
    with open_warehouse(settings) as wh:
        if not feature_log.exists(wh):
            raise ServingError(
                f"nothing served yet ({wh.relation(feature_log.LOG)} does not exist):"
                " `shotzones update` logs every slate it serves, `shotzones features --log` one"
            )
        served = _dicts(wh, feature_log.last_serves_sql(wh, start, end))
        known = {fingerprint: components for fingerprint, (_, components) in ledger.read_code_versions(wh).items()}
    keys = {(row["game_id"], row["player_lookup"]) for row in served}
    now_rows = read_served_views(settings, lambda wh: _model_ready_sql(wh, start, end)).to_pylist()
    now = {
        (row["game_id"], row["player_lookup"]): row
        for row in now_rows
        if (row["game_id"], row["player_lookup"]) in keys
    }
    played = [row for row in served if (row["game_id"], row["player_lookup"]) in now]
    differences = []
    for row in played:
        current = now[(row["game_id"], row["player_lookup"])]
        columns = {
            name: (row[name], value) for name, value in current.items() if name in row and differ(row[name], value)
        }
        if columns:
            filled = any(
                v for name, value in current.items() if name.endswith("_is_filled") for v in (value, row.get(name))
            )
            key = (row["game_id"], row["player_lookup"], row["game_date"])
            differences.append(Difference(*key, row["serve_id"], row["served_at"], columns, filled))
    if differences:
        _code_causes(settings, known, differences, {(r["game_id"], r["player_lookup"]): r for r in played})
        _data_causes(settings, differences)
    differences.sort(key=lambda d: (-d.worst, d.game_date, d.game_id, d.player_lookup))
    return SkewReport(len(played), len({row["serve_id"] for row in played}), differences)


def differ(served, now) -> bool:
    """Whether a served value and today's differ. Rates equal to the last bit where they are
    sums of counts divided; a mean of per-game ratios (rate_method per_game_mean) may be summed
    in another order by another plan, so doubles agree within 1e-12."""
    if isinstance(served, float) and isinstance(now, float):
        return not math.isclose(served, now, rel_tol=1e-12, abs_tol=1e-12)
    return served != now


def _dicts(wh: Warehouse, sql: str) -> list[dict]:
    """Rows as dicts, times naive (BigQuery's come back in UTC), as the runner compares them."""
    return [
        {k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in row.items()}
        for row in wh.arrow(sql).to_pylist()
    ]


def _model_ready_sql(wh: Warehouse, start: date | None, end: date | None) -> str:
    bounds = [f"game_date >= {wh.literal(start)}"] if start else []
    bounds += [f"game_date <= {wh.literal(end)}"] if end else []
    return f"select * from {wh.relation(MODEL_READY)} where {' and '.join(bounds) or 'true'}"


def _code_causes(settings: Settings, known: dict, differences: list[Difference], served: dict) -> None:
    """What changed in the code or vars since each row was served: as `plan` says it."""
    code_now = Code(code.current_versions(settings), known)
    for difference in differences:
        row = served[(difference.game_id, difference.player_lookup)]
        for model, column in ((PREGAME, "served_code"), (MODEL_READY, "training_code")):
            change = code_now.change(model, row[column])
            if change and change not in difference.code:
                difference.code.append(change)


def _data_causes(settings: Settings, differences: list[Difference]) -> None:
    """The games whose play-by-play changed after each serve (re-delivered, late or removed:
    the ledger's source games say when a build first read each version) that its player's
    window reads now, and how many games before the date changed after it (the league's rate
    reads them all)."""
    rules = code.macro_sql(settings, (GAMES_IN_WINDOWS, LONGEST_WINDOW))
    with open_warehouse(settings) as wh:
        changed_at = {key: as_utc(game.changed_at) for key, game in ledger.read_source_games(wh).items()}
        earliest = min(d.served_at for d in differences)
        if not any(at > earliest for at in changed_at.values()):
            return
        asked = wh.rows_as_select(
            ("number", "player_lookup", "as_of_date"),
            [(n, d.player_lookup, d.game_date) for n, d in enumerate(differences)],
            {"number": wh.types["int"], "player_lookup": wh.types["string"], "as_of_date": wh.types["date"]},
        )
        windows = wh.rows(
            f"""
            with
            asked as ({asked}),
            games as ({rules[GAMES_IN_WINDOWS]}),
            back as (
                select
                    asked.number,
                    games.game_id,
                    games.game_date,
                    row_number() over (
                        partition by asked.number order by games.game_date desc, games.game_id desc
                    ) as games_back
                from asked
                inner join games
                    on asked.player_lookup = games.player_lookup and games.game_date < asked.as_of_date
            )
            select number, game_id, game_date from back where games_back <= {rules[LONGEST_WINDOW]}
            """
        )
    for number, game, day in sorted(windows, key=lambda w: (w[2], w[1])):
        difference = differences[number]
        if changed_at.get((day, game), earliest) > difference.served_at:
            difference.games.append((game, day))
    for difference in differences:
        if difference.filled:
            difference.league_games = sum(
                1 for (day, _), at in changed_at.items() if day < difference.game_date and at > difference.served_at
            )
