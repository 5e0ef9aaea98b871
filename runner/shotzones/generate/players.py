"""Players: realistic unique names, ids, and each one's shooting profile and tendencies."""

from __future__ import annotations

import functools
import math
import random

import duckdb

from shotzones.code import DuckDBMacro
from shotzones.settings import Settings

# SPEC section 3's player lookup: the dbt macro (macros/identifiers.sql), compiled for DuckDB
PLAYER_LOOKUP = DuckDBMacro("player_lookup('{0}')")


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


@functools.cache
def _word_lookups() -> dict[str, str]:
    """The player lookup of every word a generated name is made of (a suffix's is empty), by the
    dbt macro (of the project as installed), evaluated for them all at once in an in-memory
    DuckDB."""
    words = sorted({*_FIRST, *_FIRST_APOSTROPHE, *_FIRST_DIACRITIC, *_LAST, *_LAST_DIACRITIC, *dict(_SUFFIXES)})
    with duckdb.connect() as con:
        rows = con.execute(
            f"select word, {PLAYER_LOOKUP.sql(Settings()).format('word')} from unnest(?::varchar[]) as words(word)",
            [words],
        )
        return {word: lookup or "" for word, lookup in rows.fetchall()}


def name_lookup(words: list[str]) -> str:
    """The player lookup of the name these words make (separated by spaces or hyphens): the
    macro's of each word, joined. The macro splits a name into tokens at whatever is not a
    letter or digit and joins what it keeps of them, so a name's lookup is its words' (for a
    name with no digit, as every generated one: it strips the digits a lookup starts with)."""
    lookups = _word_lookups()
    return "".join(lookups[word] for word in words)


POSITIONS = ("PG", "SG", "SF", "PF", "C")
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
POS_USAGE = (1.05, 1.05, 1.0, 0.95, 0.85)
_POS_PASS = (3.2, 1.7, 1.5, 1.2, 1.1)
_POS_REB = (0.9, 1.0, 1.4, 2.2, 3.0)
_POS_OREB = (0.5, 0.7, 1.2, 2.3, 3.6)
_POS_BLK = (0.35, 0.5, 1.0, 2.2, 4.2)
_POS_STL = (1.5, 1.35, 1.2, 0.9, 0.75)
_POS_FOUL = (0.95, 1.0, 1.0, 1.2, 1.45)
_POS_ADEP = (0.78, 0.97, 1.06, 1.12, 1.2)  # how much his makes depend on a pass
_POS_FT = (0.82, 0.81, 0.78, 0.75, 0.70)
ROSTER_PER_POSITION = 3  # a 15-man roster: three at each position


class Player:
    # w0, f0 and w1, f1: zone shares and FG% by zone at the season's start and end; zcw, fg: their
    # blend on one game's date (zcw cumulative, for bisect); injuries: (first day out, first day
    # back) spells, in days since the opener
    __slots__ = (
        "pid",
        "name",
        "last",
        "lookup",
        "pos",
        "age",
        "rating",
        "usage",
        "passing",
        "reb",
        "oreb",
        "blk",
        "stl",
        "foul",
        "adep",
        "ft",
        "w0",
        "w1",
        "f0",
        "f1",
        "injuries",
        "zcw",
        "fg",
        "years",
    )

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Player({self.pid}, {self.name!r}, {POSITIONS[self.pos]}, {self.rating:.2f})"


def lognorm(rng: random.Random, sigma: float) -> float:
    return math.exp(rng.gauss(0.0, sigma))


class Names:
    """Unique (after player_lookup) realistic names, across the league and all seasons."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.used_ids: set[int] = set()

    def new_name(self, rng: random.Random) -> tuple[str, str, str]:
        """A name no earlier one shares a player lookup with: (name, last name, lookup)."""
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
                words = [first, last]
            elif r < 0.115:
                a, b = rng.sample(_LAST, 2)
                last = f"{a}-{b}"
                words = [first, a, b]
            else:
                last = rng.choice(_LAST)
                words = [first, last]
            r = rng.random()
            for suffix, share in _SUFFIXES:
                if r < share:
                    last = f"{last} {suffix}"
                    words.append(suffix)
                    break
                r -= share
            key = name_lookup(words)
            if key not in self.used:
                self.used.add(key)
                return f"{first} {last}", last, key

    def new_id(self, rng: random.Random, low: int, high: int) -> int:
        while True:
            pid = rng.randint(low, high)
            if pid not in self.used_ids:
                self.used_ids.add(pid)
                return pid


def drift_zone(rng: random.Random, w: list[float], sigma: float) -> list[float]:
    w = [x * lognorm(rng, sigma) for x in w]
    total = sum(w)
    return [x / total for x in w]


def new_player(
    rng: random.Random, names: Names, pos: int, rating: float, age: int, id_range: tuple[int, int]
) -> Player:
    p = Player()
    p.pid = names.new_id(rng, *id_range)
    p.name, p.last, p.lookup = names.new_name(rng)
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
    p.w1 = drift_zone(rng, base, 0.22)
    adj = _POS_FG_ADJ[pos]
    skill = (rating - 0.5) * 0.05
    p.f1 = [min(0.8, max(0.2, _BASE_FG[z] + adj[z] + skill + rng.gauss(0.0, 0.03))) for z in range(5)]
    p.w0 = p.w1
    p.f0 = p.f1
    p.usage = (0.3 + rating) ** 2.2 * POS_USAGE[pos] * lognorm(rng, 0.15)
    p.passing = _POS_PASS[pos] * (0.5 + rating) * lognorm(rng, 0.25)
    p.reb = _POS_REB[pos] * (0.7 + 0.6 * rating) * lognorm(rng, 0.2)
    p.oreb = _POS_OREB[pos] * lognorm(rng, 0.3)
    p.blk = _POS_BLK[pos] * lognorm(rng, 0.35)
    p.stl = _POS_STL[pos] * lognorm(rng, 0.25)
    p.foul = _POS_FOUL[pos] * lognorm(rng, 0.2)
    p.adep = _POS_ADEP[pos] * (1.12 - 0.25 * rating) * lognorm(rng, 0.1)
    p.ft = min(0.93, max(0.45, _POS_FT[pos] + rng.gauss(0.0, 0.07)))
    p.injuries = ()
    p.zcw = None
    p.fg = None
    return p
