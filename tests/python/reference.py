"""Plain-Python reference implementation of SPEC.md sections 3-6.

A test oracle for the SQL pipeline: written only from /work/shared/SPEC.md, standard library only,
meant to be read and trusted rather than to be fast (it is O(n) in the rows; the rolling windows
cost O(games * 20)).

Pipeline:

    rows = read_play_by_play(paths)        # raw BigDataBall rows (strings), + source_file/source_row
    shots(rows)                            # SPEC 4: one dict per field-goal attempt
    pg = player_games(rows)                # SPEC 5: {(game_id, player_lookup): counts}
    features(pg)                           # SPEC 6: {(game_id, player_lookup): rolling features}

Decisions where the SPEC is silent are marked "Decision:" below.
"""

from __future__ import annotations

import csv
import datetime
import functools
import gzip
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

# --------------------------------------------------------------------------------------------
# SPEC 2: reading the files
# --------------------------------------------------------------------------------------------

COLUMNS = [
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
]
AWAY_LINEUP = ["a1", "a2", "a3", "a4", "a5"]
HOME_LINEUP = ["h1", "h2", "h3", "h4", "h5"]


def read_play_by_play(paths: Iterable[Path]) -> list[dict]:
    """Read BigDataBall .csv / .csv.gz files (header row, utf-8, optional BOM).

    Every value stays the raw string ('' when absent). Each row also gets 'source_file'
    (str of the path as given) and 'source_row' (1-based data row, the header not counted).
    Header names are stripped and lowercased.
    """
    rows: list[dict] = []
    for path in paths:
        path = Path(path)
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip().lower() for h in next(reader, [])]
            n = 0
            for values in reader:
                if not any(v.strip() for v in values):
                    continue  # a blank line is not a data row
                n += 1
                row = {name: (values[i] if i < len(values) else "") for i, name in enumerate(header)}
                row["source_file"] = str(path)
                row["source_row"] = n
                rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# SPEC 3: identifiers
# --------------------------------------------------------------------------------------------

NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


@functools.cache  # pure; names repeat on every row
def player_lookup(name: str | None) -> str | None:
    """NFKD -> ASCII, lowercase, [a-z0-9]+ tokens, drop jr/sr/ii/iii/iv, join, strip leading digits.

    Decision: None, '' and names that reduce to nothing (e.g. '1630552') give None.
    """
    if name is None:
        return None
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    tokens = re.findall(r"[a-z0-9]+", ascii_name.lower())
    joined = "".join(t for t in tokens if t not in NAME_SUFFIXES)
    return joined.lstrip("0123456789") or None


def canonical_game_id(raw: str) -> str:
    """The digits of the raw value, left-padded with zeros to 10 characters."""
    digits = "".join(ch for ch in str(raw) if ch.isdigit() and ch.isascii())
    if not digits:
        raise ValueError(f"game_id without digits: {raw!r}")
    return digits.zfill(10)


def parse_game_date(raw: str) -> datetime.date:
    """`M/D/YYYY` or `YYYY-MM-DD`."""
    text = str(raw).strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if m:
        return datetime.date(int(m[3]), int(m[1]), int(m[2]))
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m:
        return datetime.date(int(m[1]), int(m[2]), int(m[3]))
    raise ValueError(f"unrecognised date: {raw!r}")


def season_of(d: datetime.date) -> int:
    """Starting year of the season: August or later -> that year, earlier -> the year before."""
    return d.year if d.month >= 8 else d.year - 1


# --------------------------------------------------------------------------------------------
# SPEC 4: shots and zones
# --------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def to_number(value) -> float | None:
    """A plain decimal number, else None ('unknown', '', None, 'nan', 'inf' are not numbers)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip()
    return float(text) if _NUMBER.fullmatch(text) else None


PAINT_ZONES = {"Restricted Area", "In The Paint (Non-RA)"}
THREE_ZONES = {"Right Corner 3", "Left Corner 3", "Above the Break 3", "Backcourt"}
LEGACY_GROUPS = {"Paint (Legacy)": "paint", "Mid-Range (Legacy)": "mid_range", "Three (Legacy)": "three"}


def shot_zone(x, y, distance, is_three, scheme="official") -> tuple[str, str]:
    """(shot_zone, zone_source) of one FGA.

    x, y: original_x / original_y (numbers, numeric strings, or None/'unknown'/'').
    distance: shot_distance in feet (or None). Decision: an unknown distance never satisfies
    a `distance <= k` / `>= k` test (as NULL in SQL), so it falls through to the last branch.
    """
    x, y, distance = to_number(x), to_number(y), to_number(distance)
    if scheme == "legacy_distance":
        if distance is not None and distance <= 8:
            return "Paint (Legacy)", "distance"
        if is_three or (distance is not None and distance >= 23.75):
            return "Three (Legacy)", "distance"
        return "Mid-Range (Legacy)", "distance"
    if scheme != "official":
        raise ValueError(f"unknown zone scheme: {scheme!r}")

    if x is None or y is None:
        if is_three:
            return "Above the Break 3", "distance"
        if distance is not None and distance <= 4:
            return "Restricted Area", "distance"
        if distance is not None and distance <= 8:
            return "In The Paint (Non-RA)", "distance"
        return "Mid-Range", "distance"

    if y > 417.5:
        return "Backcourt", "coordinates"
    if is_three:
        if y <= 87.5 and x >= 220:
            return "Right Corner 3", "coordinates"
        if y <= 87.5 and x <= -220:
            return "Left Corner 3", "coordinates"
        return "Above the Break 3", "coordinates"
    if math.sqrt(x * x + y * y) <= 40:
        return "Restricted Area", "coordinates"
    if abs(x) <= 80 and y <= 137.5:
        return "In The Paint (Non-RA)", "coordinates"
    return "Mid-Range", "coordinates"


def zone_group(shot_zone: str, is_three: bool) -> str:
    """paint / mid_range / three.

    Decision: a two classified Backcourt (y > 417.5; never seen in NBA.com's 2023-24 log) is
    `three`, following the SPEC's list "three = every three (corner, above the break, backcourt)".
    Legacy labels map by label (legacy paint is checked before threes).
    """
    if shot_zone in LEGACY_GROUPS:
        return LEGACY_GROUPS[shot_zone]
    if is_three or shot_zone in THREE_ZONES:
        return "three"
    if shot_zone in PAINT_ZONES:
        return "paint"
    return "mid_range"


def _text(row: dict, column: str) -> str:
    return (row.get(column) or "").strip()


def is_fga(row: dict) -> bool:
    return _text(row, "event_type").lower() in ("shot", "miss")


def is_made(row: dict) -> bool:
    return _text(row, "result").lower() == "made"


def is_three_row(row: dict) -> bool:
    return (
        "3pt" in _text(row, "description").lower()
        or _text(row, "type").lower().startswith("3pt")
        or to_number(row.get("points")) == 3
    )


AND_ONE_TYPES = {"free throw 1 of 1", "free throw 1/1"}


def is_and_one(row: dict) -> bool:
    """A free throw 1 of 1. Decision: exact match of `type` (case-insensitive, whitespace
    collapsed) to 'free throw 1 of 1' / 'free throw 1/1'; technical and flagrant free throws carry
    other types ('Free Throw Technical', 'free throw flagrant 1/1', ...) and so never match."""
    return " ".join(_text(row, "type").lower().split()) in AND_ONE_TYPES


def shots(rows, scheme="official") -> list[dict]:
    """One dict per FGA, in input order.

    team_abbr is the row's `team` (None if empty); shot_distance / original_x / original_y are
    floats or None when they are not numbers; period is an int (None if not a number).
    """
    out = []
    for row in rows:
        if not is_fga(row):
            continue
        game_date = parse_game_date(row["date"])
        three = is_three_row(row)
        x, y, distance = (
            to_number(row.get("original_x")),
            to_number(row.get("original_y")),
            to_number(row.get("shot_distance")),
        )
        zone, source = shot_zone(x, y, distance, three, scheme)
        made = is_made(row)
        assist = player_lookup(row.get("assist"))
        period = to_number(row.get("period"))
        out.append(
            {
                "game_id": canonical_game_id(row["game_id"]),
                "game_date": game_date,
                "season": season_of(game_date),
                "period": int(period) if period is not None else None,
                "player_lookup": player_lookup(row.get("player")),
                "team_abbr": _text(row, "team") or None,
                "shot_zone": zone,
                "zone_group": zone_group(zone, three),
                "zone_source": source,
                "is_made": made,
                "is_three": three,
                "is_assisted": made and assist is not None,
                "assist_player_lookup": assist,
                "blocker_player_lookup": player_lookup(row.get("block")),
                "shot_distance": distance,
                "original_x": x,
                "original_y": y,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# SPEC 5: per player-game
# --------------------------------------------------------------------------------------------

COUNT_COLUMNS = [
    "fga",
    "fgm",
    "paint_fga",
    "paint_fgm",
    "mid_range_fga",
    "mid_range_fgm",
    "three_pt_fga",
    "three_pt_fgm",
    "corner_three_fga",
    "assisted_fgm",
    "unassisted_fgm",
    "blocked_fga",
    "and1_count",
    "blocks_paint",
    "blocks_mid_range",
    "blocks_three",
]
GROUP_PREFIX = {"paint": "paint", "mid_range": "mid_range", "three": "three_pt"}


def _most_frequent(counter: Counter) -> str | None:
    """Most frequent key; ties broken alphabetically; None for an empty counter."""
    if not counter:
        return None
    best = max(counter.values())
    return min(k for k, v in counter.items() if v == best)


def player_games(rows, scheme="official") -> dict[tuple[str, str], dict]:
    """{(game_id, player_lookup): {game_date, season, team_abbr, <COUNT_COLUMNS>}}.

    Players: anyone named in a1..a5, h1..h5, player, assist or block of any row of the game.
    Decisions: game_date is the earliest date on the game's rows (they should all agree);
    a player named on both lineup sides takes the side he is listed on more often (ties: away).
    """
    rows_by_game: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        rows_by_game[canonical_game_id(row["game_id"])].append(row)

    result: dict[tuple[str, str], dict] = {}
    for game_id, game_rows in rows_by_game.items():
        game_date = min(parse_game_date(r["date"]) for r in game_rows)
        counts: dict[str, Counter] = defaultdict(Counter)  # player -> COUNT_COLUMNS
        player_teams: dict[str, Counter] = defaultdict(Counter)  # player -> team on his own rows
        side_appearances: dict[str, Counter] = defaultdict(Counter)  # player -> {'away': n, 'home': n}
        side_teams = {"away": Counter(), "home": Counter()}

        for row in game_rows:
            away = {player_lookup(row.get(c)) for c in AWAY_LINEUP} - {None}
            home = {player_lookup(row.get(c)) for c in HOME_LINEUP} - {None}
            actor = player_lookup(row.get("player"))
            assist = player_lookup(row.get("assist"))
            blocker = player_lookup(row.get("block"))
            team = _text(row, "team") or None

            for p in away:
                side_appearances[p]["away"] += 1
            for p in home:
                side_appearances[p]["home"] += 1
            for p in (actor, assist, blocker):
                if p is not None:
                    counts[p]  # touch: the player has a row even with zero counts

            if actor is not None and team is not None:
                player_teams[actor][team] += 1
                if actor in away:
                    side_teams["away"][team] += 1
                if actor in home:
                    side_teams["home"][team] += 1

            if is_fga(row):
                made, three = is_made(row), is_three_row(row)
                zone, _ = shot_zone(
                    row.get("original_x"), row.get("original_y"), row.get("shot_distance"), three, scheme
                )
                group = zone_group(zone, three)
                prefix = GROUP_PREFIX[group]
                if actor is not None:
                    c = counts[actor]
                    c["fga"] += 1
                    c[f"{prefix}_fga"] += 1
                    c["corner_three_fga"] += zone in ("Left Corner 3", "Right Corner 3")
                    c["blocked_fga"] += blocker is not None
                    if made:
                        c["fgm"] += 1
                        c[f"{prefix}_fgm"] += 1
                        c["assisted_fgm" if assist is not None else "unassisted_fgm"] += 1
                if blocker is not None:
                    counts[blocker][f"blocks_{group}"] += 1
            elif is_and_one(row) and actor is not None:
                counts[actor]["and1_count"] += 1

        side_team = {side: _most_frequent(c) for side, c in side_teams.items()}
        for p in set(counts) | set(side_appearances):
            team_abbr = _most_frequent(player_teams[p]) if p in player_teams else None
            if team_abbr is None and p in side_appearances:
                sides = side_appearances[p]
                side = "away" if sides["away"] >= sides["home"] else "home"
                team_abbr = side_team[side]
            row_out = {"game_date": game_date, "season": season_of(game_date), "team_abbr": team_abbr}
            row_out.update({col: counts[p][col] for col in COUNT_COLUMNS})
            result[(game_id, p)] = row_out
    return result


# --------------------------------------------------------------------------------------------
# SPEC 6: rolling features
# --------------------------------------------------------------------------------------------

# (feature name stem, numerator column, denominator column)
RATES = [
    ("paint_rate", "paint_fga", "fga"),
    ("mid_range_rate", "mid_range_fga", "fga"),
    ("three_pt_rate", "three_pt_fga", "fga"),
    ("assisted_rate", "assisted_fgm", "fgm"),
    ("unassisted_rate", "unassisted_fgm", "fgm"),
]
RATES_20 = ["paint_rate", "mid_range_rate", "three_pt_rate", "assisted_rate"]
FG_PCTS = [
    ("paint_fg_pct", "paint_fgm", "paint_fga"),
    ("mid_range_fg_pct", "mid_range_fgm", "mid_range_fga"),
    ("three_pt_fg_pct", "three_pt_fgm", "three_pt_fga"),
]
PER_GAME = [
    ("paint_fga_per_game", "paint_fga"),
    ("mid_range_fga_per_game", "mid_range_fga"),
    ("three_pt_fga_per_game", "three_pt_fga"),
    ("and1_per_game", "and1_count"),
    ("blocks_paint_per_game", "blocks_paint"),
    ("blocks_mid_range_per_game", "blocks_mid_range"),
    ("blocks_three_per_game", "blocks_three"),
]
MIN_GAMES_20 = 15


def _rate(window: list[dict], num: str, den: str, rate_method: str) -> float | None:
    if rate_method == "pooled":
        total = sum(g[den] for g in window)
        return 100.0 * sum(g[num] for g in window) / total if total else None
    ratios = [100.0 * g[num] / g[den] for g in window if g[den]]
    return sum(ratios) / len(ratios) if ratios else None


def features(player_games, rate_method="pooled", window_scope="all") -> dict[tuple[str, str], dict]:
    """{(game_id, player_lookup): rolling features} from player_games() output.

    W (W20) = the player's last 10 (20) player-games with game_date < this game's date, ordered
    by (game_date, game_id); window_scope="season" keeps only games of the same season.
    Each output row also carries game_date and season.
    """
    if rate_method not in ("pooled", "per_game_mean"):
        raise ValueError(f"unknown rate_method: {rate_method!r}")
    if window_scope not in ("all", "season"):
        raise ValueError(f"unknown window_scope: {window_scope!r}")

    history: dict[str, list[tuple[datetime.date, str]]] = defaultdict(list)
    for game_id, player in player_games:
        history[player].append((player_games[(game_id, player)]["game_date"], game_id))

    out: dict[tuple[str, str], dict] = {}
    for player, games in history.items():
        games.sort()
        earlier: list[dict] = []  # player-games strictly before the current date, in order
        i = 0
        for game_date, game_id in games:
            while i < len(games) and games[i][0] < game_date:
                earlier.append(player_games[(games[i][1], player)])
                i += 1
            season = player_games[(game_id, player)]["season"]
            # only the last 20 can matter; in season scope filter those
            recent = earlier[-20:]
            if window_scope == "season":
                recent = [g for g in recent if g["season"] == season]
            w10, w20 = recent[-10:], recent

            row = {
                "game_date": game_date,
                "season": season,
                "games_in_window": len(w10),
                "fga_in_window": sum(g["fga"] for g in w10),
            }
            for name, num, den in RATES:
                row[f"{name}_last_10"] = _rate(w10, num, den, rate_method)
            for name, num, den in FG_PCTS:
                row[f"{name}_last_10"] = _rate(w10, num, den, "pooled")
            for name, col in PER_GAME:
                row[f"{name}_last_10"] = sum(g[col] for g in w10) / len(w10) if w10 else None
            row["games_in_window_20"] = len(w20)
            for name, num, den in RATES:
                if name in RATES_20:
                    row[f"{name}_last_20"] = _rate(w20, num, den, rate_method) if len(w20) >= MIN_GAMES_20 else None
            out[(game_id, player)] = row
    return out
