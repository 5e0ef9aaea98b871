"""The postseason: the play-in (from 2020-21) and the best-of-seven bracket, game by game."""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date, timedelta

from .league import Game, SeasonPlan
from .players import Player
from .teams import N_TEAMS, TEAMS

PLAY_IN_FIRST_SEASON = 2020  # the NBA's play-in tournament began in 2020-21
# days from game 1 to games 1..7 of a series, by round: travel days in the first two rounds,
# every other day in the conference finals (the two alternate days), the finals' longer gaps
_GAME_DAYS = {
    1: (0, 2, 5, 7, 10, 12, 15),
    2: (0, 2, 5, 7, 10, 12, 15),
    3: (0, 2, 4, 6, 8, 10, 12),
    4: (0, 3, 5, 8, 10, 13, 16),
}
_HIGHER_SEED_HOSTS = (True, True, False, False, True, False, True)  # 2-2-1-1-1
# first-round series 1-8, 4-5, 3-6, 2-7 of each conference start Saturday (0) to Monday (2):
# a game every day, and the play-in's Friday winners rest a day
_FIRST_ROUND_STARTS = ((1, 0, 0, 2), (2, 1, 0, 1))

# Each generator below yields the games in date order and is sent back whether the home team
# won each one: who advances comes from the games.
Games = Generator[Game, bool, None]


@dataclass
class _Series:
    high: int  # the better seed, at home in games 1, 2, 5 and 7
    low: int
    start: date
    round: int  # 1..4, the finals being 4
    index: int  # within the round: the game id's series digit
    played: int = 0
    high_wins: int = 0

    def next_day(self) -> date:
        return self.start + timedelta(_GAME_DAYS[self.round][self.played])


def postseason(seed: int, season: int, plan: SeasonPlan, rosters: list[list[Player]]) -> Games:
    """The play-in (from 2020-21) and the best-of-seven bracket, game by game in date order.

    Seeds come from the rosters' strength, with noise, from an RNG of its own (so the regular
    season is what it was without playoffs)."""
    rng = random.Random(f"shotzones-postseason:{seed}:{season}")
    strength = [sum(sorted((p.rating for p in r), reverse=True)[:8]) + rng.gauss(0.0, 0.35) for r in rosters]
    order = sorted(range(N_TEAMS), key=lambda t: -strength[t])
    seeds = {c: [t for t in order if TEAMS[t][2] == c] for c in "EW"}
    if season >= PLAY_IN_FIRST_SEASON:
        yield from _play_in(season, plan, seeds)
    rank = {t: (n, order.index(t)) for conf in "EW" for n, t in enumerate(seeds[conf][:8])}
    yield from _bracket(rng, season, plan, seeds, rank)


def _game(plan: SeasonPlan, day: date, game_id: str, away: int, home: int, data_set: str) -> Game:
    return Game(day, (day - plan.dates[0]).days, game_id, away, home, data_set)


def _play_in(season: int, plan: SeasonPlan, seeds: dict[str, list[int]]) -> Games:
    """Tuesday the East's 7-8 and 9-10 games, Wednesday the West's, Friday the last two; the
    winners take the conference's seeds 7 and 8 in `seeds`."""
    yy = f"{season % 100:02d}"
    last_sunday = plan.dates[-1]
    losers, nines = {}, {}
    for s, conf in enumerate("EW"):
        seven, eight, nine, ten = seeds[conf][6:10]
        day = last_sunday + timedelta(2 + s)
        seven_won = yield _game(plan, day, f"005{yy}001{2 * s}1", eight, seven, "Play-In")
        nine_won = yield _game(plan, day, f"005{yy}001{2 * s + 1}1", ten, nine, "Play-In")
        seeds[conf][6], losers[conf] = (seven, eight) if seven_won else (eight, seven)
        nines[conf] = nine if nine_won else ten
    for s, conf in enumerate("EW"):
        day = last_sunday + timedelta(5)
        home_won = yield _game(plan, day, f"005{yy}002{s}1", nines[conf], losers[conf], "Play-In")
        seeds[conf][7] = losers[conf] if home_won else nines[conf]


def _bracket(
    rng: random.Random, season: int, plan: SeasonPlan, seeds: dict[str, list[int]], rank: dict[int, tuple[int, int]]
) -> Games:
    """Four rounds of best-of-seven series from the eight seeds of each conference; a round's
    series starts a few days after both series feeding it are over."""
    yy = f"{season % 100:02d}"
    first_day = plan.dates[-1] + timedelta(6)  # the Saturday after the last Sunday
    active = [
        _Series(seeds[conf][a], seeds[conf][b], first_day + timedelta(starts[k]), 1, 4 * c + k)
        for c, (conf, starts) in enumerate(zip("EW", _FIRST_ROUND_STARTS))
        for k, (a, b) in enumerate(((0, 7), (3, 4), (2, 5), (1, 6)))
    ]
    waiting: dict[tuple[int, int], tuple[int, date]] = {}  # a series' winner and last day
    while active:
        series = min(active, key=lambda s: (s.next_day(), s.round, s.index))
        day = series.next_day()
        high_home = _HIGHER_SEED_HOSTS[series.played]
        home, away = (series.high, series.low) if high_home else (series.low, series.high)
        series.played += 1
        gid = f"004{yy}00{series.round}{series.index}{series.played}"
        home_won = yield _game(plan, day, gid, away, home, "Playoffs")
        series.high_wins += home_won == high_home
        if 4 not in (series.high_wins, series.played - series.high_wins):
            continue
        active.remove(series)
        winner = series.high if series.high_wins == 4 else series.low
        sibling = waiting.pop((series.round, series.index ^ 1), None)
        if series.round == 4:
            continue
        if sibling is None:
            waiting[(series.round, series.index)] = (winner, day)
            continue
        high, low = sorted((winner, sibling[0]), key=rank.__getitem__)
        rest = rng.randint(4, 6) if series.round == 3 else rng.randint(2, 3)
        active.append(_Series(high, low, max(day, sibling[1]) + timedelta(rest), series.round + 1, series.index // 2))
