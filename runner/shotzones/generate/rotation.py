"""One team in one game: who is available, the starters and their backups, the planned
rotation, and each player's shooting profile on the game's date."""

from __future__ import annotations

import random

from .players import Player
from .teams import ABBR, NICK


class TeamGame:
    __slots__ = (
        "idx",
        "abbr",
        "nick",
        "players",
        "st",
        "bk",
        "deep",
        "t1",
        "t2",
        "t3",
        "t4",
        "garbage",
        "lineup",
        "info",
        "timeouts",
        "team_to",
        "last_timeout",
    )


def lineup_info(lineup: tuple) -> tuple:
    """Cumulative pick weights (usage, rebounds, offensive rebounds, blocks, steals, fouls,
    passing) for five players on court."""
    return (
        cumulative([p.usage for p in lineup]),
        cumulative([p.reb for p in lineup]),
        cumulative([p.oreb for p in lineup]),
        cumulative([p.blk for p in lineup]),
        cumulative([p.stl for p in lineup]),
        cumulative([p.foul for p in lineup]),
        cumulative([p.passing for p in lineup]),
    )


def cumulative(weights: list[float]) -> list[float]:
    """Cumulative shares of `weights`, the last exactly 1: pick one with bisect(cw, random())."""
    total = sum(weights)
    acc, cw = 0.0, []
    for w in weights:
        acc += w / total
        cw.append(acc)
    cw[-1] = 1.0
    return cw


def team_game(rng: random.Random, idx: int, roster: list[Player], day: int, frac: float) -> TeamGame:
    """`day`: days since the opener; `frac`: how far through the season (0 to 1)."""
    tg = TeamGame()
    tg.idx = idx
    tg.abbr = ABBR[idx]
    tg.nick = NICK[idx]
    healthy = _available(rng, roster, day)
    starters, backups, deep = _depth_chart(healthy)
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
    tg.info = lineup_info(tg.st)
    tg.timeouts = 0
    tg.team_to = 0
    tg.last_timeout = -1
    for p in healthy:
        _profile_on(p, frac)
    return tg


def _available(rng: random.Random, roster: list[Player], day: int) -> list[Player]:
    """The players neither injured nor resting, best first; at least ten."""
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
    return healthy


def _depth_chart(healthy: list[Player]) -> tuple[list[Player], list[Player], list[Player]]:
    """The best player at (or nearest) each position starts; each starter slot gets the
    closest-position backup of the next five; the rest are the deep bench."""
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
    backups: list[Player | None] = [None] * 5
    for slot in sorted(range(5), key=lambda s: -starters[s].rating):
        best = min(backs, key=lambda p: (abs(p.pos - starters[slot].pos), -p.rating))
        backups[slot] = best
        backs.remove(best)
    return starters, backups, remaining[5:]


def _profile_on(p: Player, frac: float) -> None:
    """His zone shares (cumulative) and FG% `frac` of the way from season start to end."""
    p.zcw = cumulative([a + (b - a) * frac for a, b in zip(p.w0, p.w1)])
    p.fg = [a + (b - a) * frac for a, b in zip(p.f0, p.f1)]


def _planned_five(tg: TeamGame, per: int, el: int) -> tuple:
    if tg.garbage is not None:
        return tg.garbage
    st, bk = tg.st, tg.bk
    if per > 4:
        return st
    t = (tg.t1, tg.t2, tg.t3, tg.t4)[per - 1]
    if per % 2:  # the starters open the first and third quarters, until t
        return tuple(st[i] if el < t[i] else bk[i] for i in range(5))
    return tuple(st[i] if el >= t[i] else bk[i] for i in range(5))  # and close the others, from t


def period_plan(tg: TeamGame, per: int, plen: int) -> tuple[list[int], list[tuple]]:
    """The planned five through one period: change times (first 0) and the five from each."""
    times = sorted({0, *(t for t in (tg.t1, tg.t2, tg.t3, tg.t4)[per - 1] if 0 < t < plen)} if per <= 4 else {0})
    fives = []
    for t in times:
        five = _planned_five(tg, per, t)
        fives.append(fives[-1] if fives and fives[-1] == five else five)
    return times, fives
