"""Rendering a game's events as the rows of a BigDataBall file, in each format generation.

A second RNG seeded from (seed, game id) drives only the rendering quirks (date and game-id
spellings, play-id disorder, `unknown` shot types), so the three format generations describe
exactly the same basketball."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .events import C_END, C_FOUL, C_FT, C_JUMP, C_MADE, C_MISS, C_REB, C_START, C_SUB, C_TO
from .league import Game
from .rotation import TeamGame

COLUMNS = (
    "game_id",
    "data_set",
    "date",
    "a1",
    "a2",
    "a3",
    "a4",
    "a5",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "period",
    "away_score",
    "home_score",
    "remaining_time",
    "elapsed",
    "play_length",
    "play_id",
    "team",
    "event_type",
    "assist",
    "away",
    "home",
    "block",
    "entered",
    "left",
    "num",
    "opponent",
    "outof",
    "player",
    "points",
    "possession",
    "reason",
    "result",
    "steal",
    "type",
    "shot_distance",
    "original_x",
    "original_y",
    "converted_x",
    "converted_y",
    "description",
)


@dataclass(frozen=True)
class FormatGeneration:
    """What differs between BigDataBall's format generations (the events are the same)."""

    event_types: tuple[str, ...]  # the event_type column, by event code
    title_case: bool  # `Free Throw 1 of 2`, `Jump Shot` (else `free throw 1/2`, `3pt jump shot`)
    missing_xy: str  # the coordinates of a shot without a location
    p_unknown_type: float  # share of field goals whose type is `unknown`
    player_ids: bool  # names carry the player's id: `1630178 Tyrese Maxey`


_EVENT_TYPES_2017 = (
    "start of period",
    "end of period",
    "jump ball",
    "shot",
    "miss",
    "free throw",
    "rebound",
    "foul",
    "turnover",
    "sub",
    "timeout",
    "violation",
)
_EVENT_TYPES_2021 = (
    "start of period",
    "end of period",
    "jump ball",
    "shot",
    "shot",
    "free throw",
    "rebound",
    "foul",
    "turnover",
    "substitution",
    "timeout",
    "violation",
)
FORMATS = {
    "2017": FormatGeneration(_EVENT_TYPES_2017, True, "unknown", 0.15, False),
    "2021": FormatGeneration(_EVENT_TYPES_2021, False, "", 0.0, False),
    "2024": FormatGeneration(_EVENT_TYPES_2021, False, "", 0.0, True),
}
FORMAT_GENERATIONS = tuple(FORMATS)


def format_generation_for(season: int) -> str:
    """The BigDataBall format generation a season was delivered in."""
    if season < 2019:
        return "2017"
    if season < 2024:
        return "2021"
    return "2024"


_TS = [f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in range(0, 721)]


def _play_length(seconds: int) -> str:
    """BigDataBall's play_length: the elapsed clock minus the previous row's, so negative on the
    row starting each period after the first, spelled as delivered (`00:-12:00`, `00:-5:00`)."""
    if seconds >= 0:
        return _TS[seconds]
    return f"00:-{-seconds // 60}:{-seconds % 60:02d}"


_TYPE_CACHE: dict[tuple, str] = {}


def _type_str(title_case: bool, code: int, tkey, num, outof) -> str:
    key = (title_case, code, tkey, num, outof)
    s = _TYPE_CACHE.get(key)
    if s is not None:
        return s
    if code in (C_MADE, C_MISS):
        title, is3 = tkey
        s = title if title_case else ("3pt " if is3 else "") + title.lower()
    elif code == C_FT:
        if tkey == "T":
            s = "Free Throw Technical" if title_case else "free throw technical"
        else:
            s = f"Free Throw {num} of {outof}" if title_case else f"free throw {num}/{outof}"
    elif code == C_REB:
        s = f"rebound {'offensive' if tkey == 'off' else 'defensive'}"
        s = s.title() if title_case else s
    elif code in (C_START, C_END, C_JUMP):
        s = _EVENT_TYPES_2021[code]
        s = s.title() if title_case else s
    elif code == C_SUB:
        s = ""
    else:
        s = tkey.title() if title_case else tkey
    _TYPE_CACHE[key] = s
    return s


def render(
    events: list[tuple], fmt: str, game: Game, teams: tuple[TeamGame, TeamGame], season: int, rrng: random.Random
) -> list[list]:
    """The rows of one game's file in format generation `fmt`; `rrng` drives the quirks."""
    spec = FORMATS[fmt]
    etypes = spec.event_types
    rnd = rrng.random
    if spec.player_ids:
        names = {p: f"{p.pid} {p.name}" for tg in teams for p in tg.players}
    else:
        names = {p: p.name for tg in teams for p in tg.players}
    names[None] = ""
    abbr = (teams[0].abbr, teams[1].abbr)
    data_set = f"{season}-{season + 1} {game.data_set}"
    game_ids, g_other, dates, d_other, forced_g, forced_d = _spellings(rrng, game, len(events))
    g_half = g_other / 2
    pids = _play_ids(rrng, len(events))
    lcache: dict[tuple, list[str]] = {}
    rows = []
    prev_el = 0
    prev_per = 0
    plen = 720
    for i, e in enumerate(events):
        code, per, el, asc, hsc, la, lh, side = e[:8]
        key = (la, lh)
        lineups = lcache.get(key)
        if lineups is None:
            lineups = lcache[key] = [names[q] for q in la] + [names[q] for q in lh]
        if per != prev_per:
            prev_per = per
            plen = 720 if per <= 4 else 300
        r = rnd()
        g = game_ids[0] if r >= g_other else game_ids[1] if r >= g_half else game_ids[2]
        dv = dates[1] if rnd() < d_other else dates[0]
        if i in forced_g:
            g = forced_g[i]
        if i in forced_d:
            dv = forced_d[i]
        rows.append(
            [
                g,
                data_set,
                dv,
                *lineups,
                per,
                asc,
                hsc,
                _TS[plen - el],
                _TS[el],
                _play_length(el - prev_el),
                pids[i],
                "" if side is None or code == C_JUMP else abbr[side],
                etypes[code],
                *_event_fields(e, spec, names, rnd),
                e[19],
            ]
        )
        prev_el = el
    return rows


def _spellings(rrng: random.Random, game: Game, n: int) -> tuple:
    """A game's id (`="0022300001"`, `0022300001`, `22300001`) and date (ISO or m/d/yyyy) are
    spelled one main way in a file, with the others mixed in, each one at least once. Returns
    the game id's spellings (main first, then the two others by how often they show), the share
    of rows spelling it otherwise, the date's spellings (main, other), its share of the other,
    and the rows forced to each spelling (row -> game id, row -> date)."""
    gid = game.game_id
    gid_forms = (f'="{gid}"', gid, gid.lstrip("0"))
    d = game.date
    date_forms = (d.isoformat(), f"{d.month}/{d.day}/{d.year}")
    g_main = rrng.randrange(3)
    g_other = 0.04 + 0.2 * rrng.random()
    d_main = rrng.randrange(2)
    d_other = 0.05 + 0.4 * rrng.random()
    forced_g = {i: gid_forms[k] for k, i in enumerate(rrng.sample(range(1, n), 3))}
    forced_d = {i: date_forms[k] for k, i in enumerate(rrng.sample(range(1, n), 2))}
    # r < g_other / 2 takes the spelling two after the main one, r < g_other the one after it
    game_ids = (gid_forms[g_main], gid_forms[(g_main + 1) % 3], gid_forms[(g_main + 2) % 3])
    return game_ids, g_other, (date_forms[d_main], date_forms[1 - d_main]), d_other, forced_g, forced_d


def _play_ids(rrng: random.Random, n: int) -> list[int]:
    """Increasing play ids with gaps, a few neighbours swapped: not monotonic."""
    swap_at = set(rrng.sample(range(2, n), 1 + rrng.randrange(6)))
    p_skip = 0.02 + 0.04 * rrng.random()
    pid = rrng.randrange(0, 3)
    pids = []
    for _ in range(n):
        pid += 1 if rrng.random() > p_skip else 2 + rrng.randrange(3)
        pids.append(pid)
    for i in swap_at:
        pids[i - 1], pids[i] = pids[i], pids[i - 1]
    return pids


def _event_fields(e: tuple, spec: FormatGeneration, names: dict, rnd) -> tuple:
    """The event's own columns, `assist` to `converted_y`."""
    (code, per, _el, _asc, _hsc, _la, _lh, side, pl, p2, p3, num, outof, pts, res, tkey, dist, x, y, _desc) = e
    title_case = spec.title_case
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
        if spec.p_unknown_type and rnd() < spec.p_unknown_type:
            typev = "unknown"
        else:
            typev = _type_str(title_case, code, tkey, None, None)
        distv = dist
        if x is None:
            ox = oy = cx = cy = spec.missing_xy
        else:
            ox = x
            oy = y
            cx, cy = _converted(side, per, x, y)
    elif code == C_FT:
        player = names[pl]
        numv = num
        outv = outof
        pointsv = pts
        resv = res
        typev = _type_str(title_case, code, tkey, num, outof)
    elif code == C_SUB:
        entered = names[p2]
        left = names[p3]
    elif code == C_FOUL:
        player = names[pl]
        opponent = names[p2]
        typev = _type_str(title_case, code, tkey, None, None)
    elif code == C_TO:
        player = names[pl]
        if p3 is not None:
            steal = names[p3]
        typev = _type_str(title_case, code, tkey, None, None)
    elif code == C_JUMP:
        away = names[p2]
        home = names[p3]
        possession = names[pl]
        typev = _type_str(title_case, code, None, None, None)
    else:
        player = names[pl]
        typev = _type_str(title_case, code, tkey, None, None)
    return (
        assist,
        away,
        home,
        block,
        entered,
        left,
        numv,
        opponent,
        outv,
        player,
        pointsv,
        possession,
        "",
        resv,
        steal,
        typev,
        distv,
        ox,
        oy,
        cx,
        cy,
    )


def _converted(side: int, per: int, x: int, y: int) -> tuple[str, str]:
    """converted_x, converted_y: feet on the full court; the away team attacks the near basket
    in the first half (and odd overtimes)."""
    if (side == 0) == (per <= 2 or (per >= 5 and per % 2 == 1)):
        return f"{25.0 - x / 10.0:.1f}", f"{5.25 + y / 10.0:.1f}"
    return f"{25.0 + x / 10.0:.1f}", f"{88.75 - y / 10.0:.1f}"
