"""A regular season's calendar: its game dates, the 1,230 matchups, and which games fall on which
date (no team three days running, about 13 back-to-backs each)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from .teams import N_TEAMS, TEAMS


def season_dates(rng: random.Random, season: int) -> list[date]:
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


def matchups(rng: random.Random) -> list[tuple[int, int]]:
    """1,230 (home, away) games: 41 home and 41 away per team, NBA-style rotation."""
    games: list[tuple[int, int]] = []
    conf = {c: [i for i, t in enumerate(TEAMS) if t[2] == c] for c in "EW"}
    for a in conf["E"]:
        for b in conf["W"]:
            games += [(a, b), (b, a)]
    for c in "EW":
        games += _conference_games(rng, conf[c])
    return games


def _conference_games(rng: random.Random, teams: list[int]) -> list[tuple[int, int]]:
    """Four games against each conference rival, except three against four of the ten teams
    outside its division, rotating."""
    division = [t[3] for t in TEAMS]
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
    games: list[tuple[int, int]] = []
    for i, a in enumerate(teams):
        for b in teams[i + 1 :]:
            if frozenset((a, b)) in three:
                continue
            games += [(a, b), (a, b), (b, a), (b, a)]
    return games + _three_game_series(rng, teams, three)


def _three_game_series(rng: random.Random, teams: list[int], three: set[frozenset[int]]) -> list[tuple[int, int]]:
    """Orient the 4-regular "three games" graph along closed trails, so each team hosts two of
    its three-game rivals twice: in = out = 2 everywhere."""
    games: list[tuple[int, int]] = []
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


def assign_dates(
    rng: random.Random, games: list[tuple[int, int]], dates: list[date], season: int
) -> list[list[tuple[int, int]]]:
    for attempt in range(200):
        result = _try_assign(random.Random(f"{rng.random()}:{attempt}"), games, dates)
        if result is not None:
            return result
    raise RuntimeError(f"could not build a schedule for season {season}")  # pragma: no cover


def _try_assign(
    rng: random.Random, games: list[tuple[int, int]], dates: list[date]
) -> list[list[tuple[int, int]]] | None:
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
            target = max(2, min(15, target))
        # a team that must play (few dates left for its games)
        u = [team_rem[t] / rem_dates for t in range(N_TEAMS)]
        blocked = [last[t] == od - 1 and last2[t] == od - 2 for t in range(N_TEAMS)]
        # back-to-backs: about 13 a team, spread evenly over the season
        expected = 12.5 * di / n
        pen = [0.07 + 0.05 * (b2b[t] - expected) if last[t] == od - 1 else 0.0 for t in range(N_TEAMS)]
        chosen = _pick_games(rng, pair_rem, u, blocked, pen, target)
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


def _pick_games(
    rng: random.Random,
    pair_rem: dict[tuple[int, int], int],
    u: list[float],
    blocked: list[bool],
    pen: list[float],
    target: int,
) -> list[tuple[int, int]]:
    """One date's games: the pairs most in need of a date first, about `target` of them, and
    more for teams falling behind. `u`: each team's games left per date left; `pen`: its
    back-to-back penalty today."""
    cand = []
    for (h, a), c in pair_rem.items():
        if c == 0 or blocked[h] or blocked[a]:
            continue
        s = u[h] + u[a] + 0.06 * c + rng.random() * 0.45 - pen[h] - pen[a]
        cand.append((s, h, a))
    cand.sort(reverse=True)
    busy: set[int] = set()
    chosen = []
    for _score, h, a in cand:
        if len(chosen) >= target:
            # keep going only for teams that are falling behind
            if u[h] < 0.62 and u[a] < 0.62:
                continue
        if h in busy or a in busy:
            continue
        busy.add(h)
        busy.add(a)
        chosen.append((h, a))
    return chosen
