"""Realistic, deterministic synthetic BigDataBall play-by-play.

`generate()` writes `schedule.csv` and one play-by-play file per game, named like the real
deliveries (`[2023-10-24]-0022300001-LAL@DEN.csv`), in the 44 columns of SPEC section 2.

How it stays deterministic and cheap:

* The league (players, careers, rosters, trades, injuries, shooting-profile drift) is planned a
  season at a time from RNGs seeded by `seed` and the season only; nothing in the plan depends on
  simulated games, so a later season is the same whether or not earlier games were written.
* Every game is simulated with its own RNG seeded from (`seed`, game id) and the planned state of
  the league on its date, so `max_dates_per_season` only stops writing: the files written are
  byte-identical to the same files of a full run.
* Simulation produces format-neutral events; a second RNG seeded from (`seed`, game id) drives
  only the rendering quirks (date and game-id spellings, play-id disorder, `unknown` shot types),
  so the three format generations describe exactly the same basketball.
"""

from __future__ import annotations

import copy
import csv
import math
import random
import re
import time
import unicodedata
from bisect import bisect
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Generator

__all__ = ["COLUMNS", "GenerationSummary", "generate", "format_generation_for", "player_lookup"]

COLUMNS = (
    "game_id", "data_set", "date", "a1", "a2", "a3", "a4", "a5", "h1", "h2", "h3", "h4", "h5",
    "period", "away_score", "home_score", "remaining_time", "elapsed", "play_length", "play_id",
    "team", "event_type", "assist", "away", "home", "block", "entered", "left", "num", "opponent",
    "outof", "player", "points", "possession", "reason", "result", "steal", "type",
    "shot_distance", "original_x", "original_y", "converted_x", "converted_y", "description",
)  # fmt: skip

FORMAT_GENERATIONS = ("2017", "2021", "2024")
# Game ids carry the season's last two digits: a century of seasons from the NBA's first keeps
# them unique.
SEASONS = range(1946, 2046)


@dataclass(frozen=True)
class GenerationSummary:
    seasons: list[int]
    games: int  # game files written
    dates: int  # distinct game dates written
    rows: int  # play-by-play data rows written (headers excluded)
    files: int  # every file written: the game files plus schedule.csv
    seconds: float


def format_generation_for(season: int) -> str:
    """The BigDataBall format generation a season was delivered in."""
    if season < 2019:
        return "2017"
    if season < 2024:
        return "2021"
    return "2024"


_SUFFIX_TOKENS = {"jr", "sr", "ii", "iii", "iv"}


def player_lookup(name: str) -> str:
    """SPEC section 3 player_lookup."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    tokens = [t for t in re.findall(r"[a-z0-9]+", folded) if t not in _SUFFIX_TOKENS]
    return "".join(tokens).lstrip("0123456789")


# --------------------------------------------------------------------------------------------
# Teams
# --------------------------------------------------------------------------------------------

# abbreviation, nickname, conference, division
TEAMS = (
    ("BOS", "Celtics", "E", "Atlantic"), ("BKN", "Nets", "E", "Atlantic"),
    ("NYK", "Knicks", "E", "Atlantic"), ("PHI", "76ers", "E", "Atlantic"),
    ("TOR", "Raptors", "E", "Atlantic"), ("CHI", "Bulls", "E", "Central"),
    ("CLE", "Cavaliers", "E", "Central"), ("DET", "Pistons", "E", "Central"),
    ("IND", "Pacers", "E", "Central"), ("MIL", "Bucks", "E", "Central"),
    ("ATL", "Hawks", "E", "Southeast"), ("CHA", "Hornets", "E", "Southeast"),
    ("MIA", "Heat", "E", "Southeast"), ("ORL", "Magic", "E", "Southeast"),
    ("WAS", "Wizards", "E", "Southeast"), ("DEN", "Nuggets", "W", "Northwest"),
    ("MIN", "Timberwolves", "W", "Northwest"), ("OKC", "Thunder", "W", "Northwest"),
    ("POR", "Trail Blazers", "W", "Northwest"), ("UTA", "Jazz", "W", "Northwest"),
    ("GSW", "Warriors", "W", "Pacific"), ("LAC", "Clippers", "W", "Pacific"),
    ("LAL", "Lakers", "W", "Pacific"), ("PHX", "Suns", "W", "Pacific"),
    ("SAC", "Kings", "W", "Pacific"), ("DAL", "Mavericks", "W", "Southwest"),
    ("HOU", "Rockets", "W", "Southwest"), ("MEM", "Grizzlies", "W", "Southwest"),
    ("NOP", "Pelicans", "W", "Southwest"), ("SAS", "Spurs", "W", "Southwest"),
)  # fmt: skip
N_TEAMS = len(TEAMS)
ABBR = tuple(t[0] for t in TEAMS)
NICK = tuple(t[1] for t in TEAMS)

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

_FIRST = """Aaron Adam Alec Alex Andre Andrew Anthony Austin Avery Ben Blake Bobby Brandon Brook
Bruce Bryce Buddy Caleb Cam Cameron Carl Chris Christian Cody Cole Collin Corey Dale Damian Daniel
Darius Darnell David Davion Dean Dennis Derrick Devin Dewayne Dillon Dominic Donovan Drew Dwight
Dylan Elijah Eric Evan Frank Gabe Gary Gordon Grant Greg Harrison Isaac Isaiah Ivan Jaden Jake
Jalen Jamal James Jaren Jarrett Jason Javon Jaylen Jeff Jerami Jeremy Jermaine Joel Johnny Jonah
Jordan Josh Josiah Julian Justin Kam Keegan Keith Kelly Kendall Kevin Kris Kyle Lamar Lance Landry
Leon Lonnie Luke Malcolm Malik Marcus Mark Mason Matt Max Miles Mike Mitchell Myles Nate Nick Noah
Norman Obi Omar Oscar Patrick Paul Quentin Reggie Ricky Robert Rodney Ryan Sam Scott Sean Seth
Shane Spencer Terrence Thomas Tim Tobias Tony Trey Tristan Troy Ty Tyler Tyrese Victor Wade Walker
Wendell Xavier Zach Zion Nikola Luka Bogdan Dario Goran Jonas Marko Filip Dejan Mateo Ousmane
Moussa Amadou Kofi Chima Emeka Tariq Khalil Rashad Terrell Deshawn Jamaal Kenyon Marquis Dorian
Jarvis Quinton Darian Keon Trevon Cade Jett Brady Colby Hunter Garrett Reid Wyatt Jace Kobe""".split()
_FIRST_APOSTROPHE = """De'Andre D'Marcus Ja'Vonte Tre'Shawn Jae'Lin Ke'Von La'Mar De'Quan
Da'Ron Ty'Shon D'Andre Jo'Vaughn""".split()
_FIRST_DIACRITIC = """Théo Sébastien Andrés Jérôme Dāvis Ömer Raúl Álvaro Joël Frédéric Nicolás
Tomáš Jiří Mārtiņš Gökhan Iñaki Søren""".split()
_LAST = """Adams Allen Anderson Bailey Baker Barnes Bell Bennett Brooks Brown Bryant Butler Campbell
Carter Clark Coleman Collins Cook Cooper Cox Craig Cunningham Davis Dawson Dixon Douglas Edwards
Ellis Evans Fields Fisher Fleming Ford Foster Freeman Gibson Gordon Graham Grant Gray Green
Griffin Hall Hamilton Harper Harris Hart Hayes Henderson Hill Holmes Howard Hughes Hunter Jackson
James Jenkins Johnson Jones Jordan Kelly Kennedy King Knight Lane Lewis Little Lowe Marshall Martin
Mason Matthews McCoy McDaniel Miller Mitchell Moore Morgan Morris Murphy Murray Myers Nelson
Norris Owens Palmer Parker Patterson Payne Perry Phillips Porter Powell Price Reed Reynolds
Richardson Riley Roberts Robinson Rogers Ross Russell Sanders Scott Shaw Simmons Simpson Smith
Stewart Stone Sullivan Taylor Thomas Thompson Turner Walker Wallace Ward Warren Washington Watson
Webb Wells West White Williams Wilson Woods Wright Young Okafor Okoro Diallo Ndiaye Sissoko Mbaye
Camara Achebe Okonkwo Oduya Mensah Boateng Holloway Whitfield Pritchard Ashby Calloway Dunbar
Fairley Gaines Hollins Ivey Jeffries Kersey Langford Mabry Nance Oakes Pruitt Quarles Rucker Sampson
Tillman Upshaw Vance Whitaker Yancey Bledsoe Crowder Drummond Embry Farrow Gatlin Hairston Ingram
Jolley Keyes Lyles Maddox Nixon Odom Pickett Rollins Staley Toney Vaughn Wicks Bradley Carroll
Dudley Easley Fuller Hogan Irving Jameson Kirkland Lockett Manning Newsome Overton Pollard Redd
Sutton Tate Underwood Vickers Wooten Brewer Chandler Dorsey Eubanks Fontaine Goodwin Hardy
Isom Joyner Kimble Larkin Merritt Nash Orr Pryor Ramsey Sledge Tolliver Upton Voss Wiley""".split()
_LAST_DIACRITIC = """Jokanović Marković Petrović Kovačević Nikolić Radović Bogdanović Vučković
Šarić Žagar Dončević Ilić Lukić Matić Babić Jurić Krstić Tomašević Pavlović Müller Schröder Böhm
Köhler Núñez Peña Muñoz Ibáñez Jiménez Hernández Martínez Domínguez Sánchez Gómez Álvarez
Fernández Dupré Lefèvre Bérubé Čačić Šimić Žižak Traoré Koné Touré Yılmaz Öztürk Šťastný Jönsson
Sørensen Kalniņš Bērziņš Gašparović Vázquez""".split()
_SUFFIXES = (("Jr.", 0.05), ("II", 0.015), ("III", 0.01), ("Sr.", 0.004))


# --------------------------------------------------------------------------------------------
# Players and shooting profiles
# --------------------------------------------------------------------------------------------

POSITIONS = ("PG", "SG", "SF", "PF", "C")
ZRA, ZPAINT, ZMID, ZC3, ZATB = range(5)
# FGA share by zone: restricted area, paint (non-RA), mid-range, corner 3, above the break 3
_BASE_ZONE = (
    (0.215, 0.205, 0.125, 0.060, 0.395),  # PG
    (0.205, 0.175, 0.120, 0.110, 0.390),  # SG
    (0.255, 0.180, 0.105, 0.130, 0.330),  # SF
    (0.325, 0.220, 0.090, 0.095, 0.270),  # PF
    (0.500, 0.270, 0.070, 0.035, 0.125),  # C
)
_BASE_FG = (0.618, 0.405, 0.39, 0.38, 0.349)
_POS_FG_ADJ = (
    (-0.03, 0.01, 0.01, 0.00, 0.008),
    (-0.02, 0.00, 0.01, 0.005, 0.008),
    (0.00, 0.00, 0.00, 0.005, 0.000),
    (0.02, 0.00, -0.01, -0.005, -0.010),
    (0.05, 0.01, -0.03, -0.030, -0.030),
)
_POS_USAGE = (1.05, 1.05, 1.0, 0.95, 0.85)
_POS_PASS = (3.2, 1.7, 1.5, 1.2, 1.1)
_POS_REB = (0.9, 1.0, 1.4, 2.2, 3.0)
_POS_OREB = (0.5, 0.7, 1.2, 2.3, 3.6)
_POS_BLK = (0.35, 0.5, 1.0, 2.2, 4.2)
_POS_STL = (1.5, 1.35, 1.2, 0.9, 0.75)
_POS_FOUL = (0.95, 1.0, 1.0, 1.2, 1.45)
_POS_ADEP = (0.78, 0.97, 1.06, 1.12, 1.2)  # how much his makes depend on a pass
_POS_FT = (0.82, 0.81, 0.78, 0.75, 0.70)
_ROSTER_PER_POSITION = 3  # a 15-man roster: three at each position


class Player:
    __slots__ = (
        "pid", "name", "last", "lookup", "pos", "age", "rating", "usage", "passing", "reb",
        "oreb", "blk", "stl", "foul", "adep", "ft", "w0", "w1", "f0", "f1", "injuries", "zcw",
        "fg", "years",
    )  # fmt: skip

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Player({self.pid}, {self.name!r}, {POSITIONS[self.pos]}, {self.rating:.2f})"


def _lognorm(rng: random.Random, sigma: float) -> float:
    return math.exp(rng.gauss(0.0, sigma))


class _Names:
    """Unique (after player_lookup) realistic names, across the league and all seasons."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.used_ids: set[int] = set()

    def new_name(self, rng: random.Random) -> tuple[str, str]:
        while True:
            r = rng.random()
            if r < 0.03:
                first = rng.choice(_FIRST_APOSTROPHE)
            elif r < 0.07:
                first = rng.choice(_FIRST_DIACRITIC)
            else:
                first = rng.choice(_FIRST)
            r = rng.random()
            if r < 0.09:
                last = rng.choice(_LAST_DIACRITIC)
            elif r < 0.115:
                a, b = rng.sample(_LAST, 2)
                last = f"{a}-{b}"
            else:
                last = rng.choice(_LAST)
            r = rng.random()
            for suffix, share in _SUFFIXES:
                if r < share:
                    last = f"{last} {suffix}"
                    break
                r -= share
            name = f"{first} {last}"
            key = player_lookup(name)
            if key not in self.used:
                self.used.add(key)
                return name, last

    def new_id(self, rng: random.Random, low: int, high: int) -> int:
        while True:
            pid = rng.randint(low, high)
            if pid not in self.used_ids:
                self.used_ids.add(pid)
                return pid


def _drift_zone(rng: random.Random, w: list[float], sigma: float) -> list[float]:
    w = [x * _lognorm(rng, sigma) for x in w]
    total = sum(w)
    return [x / total for x in w]


def _new_player(rng: random.Random, names: _Names, pos: int, rating: float, age: int,
                id_range: tuple[int, int]) -> Player:  # fmt: skip
    p = Player()
    p.pid = names.new_id(rng, *id_range)
    p.name, p.last = names.new_name(rng)
    p.lookup = player_lookup(p.name)
    p.pos = pos
    p.age = age
    p.rating = rating
    p.years = 0
    # shooting profile: the position's mix with individual variation (stretch bigs, slashers...)
    base = list(_BASE_ZONE[pos])
    style = rng.random()
    if pos == 4 and style < 0.22:  # stretch big
        base = [base[0] * 0.7, base[1] * 0.8, base[2] * 1.3, base[3] * 2.5, base[4] * 2.6]
    elif pos <= 2 and style < 0.15:  # slasher
        base = [base[0] * 1.5, base[1] * 1.2, base[2] * 0.9, base[3] * 0.7, base[4] * 0.65]
    elif pos <= 2 and style > 0.85:  # sniper
        base = [base[0] * 0.7, base[1] * 0.75, base[2] * 0.9, base[3] * 1.3, base[4] * 1.35]
    elif style > 0.9:  # mid-range specialist
        base = [base[0], base[1] * 1.1, base[2] * 1.9, base[3] * 0.8, base[4] * 0.8]
    p.w1 = _drift_zone(rng, base, 0.22)
    adj = _POS_FG_ADJ[pos]
    skill = (rating - 0.5) * 0.05
    p.f1 = [
        min(0.8, max(0.2, _BASE_FG[z] + adj[z] + skill + rng.gauss(0.0, 0.03))) for z in range(5)
    ]
    p.w0 = p.w1
    p.f0 = p.f1
    p.usage = (0.3 + rating) ** 2.2 * _POS_USAGE[pos] * _lognorm(rng, 0.15)
    p.passing = _POS_PASS[pos] * (0.5 + rating) * _lognorm(rng, 0.25)
    p.reb = _POS_REB[pos] * (0.7 + 0.6 * rating) * _lognorm(rng, 0.2)
    p.oreb = _POS_OREB[pos] * _lognorm(rng, 0.3)
    p.blk = _POS_BLK[pos] * _lognorm(rng, 0.35)
    p.stl = _POS_STL[pos] * _lognorm(rng, 0.25)
    p.foul = _POS_FOUL[pos] * _lognorm(rng, 0.2)
    p.adep = _POS_ADEP[pos] * (1.12 - 0.25 * rating) * _lognorm(rng, 0.1)
    p.ft = min(0.93, max(0.45, _POS_FT[pos] + rng.gauss(0.0, 0.07)))
    p.injuries = ()
    p.zcw = None
    p.fg = None
    return p


# --------------------------------------------------------------------------------------------
# The league: rosters, careers, season plans
# --------------------------------------------------------------------------------------------


@dataclass
class _Trade:
    day: int  # days since the season opener
    team_a: int
    player_a: Player
    team_b: int
    player_b: Player


@dataclass
class _Game:
    date: date
    day: int  # days since the opener
    game_id: str
    away: int
    home: int
    data_set: str = "Regular Season"  # after the season's years: `2017-2018 Regular Season`


@dataclass
class _SeasonPlan:
    season: int
    dates: list[date]
    games: list[_Game]  # in game id order (date order)
    rosters: list[list[Player]]  # at the opener
    trades: list[_Trade]
    length_days: int


def _rookie_id_range(season: int) -> tuple[int, int]:
    low = 1626000 + (season - 2015) * 1000 if season >= 2015 else 203000 + (season - 2010) * 400
    return max(low, 200000), max(low, 200000) + 990


class _League:
    def __init__(self, seed: int, first_season: int) -> None:
        self.seed = seed
        self.names = _Names()
        rng = random.Random(f"shotzones-league:{seed}:{first_season}")
        self.rosters: list[list[Player]] = []
        for _team in range(N_TEAMS):
            roster = []
            for pos in range(5):
                for depth in range(_ROSTER_PER_POSITION):
                    rating = self._initial_rating(rng, depth)
                    age = rng.randint(20, 34) if depth < 2 else rng.randint(19, 31)
                    # veterans got their ids in earlier drafts
                    vintage = max(first_season - (age - 20), first_season - 16)
                    p = _new_player(rng, self.names, pos, rating, age, _rookie_id_range(vintage))
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

    def plan_season(self, season: int) -> _SeasonPlan:
        rng = random.Random(f"shotzones-season:{self.seed}:{season}")
        dates = _season_dates(rng, season)
        pairs = _matchups(rng)
        by_date = _assign_dates(rng, pairs, dates, season)
        opener = dates[0]
        length = (dates[-1] - opener).days + 1
        games: list[_Game] = []
        seq = 0
        for d, day_games in zip(dates, by_date):
            rng.shuffle(day_games)
            for home, away in day_games:
                seq += 1
                gid = f"002{season % 100:02d}{seq:05d}"
                games.append(_Game(d, (d - opener).days, gid, away, home))
        rosters = [list(r) for r in self.rosters]
        # profiles drift slowly within the season (start -> end), injuries are planned
        for roster in rosters:
            for p in roster:
                p.w0 = p.w1
                p.f0 = p.f1
                p.w1 = _drift_zone(rng, p.w0, 0.16)
                p.f1 = [min(0.8, max(0.2, f + rng.gauss(0.0, 0.015))) for f in p.f0]
                spells = []
                r = rng.random()
                n = 0 if r < 0.42 else 1 if r < 0.77 else 2 if r < 0.94 else 3
                for _ in range(n):
                    start = rng.randint(0, length - 1)
                    r = rng.random()
                    dur = (rng.randint(1, 5) if r < 0.6 else rng.randint(6, 20) if r < 0.9
                           else rng.randint(21, 70))  # fmt: skip
                    spells.append((start, start + dur))
                p.injuries = tuple(spells)
        # a few trades before the deadline: one player for one player
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
            trades.append(_Trade(day, ta, pa, tb, pb))
        trades.sort(key=lambda t: t.day)
        return _SeasonPlan(season, dates, games, rosters, trades, length)

    def end_season(self, plan: _SeasonPlan) -> None:
        """Careers move on: trades stick, players age, retire, move in free agency; rookies."""
        rng = random.Random(f"shotzones-offseason:{self.seed}:{plan.season}")
        rosters = [list(r) for r in plan.rosters]
        for t in plan.trades:
            _apply_trade(rosters, t)
        pool: list[Player] = []
        for roster in rosters:
            keep = []
            for p in roster:
                p.age += 1
                p.years += 1
                growth = 0.05 if p.age <= 23 else 0.02 if p.age <= 27 else -0.01 if p.age <= 31 else -0.04
                p.rating = min(0.98, max(0.03, p.rating + growth + rng.gauss(0.0, 0.05)))
                p.usage = (0.3 + p.rating) ** 2.2 * _POS_USAGE[p.pos] * _lognorm(rng, 0.08)
                retire = (0.02 if p.age < 30 else 0.08 if p.age < 33 else 0.25 if p.age < 36 else 0.6)
                if p.rating < 0.15:
                    retire += 0.25
                r = rng.random()
                if r < retire:
                    continue
                if r < retire + 0.2:
                    pool.append(p)  # free agent
                else:
                    keep.append(p)
            roster[:] = keep
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
                rookie = _new_player(rng, self.names, pos, rating, rng.randint(19, 22), id_range)
                rosters[team].append(rookie)
        for team in order:
            while len(rosters[team]) > 15:  # waive the weakest
                weakest = min(rosters[team], key=lambda p: p.rating)
                rosters[team].remove(weakest)
        for _round in range(15):
            for team in order:
                if len(rosters[team]) >= 15:
                    continue
                pos = _needed_position(rosters[team], rng)
                pick = next((p for p in pool if p.pos == pos), None)
                if pick is None:
                    pick = _new_player(rng, self.names, pos, min(0.6, max(0.05, rng.gauss(0.2, 0.1))),
                                       rng.randint(21, 28), id_range)  # fmt: skip
                else:
                    pool.remove(pick)
                rosters[team].append(pick)
        self.rosters = rosters


def _needed_position(roster: list[Player], rng: random.Random) -> int:
    counts = [0] * 5
    for p in roster:
        counts[p.pos] += 1
    low = min(counts)
    return rng.choice([i for i in range(5) if counts[i] == low])


def _apply_trade(rosters: list[list[Player]], t: _Trade) -> None:
    rosters[t.team_a].remove(t.player_a)
    rosters[t.team_b].remove(t.player_b)
    rosters[t.team_a].append(t.player_b)
    rosters[t.team_b].append(t.player_a)


# --------------------------------------------------------------------------------------------
# Schedule
# --------------------------------------------------------------------------------------------


def _season_dates(rng: random.Random, season: int) -> list[date]:
    start = date(season, 10, 18)
    start += timedelta((1 - start.weekday()) % 7)  # the Tuesday on or after Oct 18
    end = date(season + 1, 4, 9)
    end += timedelta((6 - end.weekday()) % 7)  # the Sunday on or after Apr 9
    nov1 = date(season, 11, 1)
    thanksgiving = nov1 + timedelta((3 - nov1.weekday()) % 7 + 21)
    feb1 = date(season + 1, 2, 1)
    all_star = feb1 + timedelta((6 - feb1.weekday()) % 7 + 14)  # third Sunday of February
    off = {thanksgiving, date(season, 12, 24)} | {all_star + timedelta(k) for k in range(-2, 4)}
    days = []
    d = start
    while d <= end:
        if d not in off:
            days.append(d)
        d += timedelta(1)
    target = min(len(days), rng.randint(161, 167))
    while len(days) > target:
        del days[rng.randint(3, len(days) - 4)]
    return days


def _matchups(rng: random.Random) -> list[tuple[int, int]]:
    """1,230 (home, away) games: 41 home and 41 away per team, NBA-style rotation."""
    games: list[tuple[int, int]] = []
    conf = {c: [i for i, t in enumerate(TEAMS) if t[2] == c] for c in "EW"}
    division = [t[3] for t in TEAMS]
    for a in conf["E"]:
        for b in conf["W"]:
            games += [(a, b), (b, a)]
    for c in "EW":
        teams = conf[c]
        divs = sorted({division[t] for t in teams})
        members = [[t for t in teams if division[t] == d] for d in divs]
        for m in members:
            rng.shuffle(m)
        rng.shuffle(members)
        d0, d1, d2 = members
        three = set()
        for i in range(5):
            three.add(frozenset((d0[i], d1[i])))
            three.add(frozenset((d0[i], d1[(i + 1) % 5])))
            three.add(frozenset((d0[i], d2[i])))
            three.add(frozenset((d0[i], d2[(i + 2) % 5])))
            three.add(frozenset((d1[i], d2[i])))
            three.add(frozenset((d1[i], d2[(i + 1) % 5])))
        for i, a in enumerate(teams):
            for b in teams[i + 1:]:
                if frozenset((a, b)) in three:
                    continue
                games += [(a, b), (a, b), (b, a), (b, a)]
        # orient the 4-regular "three games" graph along closed trails: in = out = 2 everywhere
        edges = sorted(tuple(sorted(e)) for e in three)
        rng.shuffle(edges)
        adj: dict[int, list[int]] = {t: [] for t in teams}
        for k, (a, b) in enumerate(edges):
            adj[a].append(k)
            adj[b].append(k)
        used = [False] * len(edges)
        for v in teams:
            while True:
                cur = v
                moved = False
                while True:
                    k = next((k for k in adj[cur] if not used[k]), None)
                    if k is None:
                        break
                    used[k] = True
                    a, b = edges[k]
                    other = b if a == cur else a
                    games += [(cur, other), (cur, other), (other, cur)]  # cur hosts twice
                    cur = other
                    moved = True
                if not moved:
                    break
    return games


_WEEKDAY_LOAD = (0.9, 0.85, 1.3, 0.6, 1.2, 1.05, 0.85)  # Mon..Sun


def _assign_dates(rng: random.Random, games: list[tuple[int, int]], dates: list[date],
                  season: int) -> list[list[tuple[int, int]]]:  # fmt: skip
    for attempt in range(200):
        result = _try_assign(random.Random(f"{rng.random()}:{attempt}"), games, dates)
        if result is not None:
            return result
    raise RuntimeError(f"could not build a schedule for season {season}")  # pragma: no cover


def _try_assign(rng: random.Random, games: list[tuple[int, int]],
                dates: list[date]) -> list[list[tuple[int, int]]] | None:  # fmt: skip
    pair_rem: dict[tuple[int, int], int] = {}
    for g in games:
        pair_rem[g] = pair_rem.get(g, 0) + 1
    team_rem = [0] * N_TEAMS
    for h, a in games:
        team_rem[h] += 1
        team_rem[a] += 1
    last = [-10] * N_TEAMS
    last2 = [-10] * N_TEAMS
    n = len(dates)
    loads = [_WEEKDAY_LOAD[d.weekday()] for d in dates]
    loads[0] = 0.3  # opening night: a couple of games
    suffix = [0.0] * (n + 1)
    for i in range(n - 1, -1, -1):
        suffix[i] = suffix[i + 1] + loads[i]
    out: list[list[tuple[int, int]]] = []
    b2b = [0] * N_TEAMS
    for di, d in enumerate(dates):
        od = d.toordinal()
        rem_dates = n - di
        total = sum(team_rem) // 2
        if total == 0:
            return None
        if di == n - 1:
            target = total
        else:
            target = int(total * loads[di] / suffix[di] + rng.random() * 1.6 - 0.3)
            target = max(2 if di else 2, min(15, target))
        # a team that must play (few dates left for its games)
        u = [team_rem[t] / rem_dates for t in range(N_TEAMS)]
        blocked = [last[t] == od - 1 and last2[t] == od - 2 for t in range(N_TEAMS)]
        # back-to-backs: about 13 a team, spread evenly over the season
        expected = 12.5 * di / n
        pen = [0.07 + 0.05 * (b2b[t] - expected) if last[t] == od - 1 else 0.0 for t in range(N_TEAMS)]
        cand = []
        for (h, a), c in pair_rem.items():
            if c == 0 or blocked[h] or blocked[a]:
                continue
            s = u[h] + u[a] + 0.06 * c + rng.random() * 0.45 - pen[h] - pen[a]
            cand.append((s, h, a))
        cand.sort(reverse=True)
        busy: set[int] = set()
        chosen = []
        for s, h, a in cand:
            if len(chosen) >= target:
                # keep going only for teams that are falling behind
                if u[h] < 0.62 and u[a] < 0.62:
                    continue
            if h in busy or a in busy:
                continue
            busy.add(h)
            busy.add(a)
            chosen.append((h, a))
        if di == n - 1 and len(chosen) < total:
            return None
        for h, a in chosen:
            pair_rem[(h, a)] -= 1
            team_rem[h] -= 1
            team_rem[a] -= 1
            b2b[h] += last[h] == od - 1
            b2b[a] += last[a] == od - 1
            last2[h], last[h] = last[h], od
            last2[a], last[a] = last[a], od
        if not chosen:
            return None
        out.append(chosen)
    if sum(team_rem):
        return None
    return out


# --------------------------------------------------------------------------------------------
# Postseason
# --------------------------------------------------------------------------------------------

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


def _postseason(seed: int, season: int, plan: _SeasonPlan,
                rosters: list[list[Player]]) -> Generator[_Game, bool, None]:  # fmt: skip
    """The play-in (from 2020-21) and the best-of-seven bracket, game by game in date order.

    Seeds come from the rosters' strength, with noise, from an RNG of its own (so the regular
    season is what it was without playoffs); who advances comes from the games: the caller
    sends back whether the home team won each game it was given."""
    rng = random.Random(f"shotzones-postseason:{seed}:{season}")
    opener = plan.dates[0]
    yy = f"{season % 100:02d}"
    strength = [sum(sorted((p.rating for p in r), reverse=True)[:8]) + rng.gauss(0.0, 0.35)
                for r in rosters]  # fmt: skip
    order = sorted(range(N_TEAMS), key=lambda t: -strength[t])
    seeds = {c: [t for t in order if TEAMS[t][2] == c] for c in "EW"}
    last_sunday = plan.dates[-1]

    def game(day: date, game_id: str, away: int, home: int, data_set: str) -> _Game:
        return _Game(day, (day - opener).days, game_id, away, home, data_set)

    if season >= PLAY_IN_FIRST_SEASON:
        # Tuesday the East's 7-8 and 9-10 games, Wednesday the West's, Friday the last two
        losers, nines = {}, {}
        for s, conf in enumerate("EW"):
            seven, eight, nine, ten = seeds[conf][6:10]
            day = last_sunday + timedelta(2 + s)
            seven_won = yield game(day, f"005{yy}001{2 * s}1", eight, seven, "Play-In")
            nine_won = yield game(day, f"005{yy}001{2 * s + 1}1", ten, nine, "Play-In")
            seeds[conf][6], losers[conf] = (seven, eight) if seven_won else (eight, seven)
            nines[conf] = nine if nine_won else ten
        for s, conf in enumerate("EW"):
            day = last_sunday + timedelta(5)
            home_won = yield game(day, f"005{yy}002{s}1", nines[conf], losers[conf], "Play-In")
            seeds[conf][7] = losers[conf] if home_won else nines[conf]
    rank = {t: (n, order.index(t)) for conf in "EW" for n, t in enumerate(seeds[conf][:8])}
    first_day = last_sunday + timedelta(6)  # a Saturday
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
        home_won = yield game(day, gid, away, home, "Playoffs")
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
        active.append(_Series(high, low, max(day, sibling[1]) + timedelta(rest), series.round + 1,
                              series.index // 2))  # fmt: skip


# --------------------------------------------------------------------------------------------
# Per-game team state and the simulation
# --------------------------------------------------------------------------------------------

# event codes
C_START, C_END, C_JUMP, C_MADE, C_MISS, C_FT, C_REB, C_FOUL, C_TO, C_SUB, C_TOUT, C_VIOL = range(12)

_SHOT_TYPES = {
    ZRA: (("Layup", 22), ("Driving Layup", 25), ("Dunk", 10), ("Driving Dunk", 5),
          ("Alley Oop Dunk", 4), ("Cutting Layup", 7), ("Reverse Layup", 5),
          ("Driving Finger Roll Layup", 5), ("Running Layup", 5), ("Alley Oop Layup", 2),
          ("Driving Reverse Layup", 3), ("Cutting Dunk", 2), ("Hook Shot", 2)),
    ZPAINT: (("Floating Jump Shot", 20), ("Driving Floating Jump Shot", 18), ("Hook Shot", 12),
             ("Turnaround Hook Shot", 8), ("Jump Shot", 12), ("Turnaround Jump Shot", 7),
             ("Driving Layup", 8), ("Layup", 5), ("Pullup Jump Shot", 6),
             ("Fadeaway Jump Shot", 4)),
    ZMID: (("Jump Shot", 30), ("Pullup Jump Shot", 25), ("Step Back Jump Shot", 10),
           ("Fadeaway Jump Shot", 8), ("Turnaround Fadeaway Jump Shot", 7),
           ("Turnaround Jump Shot", 8), ("Driving Floating Jump Shot", 4),
           ("Running Jump Shot", 4), ("Floating Jump Shot", 4)),
    ZC3: (("Jump Shot", 80), ("Pullup Jump Shot", 6), ("Step Back Jump Shot", 4),
          ("Running Jump Shot", 6), ("Turnaround Jump Shot", 2), ("Fadeaway Jump Shot", 2)),
    ZATB: (("Jump Shot", 55), ("Pullup Jump Shot", 18), ("Step Back Jump Shot", 11),
           ("Running Jump Shot", 6), ("Running Pull-Up Jump Shot", 5),
           ("Turnaround Jump Shot", 2), ("Fadeaway Jump Shot", 2), ("Jump Bank Shot", 1)),
}  # fmt: skip
_PUTBACK_TYPES = (("Putback Layup", 45), ("Tip Layup", 30), ("Putback Dunk", 20), ("Tip Dunk", 5))


def _cum(items):
    names = [n for n, _ in items]
    total = float(sum(w for _, w in items))
    cw, acc = [], 0.0
    for _, w in items:
        acc += w / total
        cw.append(acc)
    cw[-1] = 1.0
    return names, cw


_SHOT_TYPE_CUM = {z: _cum(v) for z, v in _SHOT_TYPES.items()}
_PUTBACK_CUM = _cum(_PUTBACK_TYPES)

# calibration (per attempt or per possession)
_P_ASSIST = (0.66, 0.42, 0.45, 0.97, 0.9)  # assisted share of makes by zone
_P_BLOCK = (0.26, 0.21, 0.085, 0.03, 0.03)  # blocked share of misses by zone
_P_SFOUL = (0.2, 0.11, 0.05, 0.017, 0.017)  # shooting foul per attempt by zone
_P_UNKNOWN_XY = 0.015
_P_TO = 0.125
_P_NSFOUL = 0.09
_P_VIOL = 0.012
_P_OREB = 0.245
_P_TEAM_REB = 0.06

_TO_TYPES = _cum(
    (("bad pass", 36), ("lost ball", 25), ("traveling", 9), ("offensive foul", 11),
     ("out of bounds lost ball", 6), ("out of bounds bad pass", 3), ("shot clock", 4),
     ("3 second violation", 2), ("step out of bounds", 2), ("discontinued dribble", 1),
     ("offensive goaltending", 1))
)  # fmt: skip
_TO_STEAL = {"bad pass": 0.7, "lost ball": 0.8}
_TO_DESC = {
    "bad pass": "Bad Pass", "lost ball": "Lost Ball", "traveling": "Traveling",
    "offensive foul": "Offensive Foul", "out of bounds lost ball": "Out of Bounds Lost Ball",
    "out of bounds bad pass": "Out of Bounds - Bad Pass Turnover", "shot clock": "Shot Clock",
    "3 second violation": "3 Second Violation", "step out of bounds": "Step Out of Bounds",
    "discontinued dribble": "Discontinued Dribble", "offensive goaltending": "Offensive Goaltending",
}  # fmt: skip
_NS_FOULS = _cum((("personal", 62), ("loose ball", 22), ("personal take", 10), ("away from play", 6)))
_FOUL_DESC = {
    "shooting": "S.FOUL", "personal": "P.FOUL", "loose ball": "L.B.FOUL", "offensive": "OFF.Foul",
    "personal take": "Personal Take Foul", "away from play": "AWAY.FROM.PLAY.FOUL",
    "technical": "T.FOUL", "defense 3 second": "Defense 3 Second",
}  # fmt: skip
_ORD = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th"}


def _period_name(per: int) -> str:
    return f"{_ORD[per]} Quarter" if per <= 4 else f"{_ORD.get(per - 4, f'{per - 4}th')} OT"


class _TeamGame:
    __slots__ = ("idx", "abbr", "nick", "players", "st", "bk", "deep", "t1", "t2", "t3", "t4",
                 "garbage", "lineup", "info", "timeouts", "team_to", "last_timeout")  # fmt: skip


def _lineup_info(lineup: tuple) -> tuple:
    """Cumulative pick weights (usage, rebounds, offensive rebounds, blocks, steals, fouls,
    passing) for five players on court."""
    out = []
    for attr in ("usage", "reb", "oreb", "blk", "stl", "foul", "passing"):
        ws = [getattr(p, attr) for p in lineup]
        total = sum(ws)
        acc, cw = 0.0, []
        for w in ws:
            acc += w / total
            cw.append(acc)
        cw[-1] = 1.0
        out.append(cw)
    return tuple(out)


def _team_game(rng: random.Random, idx: int, roster: list[Player], day: int, frac: float) -> _TeamGame:
    tg = _TeamGame()
    tg.idx = idx
    tg.abbr = ABBR[idx]
    tg.nick = NICK[idx]
    healthy = []
    for p in roster:
        hurt = False
        for a, b in p.injuries:
            if a <= day < b:
                hurt = True
                break
        if not hurt and p.age >= 33 and p.rating > 0.6 and rng.random() < 0.06:
            hurt = True  # rest
        if not hurt:
            healthy.append(p)
    if len(healthy) < 10:  # the least-injured come back early
        rest = sorted((p for p in roster if p not in healthy), key=lambda p: p.pid)
        healthy += rest[: 10 - len(healthy)]
    healthy.sort(key=lambda p: (-p.rating, p.pid))
    starters: list[Player | None] = [None] * 5
    remaining = list(healthy)
    for pos in range(5):
        for dist in (0, 1, 2, 3, 4):
            pick = next((p for p in remaining if abs(p.pos - pos) == dist), None)
            if pick is not None:
                starters[pos] = pick
                remaining.remove(pick)
                break
    backs = remaining[:5]
    deep = remaining[5:]
    # each starter slot gets the closest-position backup
    backups: list[Player | None] = [None] * 5
    for slot in sorted(range(5), key=lambda s: -starters[s].rating):
        best = min(backs, key=lambda p: (abs(p.pos - starters[slot].pos), -p.rating))
        backups[slot] = best
        backs.remove(best)
    tg.st = tuple(starters)
    tg.bk = tuple(backups)
    tg.deep = deep
    tg.players = healthy
    # rotation plan: starter plays Q1 [0, t1), Q2 [t2, 720), Q3 [0, t3), Q4 [t4, 720)
    tg.t1, tg.t2, tg.t3, tg.t4 = [], [], [], []
    for slot in range(5):
        edge = max(-0.3, min(0.3, starters[slot].rating - backups[slot].rating))
        tg.t1.append(int(400 + 300 * edge + rng.randint(-50, 90)))
        tg.t2.append(int(260 - 300 * edge + rng.randint(-80, 60)))
        tg.t3.append(int(430 + 300 * edge + rng.randint(-50, 80)))
        tg.t4.append(int(220 - 300 * edge + rng.randint(-60, 60)))
    tg.garbage = None
    tg.lineup = tg.st
    tg.info = _lineup_info(tg.st)
    tg.timeouts = 0
    tg.team_to = 0
    tg.last_timeout = -1
    for p in healthy:
        w = [a + (b - a) * frac for a, b in zip(p.w0, p.w1)]
        total = sum(w)
        acc, cw = 0.0, []
        for x in w:
            acc += x / total
            cw.append(acc)
        cw[-1] = 1.0
        p.zcw = cw
        p.fg = [a + (b - a) * frac for a, b in zip(p.f0, p.f1)]
    return tg


def _plan_lineup(tg: _TeamGame, per: int, el: int) -> tuple:
    if tg.garbage is not None:
        return tg.garbage
    st, bk = tg.st, tg.bk
    if per == 1:
        t = tg.t1
        return tuple(st[i] if el < t[i] else bk[i] for i in range(5))
    if per == 2:
        t = tg.t2
        return tuple(st[i] if el >= t[i] else bk[i] for i in range(5))
    if per == 3:
        t = tg.t3
        return tuple(st[i] if el < t[i] else bk[i] for i in range(5))
    if per == 4:
        t = tg.t4
        return tuple(st[i] if el >= t[i] else bk[i] for i in range(5))
    return st


def _period_plan(tg: _TeamGame, per: int, plen: int) -> tuple[list[int], list[tuple]]:
    """The planned five through one period: change times (first 0) and the five from each."""
    times = sorted({0, *(t for t in (tg.t1, tg.t2, tg.t3, tg.t4)[per - 1] if 0 < t < plen)}
                   if per <= 4 else {0})  # fmt: skip
    fives = []
    for t in times:
        five = _plan_lineup(tg, per, t)
        fives.append(fives[-1] if fives and fives[-1] == five else five)
    return times, fives


def _classify(x: int, y: int) -> int:
    """Zone of a location (ZRA..ZATB) using SPEC section 4's rules; threes by geometry."""
    if (y <= 87.5 and (x >= 220 or x <= -220)) or (y > 87.5 and x * x + y * y >= 56406.25):
        return ZC3 if y <= 87.5 else ZATB
    if x * x + y * y <= 1600:
        return ZRA
    if -80 <= x <= 80 and y <= 137.5:
        return ZPAINT
    return ZMID


def _sample_xy(rng: random.Random, zone: int) -> tuple[int, int]:
    rnd = rng.random
    while True:
        if zone == ZRA:
            r = 40.0 * rnd() ** 1.7
            a = (rnd() * 2.0 - 1.0) * 2.3
        elif zone == ZPAINT:
            x = round((rnd() + rnd() - 1.0) * 80.0)
            y = round(-45.0 + 182.0 * rnd() ** 0.8)
            if _classify(x, y) == zone:
                return x, y
            continue
        elif zone == ZMID:
            r = 90.0 + 146.0 * (rnd() + rnd()) / 2.0
            a = (rnd() * 2.0 - 1.0) * 1.65
        elif zone == ZC3:
            x = round(220.0 + 27.0 * rnd() ** 2)
            if rnd() < 0.5:
                x = -x
            y = round(-47.0 + 134.0 * rnd())
            return x, y
        else:  # above the break
            r = 238.0 + 70.0 * rnd() ** 2.2
            a = (rnd() * 2.0 - 1.0) * 1.25
        x = round(r * math.sin(a))
        y = round(r * math.cos(a))
        if y >= -47 and -250 <= x <= 250 and _classify(x, y) == zone:
            return x, y


def _dist(x: int, y: int) -> int:
    return int(math.sqrt(x * x + y * y) / 10.0 + 0.5)


def _simulate_game(rng: random.Random, teams: tuple[_TeamGame, _TeamGame]) -> list[tuple]:
    """Simulate one game; returns format-neutral events:
    (code, period, elapsed, away_score, home_score, away_five, home_five, side, player, p2, p3,
     num, outof, points, result, tkey, dist, x, y, desc)"""
    rnd = rng.random
    randint = rng.randint
    events: list[tuple] = []
    app = events.append
    score = [0, 0]
    stats: dict[Player, list[int]] = {}  # pts ast blk stl oreb dreb pf to
    for tg in teams:
        for p in tg.players:
            stats[p] = [0, 0, 0, 0, 0, 0, 0, 0]
    per = 1
    team_fouls = [0, 0]
    late_fouls = [0, 0]  # team fouls in the last two minutes of a period
    run = [0, 0]  # current scoring run (side, points)

    info_cache: dict[tuple, tuple] = {}
    plans: list = [None, None]  # per team: the period's planned lineup changes (times, fives)

    def lineup_info(lineup):
        info = info_cache.get(lineup)
        if info is None:
            info = info_cache[lineup] = _lineup_info(lineup)
        return info

    def emit(code, el, side, player=None, p2=None, p3=None, num=None, outof=None, points=None,
             result=None, tkey=None, dist=None, x=None, y=None, desc=""):  # fmt: skip
        app((code, per, el, score[0], score[1], teams[0].lineup, teams[1].lineup, side, player,
             p2, p3, num, outof, points, result, tkey, dist, x, y, desc))

    def pick(lineup, cw):
        return lineup[bisect(cw, rnd())]

    def subs(side, el, exclude=()):
        tg = teams[side]
        if tg.garbage is not None:
            target = tg.garbage
        else:
            plan = plans[side]
            target = plan[1][bisect(plan[0], el) - 1]
        lin = tg.lineup
        if lin is target:
            return
        if lin == target:
            tg.lineup = target
            return
        cur = list(lin)
        for i in range(5):
            inn = target[i]
            out = cur[i]
            if out is inn or out in exclude or inn in cur:
                continue
            cur[i] = inn
            tg.lineup = tuple(cur)
            app((C_SUB, per, el, score[0], score[1], teams[0].lineup, teams[1].lineup, side, None,
                 inn, out, None, None, None, None, None, None, None, None,
                 f"SUB: {inn.last} FOR {out.last}"))
        if tg.lineup is not lin:
            tg.info = lineup_info(tg.lineup)

    def garbage_check(el):
        if per != 4 or el < 430 or abs(score[0] - score[1]) < 18:
            return
        for tg in teams:
            if tg.garbage is not None:
                continue
            pool = sorted(tg.deep, key=lambda p: -p.rating) + sorted(tg.bk, key=lambda p: p.rating)
            group = pool[:5]
            if len(group) < 5:
                continue
            cur = list(tg.lineup)
            slots = [None] * 5
            for i in range(5):
                if cur[i] in group:
                    slots[i] = cur[i]
            rest = [p for p in group if p not in slots]
            for i in range(5):
                if slots[i] is None:
                    slots[i] = rest.pop(0)
            tg.garbage = tuple(slots)

    def dead_ball(el, exclude=()):
        garbage_check(el)
        subs(0, el, exclude)
        subs(1, el, exclude)

    def maybe_timeout(el, off):
        # the team on the wrong end of a run calls it; otherwise now and then
        side = None
        if run[1] >= 8 and rnd() < 0.55:
            side = 1 - run[0]
        elif rnd() < 0.33:
            side = off if rnd() < 0.6 else 1 - off
        if side is None:
            return
        tg = teams[side]
        if tg.timeouts >= 7 or tg.last_timeout == len(events):
            return
        tg.timeouts += 1
        tg.last_timeout = len(events)
        run[0], run[1] = side, 0
        emit(C_TOUT, el, side, tkey="regular",
             desc=f"{tg.nick} Timeout: Regular (Reg.{tg.timeouts} Short 0)")

    def scored(side, pts):
        score[side] += pts
        if run[0] == side:
            run[1] += pts
        else:
            run[0], run[1] = side, pts

    def free_throws(el, side, shooter, n, tech=False):
        """Returns True when the last one was made."""
        st = stats[shooter]
        made = False
        for k in range(1, n + 1):
            made = rnd() < shooter.ft
            label = "Technical" if tech else f"{k} of {n}"
            if made:
                scored(side, 1)
                st[0] += 1
                emit(C_FT, el, side, shooter, num=k, outof=n, points=1, result="made",
                     tkey="T" if tech else None,
                     desc=f"{shooter.last} Free Throw {label} ({st[0]} PTS)")
            else:
                emit(C_FT, el, side, shooter, num=k, outof=n, points=0, result="missed",
                     tkey="T" if tech else None, desc=f"MISS {shooter.last} Free Throw {label}")
        return made

    def foul(el, side, fouler, fouled, kind, team_foul=True):
        st = stats[fouler]
        st[6] += 1
        if team_foul:
            team_fouls[side] += 1
            if el >= plen - 120:
                late_fouls[side] += 1
        emit(C_FOUL, el, side, fouler, p2=fouled, tkey=kind,
             desc=f"{fouler.last} {_FOUL_DESC[kind]} (P{st[6]}.T{team_fouls[side]})")

    def rebound(el, off, after_ft=False):
        """Returns the side that has the ball after the rebound, and whether it was offensive."""
        de = 1 - off
        r = rnd()
        p_team = 0.03 if after_ft else _P_TEAM_REB
        p_off = 0.12 if after_ft else _P_OREB
        if r < p_team:
            side = off if rnd() < 0.45 else de
            emit(C_REB, el, side, None, tkey="off" if side == off else "def",
                 desc=f"{teams[side].nick} Rebound")
            return side, side == off
        if r < p_team + p_off:
            tg = teams[off]
            p = pick(tg.lineup, tg.info[2])
            st = stats[p]
            st[4] += 1
            emit(C_REB, el, off, p, tkey="off", desc=f"{p.last} REBOUND (Off:{st[4]} Def:{st[5]})")
            return off, True
        tg = teams[de]
        p = pick(tg.lineup, tg.info[1])
        st = stats[p]
        st[5] += 1
        emit(C_REB, el, de, p, tkey="def", desc=f"{p.last} REBOUND (Off:{st[4]} Def:{st[5]})")
        return de, False

    def shot(el, off, putback=None, heave=False):
        """One field-goal attempt (or a shooting foul on a missed one). Returns (ball side,
        offensive rebound?, dead ball?)."""
        de = 1 - off
        tgo, tgd = teams[off], teams[de]
        shooter = putback if putback is not None else pick(tgo.lineup, tgo.info[0])
        if heave:
            zone = ZATB
            x = randint(-240, 240)
            y = randint(420, 780)
            title = "Jump Shot" if rnd() < 0.6 else "Running Jump Shot"
            p_make = 0.03
        else:
            if putback is not None:
                zone = ZRA
                names, cw = _PUTBACK_CUM
                p_make = shooter.fg[ZRA] - 0.03
            else:
                zone = bisect(shooter.zcw, rnd())
                names, cw = _SHOT_TYPE_CUM[zone]
                p_make = shooter.fg[zone]
            title = names[bisect(cw, rnd())]
            x, y = _sample_xy(rng, zone)
        is3 = zone >= ZC3
        fouled = not heave and rnd() < _P_SFOUL[zone]
        made = rnd() < (p_make * 0.6 if fouled else p_make)
        d = _dist(x, y)
        if fouled and not made:
            fouler = pick(tgd.lineup, tgd.info[5])
            foul(el, de, fouler, shooter, "shooting")
            dead_ball(el, (shooter,))
            if free_throws(el, off, shooter, 3 if is3 else 2):
                return de, False, True
            side, o = rebound(el, off, True)
            return side, o, False
        if rnd() < _P_UNKNOWN_XY:
            x = y = None
        dtxt = f"{d}' " if d else ""
        three = "3PT " if is3 else ""
        tkey = (title, is3)
        pts = 3 if is3 else 2
        sst = stats[shooter]
        if made:
            scored(off, pts)
            sst[0] += pts
            assister = None
            if putback is None and not heave and rnd() < _P_ASSIST[zone] * shooter.adep:
                cw = tgo.info[6]
                for _ in range(4):
                    cand = pick(tgo.lineup, cw)
                    if cand is not shooter:
                        assister = cand
                        break
            if assister is not None:
                ast = stats[assister]
                ast[1] += 1
                desc = (f"{shooter.last} {dtxt}{three}{title} ({sst[0]} PTS)"
                        f" ({assister.last} {ast[1]} AST)")  # fmt: skip
            else:
                desc = f"{shooter.last} {dtxt}{three}{title} ({sst[0]} PTS)"
            app((C_MADE, per, el, score[0], score[1], teams[0].lineup, teams[1].lineup, off,
                 shooter, assister, None, None, None, pts, "made", tkey, d, x, y, desc))
            if fouled:
                fouler = pick(tgd.lineup, tgd.info[5])
                foul(el, de, fouler, shooter, "shooting")
                dead_ball(el, (shooter,))
                if free_throws(el, off, shooter, 1):
                    return de, False, True
                side, o = rebound(el, off, True)
                return side, o, False
            return de, False, False
        blocker = None
        if not heave and rnd() < _P_BLOCK[zone]:
            blocker = pick(tgd.lineup, tgd.info[3])
            bst = stats[blocker]
            bst[2] += 1
            desc = f"MISS {shooter.last} {dtxt}{three}{title} - {blocker.last} BLOCK ({bst[2]} BLK)"
        else:
            desc = f"MISS {shooter.last} {dtxt}{three}{title}"
        app((C_MISS, per, el, score[0], score[1], teams[0].lineup, teams[1].lineup, off, shooter,
             None, blocker, None, None, 0, "missed", tkey, d, x, y, desc))
        side, o = rebound(min(el + 1, plen), off)
        return side, o, False

    def turnover(el, off):
        """Returns dead ball?"""
        de = 1 - off
        tgo, tgd = teams[off], teams[de]
        names, cw = _TO_TYPES
        kind = names[bisect(cw, rnd())]
        if kind == "shot clock":
            tgo.team_to += 1
            emit(C_TO, el, off, None, tkey=kind,
                 desc=f"{tgo.nick} Turnover: Shot Clock (T#{tgo.team_to})")
            return True
        p = pick(tgo.lineup, tgo.info[0])
        if kind == "offensive foul":
            drew = pick(tgd.lineup, tgd.info[5])
            foul(el, off, p, drew, "offensive", team_foul=False)
        st = stats[p]
        st[7] += 1
        tgo.team_to += 1
        base = f"{p.last} {_TO_DESC[kind]} Turnover (P{st[7]}.T{tgo.team_to})"
        if rnd() < _TO_STEAL.get(kind, 0.0):
            stealer = pick(tgd.lineup, tgd.info[4])
            sst = stats[stealer]
            sst[3] += 1
            emit(C_TO, el, off, p, p3=stealer, tkey=kind,
                 desc=f"{base} - {stealer.last} STEAL ({sst[3]} STL)")
            return False
        emit(C_TO, el, off, p, tkey=kind, desc=base)
        return True

    def technical(el):
        side = 0 if rnd() < 0.5 else 1
        tg = teams[side]
        if rnd() < 0.3:
            fouler = pick(tg.lineup, tg.info[5])
            kind = "defense 3 second"
        else:
            fouler = pick(tg.lineup, tg.info[0])
            kind = "technical"
        st = stats[fouler]
        emit(C_FOUL, el, side, fouler, tkey=kind,
             desc=f"{fouler.last} {_FOUL_DESC[kind]} (P{st[6]}.T{team_fouls[side]})")
        other = teams[1 - side]
        shooter = max(other.lineup, key=lambda p: (p.ft, p.pid))
        free_throws(el, 1 - side, shooter, 1, tech=True)

    # ---- the periods -------------------------------------------------------------------------
    opening_winner = 0
    per = 0
    plen = 720
    while True:
        per += 1
        if per > 4 and score[0] != score[1]:
            break
        plen = 720 if per <= 4 else 300
        team_fouls[0] = team_fouls[1] = 0
        late_fouls[0] = late_fouls[1] = 0
        bonus = 5 if per <= 4 else 4
        for side, tg in enumerate(teams):
            plans[side] = _period_plan(tg, per, plen)
            tg.lineup = plans[side][1][0] if tg.garbage is None else tg.garbage
            tg.info = lineup_info(tg.lineup)
        emit(C_START, 0, None, desc=f"Start of {_period_name(per)}")
        if per == 1 or per >= 5:
            ja, jh = teams[0].lineup[4], teams[1].lineup[4]
            win = 0 if rnd() < 0.5 else 1
            tgw = teams[win]
            to_p = pick(tgw.lineup, tgw.info[1])
            if to_p is (ja if win == 0 else jh):
                to_p = tgw.lineup[0]
            app((C_JUMP, per, 0, score[0], score[1], teams[0].lineup, teams[1].lineup, win,
                 to_p, ja, jh, None, None, None, None, None, None, None, None,
                 f"Jump Ball {ja.last} vs. {jh.last}: Tip to {to_p.last}"))
            poss = win
            if per == 1:
                opening_winner = win
        else:
            poss = 1 - opening_winner if per in (2, 3) else opening_winner
        t = 0
        dead = True
        while t < plen:
            off = poss
            de = 1 - off
            if dead:
                if rnd() < 0.012:
                    technical(t)
                maybe_timeout(t, off)
                dead_ball(t)
            t0 = t
            rem = plen - t
            d = int(rng.triangular(4.0, 25.0, 13.6))
            last_shot = False
            if d >= rem:
                if rem <= 3:
                    if rnd() < 0.22:
                        t = plen
                        poss, _o, dead = shot(t, off, heave=True)
                    t = plen
                    break
                last_shot = True
                t = plen - randint(0, 1)
            else:
                t += d
            second = False
            oreb_by = None
            first = True
            while True:  # actions of one possession (offensive rebounds keep it going)
                r = rnd()
                if last_shot:
                    r = 1.0
                elif second:
                    r = r * 0.55 + 0.45 if r > 0.08 else r  # fewer turnovers/fouls on put-backs
                if r < _P_TO:
                    dead = turnover(t, off)
                    poss = de
                    break
                intentional = (first and per >= 4 and plen - t0 <= 45
                               and 0 < score[off] - score[de] <= 8 and rnd() < 0.75)  # fmt: skip
                first = False
                if intentional or _P_TO <= r < _P_TO + _P_NSFOUL:
                    tgd = teams[de]
                    fouler = pick(tgd.lineup, tgd.info[5])
                    if intentional:
                        kind = "personal take"
                        t = min(t, t0 + randint(1, 4))
                    else:
                        names, cw = _NS_FOULS
                        kind = names[bisect(cw, rnd())]
                    tgo = teams[off]
                    fouled = pick(tgo.lineup, tgo.info[0])
                    foul(t, de, fouler, fouled, kind)
                    if intentional or team_fouls[de] >= bonus or late_fouls[de] >= 2:
                        dead_ball(t, (fouled,))
                        if free_throws(t, off, fouled, 2):
                            poss, dead = de, True
                            break
                        poss, o = rebound(t, off, True)
                        dead = False
                        if o:
                            oreb_by = events[-1][8]
                            second = oreb_by is not None
                            t = min(plen, t + randint(2, 8))
                            continue
                        break
                    dead_ball(t)
                    t = min(plen, t + randint(2, 12))
                    if t >= plen:
                        break
                    continue
                if r < _P_TO + _P_NSFOUL + _P_VIOL:
                    tgd = teams[de]
                    if rnd() < 0.75:
                        p = pick(tgd.lineup, tgd.info[5])
                        emit(C_VIOL, t, de, p, tkey="kicked ball",
                             desc=f"{p.last} Violation:Kicked Ball")
                    else:
                        emit(C_VIOL, t, de, None, tkey="delay of game",
                             desc=f"{tgd.nick} Violation: Delay Of Game")
                    dead_ball(t)
                    t = min(plen, t + randint(2, 10))
                    if t >= plen:
                        break
                    continue
                pb = None
                if second and oreb_by is not None and rnd() < 0.33:
                    pb = oreb_by
                side, o, dead = shot(t, off, putback=pb)
                if side == off and o:
                    t = min(plen, t + 1)
                    evr = events[-1]
                    oreb_by = evr[8]
                    if oreb_by is None:  # team rebound: inbound, new action
                        second = False
                        dead = True
                        dead_ball(t)
                    else:
                        second = True
                    if t >= plen:
                        break
                    t = min(plen, t + (randint(1, 3) if second else randint(3, 10)))
                    last_shot = False
                    continue
                poss = side
                break
        emit(C_END, plen, None, desc=f"End of {_period_name(per)}")
    return events


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

_TS = [f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in range(0, 721)]


def _play_length(seconds: int) -> str:
    """BigDataBall's play_length: the elapsed clock minus the previous row's, so negative on the
    row starting each period after the first, spelled as delivered (`00:-12:00`, `00:-5:00`)."""
    if seconds >= 0:
        return _TS[seconds]
    return f"00:-{-seconds // 60}:{-seconds % 60:02d}"
_EVENT_TYPE = {
    "2017": ("start of period", "end of period", "jump ball", "shot", "miss", "free throw",
             "rebound", "foul", "turnover", "sub", "timeout", "violation"),
    "2021": ("start of period", "end of period", "jump ball", "shot", "shot", "free throw",
             "rebound", "foul", "turnover", "substitution", "timeout", "violation"),
}  # fmt: skip
_EVENT_TYPE["2024"] = _EVENT_TYPE["2021"]
_TYPE_CACHE: dict[tuple[str, object], str] = {}


def _type_str(fmt17: bool, code: int, tkey, num, outof) -> str:
    key = (fmt17, code, tkey, num, outof)
    s = _TYPE_CACHE.get(key)
    if s is not None:
        return s
    if code in (C_MADE, C_MISS):
        title, is3 = tkey
        s = title if fmt17 else ("3pt " if is3 else "") + title.lower()
    elif code == C_FT:
        if tkey == "T":
            s = "Free Throw Technical" if fmt17 else "free throw technical"
        else:
            s = f"Free Throw {num} of {outof}" if fmt17 else f"free throw {num}/{outof}"
    elif code == C_REB:
        s = f"rebound {'offensive' if tkey == 'off' else 'defensive'}"
        s = s.title() if fmt17 else s
    elif code in (C_START, C_END, C_JUMP):
        s = _EVENT_TYPE["2021"][code]
        s = s.title() if fmt17 else s
    elif code == C_SUB:
        s = ""
    else:
        s = tkey.title() if fmt17 else tkey
    _TYPE_CACHE[key] = s
    return s


def _render(events: list[tuple], fmt: str, game: _Game, teams: tuple[_TeamGame, _TeamGame],
            season: int, rrng: random.Random) -> list[list]:  # fmt: skip
    fmt17 = fmt == "2017"
    etypes = _EVENT_TYPE[fmt]
    missing_xy = "unknown" if fmt17 else ""
    rnd = rrng.random
    if fmt == "2024":
        names = {p: f"{p.pid} {p.name}" for tg in teams for p in tg.players}
    else:
        names = {p: p.name for tg in teams for p in tg.players}
    names[None] = ""
    abbr = (teams[0].abbr, teams[1].abbr, "")
    data_set = f"{season}-{season + 1} {game.data_set}"
    gid = game.game_id
    gid_forms = (f'="{gid}"', gid, gid.lstrip("0"))
    d = game.date
    date_forms = (d.isoformat(), f"{d.month}/{d.day}/{d.year}")
    n = len(events)
    # rendering quirks: mixed spellings in one file, play ids not monotonic
    g_main = rrng.randrange(3)
    g_other = 0.04 + 0.2 * rnd()
    d_main = rrng.randrange(2)
    d_other = 0.05 + 0.4 * rnd()
    forced_g = rrng.sample(range(1, n), 3)
    forced_d = rrng.sample(range(1, n), 2)
    swap_at = set(rrng.sample(range(2, n), 1 + rrng.randrange(6)))
    p_skip = 0.02 + 0.04 * rnd()
    p_unknown_type = 0.15 if fmt17 else 0.0
    pid = rrng.randrange(0, 3)
    pids = []
    for i in range(n):
        pid += 1 if rnd() > p_skip else 2 + rrng.randrange(3)
        pids.append(pid)
    for i in swap_at:
        pids[i - 1], pids[i] = pids[i], pids[i - 1]
    lcache: dict[tuple, list[str]] = {}
    rows = []
    prev_el = 0
    prev_per = 0
    for i, e in enumerate(events):
        (code, per, el, asc, hsc, la, lh, side, pl, p2, p3, num, outof, pts, res, tkey, dist, x, y,
         desc) = e  # fmt: skip
        key = (la, lh)
        lineups = lcache.get(key)
        if lineups is None:
            lineups = lcache[key] = [names[q] for q in la] + [names[q] for q in lh]
        if per != prev_per:
            prev_per = per
            plen = 720 if per <= 4 else 300
        r = rnd()
        if r < g_other:
            g = gid_forms[(g_main + 1 + (r < g_other / 2)) % 3]
        else:
            g = gid_forms[g_main]
        r = rnd()
        dv = date_forms[1 - d_main] if r < d_other else date_forms[d_main]
        if i in forced_g or i in forced_d:
            if i in forced_g:
                g = gid_forms[forced_g.index(i)]
            if i in forced_d:
                dv = date_forms[forced_d.index(i)]
        team = abbr[2] if side is None else abbr[side]
        assist = away = home = block = entered = left = opponent = player = possession = steal = ""
        numv = outv = pointsv = resv = typev = distv = ox = oy = cx = cy = ""
        if code == C_MADE or code == C_MISS:
            player = names[pl]
            if p2 is not None:
                assist = names[p2]
            if p3 is not None:
                block = names[p3]
            pointsv = pts
            resv = res
            if fmt17 and rnd() < p_unknown_type:
                typev = "unknown"
            else:
                typev = _type_str(fmt17, code, tkey, None, None)
            distv = dist
            if x is None:
                ox = oy = cx = cy = missing_xy
            else:
                ox = x
                oy = y
                # away attacks the near basket in the first half (and odd overtimes)
                if (side == 0) == (per <= 2 or (per >= 5 and per % 2 == 1)):
                    cx = f"{25.0 - x / 10.0:.1f}"
                    cy = f"{5.25 + y / 10.0:.1f}"
                else:
                    cx = f"{25.0 + x / 10.0:.1f}"
                    cy = f"{88.75 - y / 10.0:.1f}"
        elif code == C_FT:
            player = names[pl]
            numv = num
            outv = outof
            pointsv = pts
            resv = res
            typev = _type_str(fmt17, code, tkey, num, outof)
        elif code == C_SUB:
            entered = names[p2]
            left = names[p3]
        elif code == C_FOUL:
            player = names[pl]
            opponent = names[p2]
            typev = _type_str(fmt17, code, tkey, None, None)
        elif code == C_TO:
            player = names[pl]
            if p3 is not None:
                steal = names[p3]
            typev = _type_str(fmt17, code, tkey, None, None)
        elif code == C_JUMP:
            away = names[p2]
            home = names[p3]
            possession = names[pl]
            typev = _type_str(fmt17, code, None, None, None)
            team = ""
        else:
            player = names[pl]
            typev = _type_str(fmt17, code, tkey, None, None)
        row = [g, data_set, dv]
        row += lineups
        row += (per, asc, hsc, _TS[plen - el], _TS[el], _play_length(el - prev_el), pids[i], team,
                etypes[code], assist, away, home, block, entered, left, numv, opponent, outv,
                player, pointsv, possession, "", resv, steal, typev, distv, ox, oy, cx, cy, desc)  # fmt: skip
        rows.append(row)
        prev_el = el
    return rows


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


ROWS_PER_GAME = (400, 548)  # the real range is about 394-544


def _play(seed: int, game: _Game, rosters: list[list[Player]], frac: float):
    """Simulate one game from its own RNG. The rare game whose row count falls outside the
    real range is replayed from the next sub-seed (still a function of seed and game id only)."""
    for attempt in range(50):
        suffix = f":{attempt}" if attempt else ""
        sim_rng = random.Random(f"shotzones-game:{seed}:{game.game_id}{suffix}")
        teams = (
            _team_game(sim_rng, game.away, rosters[game.away], game.day, frac),
            _team_game(sim_rng, game.home, rosters[game.home], game.day, frac),
        )
        events = _simulate_game(sim_rng, teams)
        if ROWS_PER_GAME[0] <= len(events) <= ROWS_PER_GAME[1]:
            break
    return teams, events


@dataclass(frozen=True)
class _SeasonWritten:
    schedule: list[tuple]  # schedule.csv rows: the games written and those still upcoming
    games: int  # game files written
    rows: int
    dates: int  # game dates written


def _write_season(seed: int, plan: _SeasonPlan, fmt: str, out_dir: Path, max_dates: int | None,
                  upcoming_dates: int = 0, on_game: Callable[[], None] | None = None) -> _SeasonWritten:  # fmt: skip
    """Play and write one season's games: the regular season, then the postseason (only the
    games of its first `max_dates` game dates, when given). The last `upcoming_dates` dates
    kept are scheduled only, and then the season has not reached its postseason."""
    season = plan.season
    season_dir = out_dir / str(season)
    season_dir.mkdir(exist_ok=True)
    keep_dates = plan.dates if max_dates is None else plan.dates[:max_dates]
    last_date = keep_dates[-1] if keep_dates else None
    upcoming = set(keep_dates[max(0, len(keep_dates) - upcoming_dates):]) if upcoming_dates else set()
    n_dates = len(keep_dates) - len(upcoming)
    rosters = [list(r) for r in plan.rosters]
    trades = list(plan.trades)
    schedule: list[tuple] = []
    n_rows = n_games = 0

    def write(game: _Game) -> bool:
        """Play and write one game; whether the home team won."""
        nonlocal n_rows, n_games
        frac = min(1.0, game.day / max(1, plan.length_days - 1))  # playoffs: the season's end
        teams, events = _play(seed, game, rosters, frac)
        rows = _render(events, fmt, game, teams, season,
                       random.Random(f"shotzones-render:{seed}:{game.game_id}"))  # fmt: skip
        name = f"[{game.date.isoformat()}]-{game.game_id}-{ABBR[game.away]}@{ABBR[game.home]}.csv"
        with open(season_dir / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        n_rows += len(rows)
        n_games += 1
        schedule.append((season, game.game_id, game.date.isoformat(), ABBR[game.away], ABBR[game.home]))
        if on_game is not None:
            on_game()
        return events[-1][4] > events[-1][3]

    for game in plan.games:
        if last_date is None or game.date > last_date:
            break
        while trades and trades[0].day <= game.day:
            _apply_trade(rosters, trades.pop(0))
        if game.date in upcoming:
            schedule.append((season, game.game_id, game.date.isoformat(), ABBR[game.away], ABBR[game.home]))
            continue
        write(game)
    postseason_dates = None if max_dates is None else max_dates - len(plan.dates)
    if not upcoming and (postseason_dates is None or postseason_dates > 0):
        games = _postseason(seed, season, plan, rosters)
        days: set[date] = set()
        home_won = None
        while True:
            try:
                game = games.send(home_won)
            except StopIteration:
                break
            days.add(game.date)
            if postseason_dates is not None and len(days) > postseason_dates:
                break
            home_won = write(game)
        n_dates += len(days) if postseason_dates is None else min(len(days), postseason_dates)
    return _SeasonWritten(schedule, n_games, n_rows, n_dates)


def generate(
    out_dir: Path,
    first_season: int,
    seasons: int = 1,
    seed: int = 0,
    format_generation: str | None = None,
    max_dates_per_season: int | None = None,
    on_game: Callable[[], None] | None = None,
    upcoming_dates: int = 0,
    workers: int = 1,
) -> GenerationSummary:
    """Write `schedule.csv` and one BigDataBall play-by-play file per game into `out_dir`.

    Seasons `first_season` .. `first_season + seasons - 1` (2021 = 2021-22), each in its own
    format generation unless `format_generation` forces one. With `max_dates_per_season` only
    the games of the first K game dates of each season are written (and listed in schedule.csv);
    they are byte-identical to the same files of a full run. The games of the last
    `upcoming_dates` regular-season dates of the last season are scheduled but not played yet:
    in schedule.csv, without files, and that season has no postseason yet. `workers` processes
    write seasons in parallel (the same files); `on_game` is then called as each season is done.
    """
    started = time.perf_counter()
    if format_generation is not None and format_generation not in FORMAT_GENERATIONS:
        raise ValueError(f"format_generation must be one of {FORMAT_GENERATIONS} or None")
    if seasons < 1:
        raise ValueError("seasons must be at least 1")
    if max_dates_per_season is not None and max_dates_per_season < 0:
        raise ValueError("max_dates_per_season must be >= 0")
    if upcoming_dates < 0:
        raise ValueError("upcoming_dates must be >= 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    league = _League(seed, first_season)
    schedule_rows: list[tuple] = []
    n_games = n_rows = n_dates = 0
    season_list = list(range(first_season, first_season + seasons))

    def written(season: _SeasonWritten) -> None:
        nonlocal n_games, n_rows, n_dates
        schedule_rows.extend(season.schedule)
        n_games += season.games
        n_rows += season.rows
        n_dates += season.dates

    # Planning is sequential and cheap (a season's plan follows from the one before it, never
    # from games); the seasons' games are simulated and written in `workers` processes, each
    # from a copy of its season's plan, so the files are the same whatever `workers` is.
    with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        pending = []
        for season in season_list:
            plan = league.plan_season(season)
            fmt = format_generation or format_generation_for(season)
            upcoming = upcoming_dates if season == season_list[-1] else 0
            if pool is None:
                written(_write_season(seed, plan, fmt, out_dir, max_dates_per_season, upcoming, on_game))
            else:
                plan_copy = copy.deepcopy(plan)  # end_season below moves the league on
                pending.append(
                    pool.submit(_write_season, seed, plan_copy, fmt, out_dir, max_dates_per_season, upcoming)
                )
            if season != season_list[-1]:
                league.end_season(plan)
        for future in pending:
            season_written = future.result()
            written(season_written)
            for _ in range(season_written.games if on_game is not None else 0):
                on_game()
    with open(out_dir / "schedule.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("season", "game_id", "game_date", "away_team", "home_team"))
        writer.writerows(schedule_rows)
    return GenerationSummary(
        seasons=season_list,
        games=n_games,
        dates=n_dates,
        rows=n_rows,
        files=n_games + 1,
        seconds=time.perf_counter() - started,
    )
