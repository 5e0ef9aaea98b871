"""The league: teams, rosters, careers and trades, planned a season at a time.

Nothing here depends on simulated games: a season's plan follows from the seed and the plans
before it, so a later season is the same whether or not earlier games were written."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from .players import POS_USAGE, ROSTER_PER_POSITION, Names, Player, drift_zone, lognorm, new_player
from .schedule import assign_dates, matchups, season_dates
from .teams import N_TEAMS

# Game ids carry the season's last two digits: a century of seasons from the NBA's first keeps
# them unique.
SEASONS = range(1946, 2046)


@dataclass
class Trade:
    day: int  # days since the season opener
    team_a: int
    player_a: Player
    team_b: int
    player_b: Player


@dataclass
class Game:
    date: date
    day: int  # days since the opener
    game_id: str
    away: int
    home: int
    data_set: str = "Regular Season"  # after the season's years: `2017-2018 Regular Season`


@dataclass
class SeasonPlan:
    season: int
    dates: list[date]
    games: list[Game]  # in game id order (date order)
    rosters: list[list[Player]]  # at the opener
    trades: list[Trade]
    length_days: int


def _rookie_id_range(season: int) -> tuple[int, int]:
    low = 1626000 + (season - 2015) * 1000 if season >= 2015 else 203000 + (season - 2010) * 400
    return max(low, 200000), max(low, 200000) + 990


class League:
    def __init__(self, seed: int, first_season: int) -> None:
        self.seed = seed
        self.names = Names()
        rng = random.Random(f"shotzones-league:{seed}:{first_season}")
        self.rosters: list[list[Player]] = []
        for _team in range(N_TEAMS):
            roster = []
            for pos in range(5):
                for depth in range(ROSTER_PER_POSITION):
                    rating = self._initial_rating(rng, depth)
                    age = rng.randint(20, 34) if depth < 2 else rng.randint(19, 31)
                    # veterans got their ids in earlier drafts
                    vintage = max(first_season - (age - 20), first_season - 16)
                    p = new_player(rng, self.names, pos, rating, age, _rookie_id_range(vintage))
                    p.years = max(0, age - 20)
                    roster.append(p)
            self.rosters.append(roster)

    @staticmethod
    def _initial_rating(rng: random.Random, depth: int) -> float:
        if depth == 0:
            return min(0.98, max(0.35, rng.gauss(0.66, 0.14)))
        if depth == 1:
            return min(0.8, max(0.2, rng.gauss(0.42, 0.1)))
        return min(0.6, max(0.05, rng.gauss(0.22, 0.09)))

    # ---- one season ------------------------------------------------------------------------

    def plan_season(self, season: int) -> SeasonPlan:
        rng = random.Random(f"shotzones-season:{self.seed}:{season}")
        dates = season_dates(rng, season)
        pairs = matchups(rng)
        by_date = assign_dates(rng, pairs, dates, season)
        opener = dates[0]
        length = (dates[-1] - opener).days + 1
        games: list[Game] = []
        seq = 0
        for d, day_games in zip(dates, by_date):
            rng.shuffle(day_games)
            for home, away in day_games:
                seq += 1
                gid = f"002{season % 100:02d}{seq:05d}"
                games.append(Game(d, (d - opener).days, gid, away, home))
        rosters = [list(r) for r in self.rosters]
        for roster in rosters:
            for p in roster:
                _drift_and_injure(rng, p, length)
        trades = _plan_trades(rng, rosters, length)
        return SeasonPlan(season, dates, games, rosters, trades, length)

    def end_season(self, plan: SeasonPlan) -> None:
        """Careers move on: trades stick, players age, retire, move in free agency; rookies."""
        rng = random.Random(f"shotzones-offseason:{self.seed}:{plan.season}")
        rosters = [list(r) for r in plan.rosters]
        for t in plan.trades:
            apply_trade(rosters, t)
        pool: list[Player] = []  # free agents
        for roster in rosters:
            roster[:] = [p for p in roster if _stays(rng, p, pool)]
        rng.shuffle(pool)
        pool.sort(key=lambda p: -p.rating)
        id_range = _rookie_id_range(plan.season + 1)
        # draft: two rookies per team, then free agents, then new faces, keeping positions
        order = list(range(N_TEAMS))
        rng.shuffle(order)
        for rnd in range(2):
            for team in order:
                pos = _needed_position(rosters[team], rng)
                rating = min(0.85, max(0.05, rng.gauss(0.33 if rnd == 0 else 0.2, 0.12)))
                rookie = new_player(rng, self.names, pos, rating, rng.randint(19, 22), id_range)
                rosters[team].append(rookie)
        for team in order:
            while len(rosters[team]) > 15:  # waive the weakest
                weakest = min(rosters[team], key=lambda p: p.rating)
                rosters[team].remove(weakest)
        for _round in range(15):
            for team in order:
                if len(rosters[team]) < 15:
                    rosters[team].append(self._sign(rng, rosters[team], pool, id_range))
        self.rosters = rosters

    def _sign(self, rng: random.Random, roster: list[Player], pool: list[Player], id_range: tuple[int, int]) -> Player:
        """The best free agent at the position the roster lacks most, or else a new face."""
        pos = _needed_position(roster, rng)
        pick = next((p for p in pool if p.pos == pos), None)
        if pick is None:
            return new_player(
                rng, self.names, pos, min(0.6, max(0.05, rng.gauss(0.2, 0.1))), rng.randint(21, 28), id_range
            )
        pool.remove(pick)
        return pick


def _drift_and_injure(rng: random.Random, p: Player, length: int) -> None:
    """Profiles drift slowly within the season (start -> end); injuries are planned."""
    p.w0 = p.w1
    p.f0 = p.f1
    p.w1 = drift_zone(rng, p.w0, 0.16)
    p.f1 = [min(0.8, max(0.2, f + rng.gauss(0.0, 0.015))) for f in p.f0]
    spells = []
    r = rng.random()
    n = 0 if r < 0.42 else 1 if r < 0.77 else 2 if r < 0.94 else 3
    for _ in range(n):
        start = rng.randint(0, length - 1)
        r = rng.random()
        dur = rng.randint(1, 5) if r < 0.6 else rng.randint(6, 20) if r < 0.9 else rng.randint(21, 70)
        spells.append((start, start + dur))
    p.injuries = tuple(spells)


def _plan_trades(rng: random.Random, rosters: list[list[Player]], length: int) -> list[Trade]:
    """A few trades before the deadline: one player for one player."""
    trades = []
    traded: set[int] = set()
    for _ in range(rng.randint(3, 6)):
        ta, tb = rng.sample(range(N_TEAMS), 2)
        pa = rng.choice([p for p in rosters[ta] if p.pid not in traded])
        cands = [p for p in rosters[tb] if p.pid not in traded and abs(p.rating - pa.rating) < 0.2]
        if not cands:
            continue
        pb = rng.choice(cands)
        traded.update((pa.pid, pb.pid))
        day = rng.randint(45, min(110, length - 40))
        trades.append(Trade(day, ta, pa, tb, pb))
    trades.sort(key=lambda t: t.day)
    return trades


def _stays(rng: random.Random, p: Player, free_agents: list[Player]) -> bool:
    """A year older: whether he stays on his roster (or retires, or joins `free_agents`)."""
    p.age += 1
    p.years += 1
    growth = 0.05 if p.age <= 23 else 0.02 if p.age <= 27 else -0.01 if p.age <= 31 else -0.04
    p.rating = min(0.98, max(0.03, p.rating + growth + rng.gauss(0.0, 0.05)))
    p.usage = (0.3 + p.rating) ** 2.2 * POS_USAGE[p.pos] * lognorm(rng, 0.08)
    retire = 0.02 if p.age < 30 else 0.08 if p.age < 33 else 0.25 if p.age < 36 else 0.6
    if p.rating < 0.15:
        retire += 0.25
    r = rng.random()
    if r < retire:
        return False
    if r < retire + 0.2:
        free_agents.append(p)
        return False
    return True


def _needed_position(roster: list[Player], rng: random.Random) -> int:
    counts = [0] * 5
    for p in roster:
        counts[p.pos] += 1
    low = min(counts)
    return rng.choice([i for i in range(5) if counts[i] == low])


def apply_trade(rosters: list[list[Player]], t: Trade) -> None:
    rosters[t.team_a].remove(t.player_a)
    rosters[t.team_b].remove(t.player_b)
    rosters[t.team_a].append(t.player_b)
    rosters[t.team_b].append(t.player_a)
