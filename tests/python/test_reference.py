"""Tests of the plain-Python reference implementation (tests/python/reference.py) itself.

Expected values are worked out by hand from SPEC.md, on tiny hand-written inputs.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as ref  # noqa: E402

# --------------------------------------------------------------------------------------------
# SPEC 3: identifiers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Larry Nance Jr.", "larrynance"),
        ("1630552 Jalen Johnson", "jalenjohnson"),
        ("Nikola Jokić", "nikolajokic"),
        ("Gary Payton II", "garypayton"),
        ("Marvin Bagley III", "marvinbagley"),
        ("Tim Hardaway Sr.", "timhardaway"),
        ("Kristaps Porziņģis", "kristapsporzingis"),
        ("  D'Angelo  Russell ", "dangelorussell"),
        ("Karl-Anthony Towns", "karlanthonytowns"),
        ("P.J. Tucker", "pjtucker"),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_player_lookup(name, expected):
    assert ref.player_lookup(name) == expected


@pytest.mark.parametrize("raw", ["21700002", "0021700002", '="0021700002"', " 21700002 "])
def test_canonical_game_id(raw):
    assert ref.canonical_game_id(raw) == "0021700002"


def test_canonical_game_id_without_digits_is_an_error():
    with pytest.raises(ValueError):
        ref.canonical_game_id('=""')


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("10/17/2017", date(2017, 10, 17)),
        ("1/5/2018", date(2018, 1, 5)),
        ("2021-10-19", date(2021, 10, 19)),
        (" 2024-01-05 ", date(2024, 1, 5)),
    ],
)
def test_parse_game_date(raw, expected):
    assert ref.parse_game_date(raw) == expected


def test_parse_game_date_rejects_other_formats():
    with pytest.raises(ValueError):
        ref.parse_game_date("17.10.2017")


@pytest.mark.parametrize(
    "d, season",
    [
        (date(2023, 7, 31), 2022),
        (date(2023, 8, 1), 2023),
        (date(2023, 10, 24), 2023),
        (date(2024, 1, 1), 2023),
        (date(2024, 6, 17), 2023),
    ],
)
def test_season_of(d, season):
    assert ref.season_of(d) == season


# --------------------------------------------------------------------------------------------
# SPEC 4: zones, each boundary
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, y, is_three, zone",
    [
        # 1. backcourt first, for threes and (data errors) twos
        (0, 417.6, True, "Backcourt"),
        (0, 417.5, True, "Above the Break 3"),
        (0, 500, False, "Backcourt"),
        # 2. threes: corners
        (220, 87.5, True, "Right Corner 3"),
        (219.9, 87.5, True, "Above the Break 3"),
        (220, 87.6, True, "Above the Break 3"),
        (-220, 87.5, True, "Left Corner 3"),
        (-219.9, 0, True, "Above the Break 3"),
        (-230, -10, True, "Left Corner 3"),
        (0, 250, True, "Above the Break 3"),
        # 3. twos: restricted area sqrt(x^2+y^2) <= 40 (24,32 is exactly 40)
        (24, 32, False, "Restricted Area"),
        (0, 40, False, "Restricted Area"),
        (0, -40, False, "Restricted Area"),
        (0, 40.1, False, "In The Paint (Non-RA)"),
        (24.1, 32, False, "In The Paint (Non-RA)"),
        # paint: |x| <= 80 and y <= 137.5
        (80, 137.5, False, "In The Paint (Non-RA)"),
        (-80, 137.5, False, "In The Paint (Non-RA)"),
        (80.1, 100, False, "Mid-Range"),
        (-80.1, 100, False, "Mid-Range"),
        (0, 137.6, False, "Mid-Range"),
        (230, 10, False, "Mid-Range"),  # a two from the corner-three spot is still a two
        # numeric strings are numbers
        ("24", "32.0", False, "Restricted Area"),
        (" -220 ", "87.5", True, "Left Corner 3"),
    ],
)
def test_shot_zone_coordinates(x, y, is_three, zone):
    assert ref.shot_zone(x, y, 3, is_three) == (zone, "coordinates")


@pytest.mark.parametrize(
    "x, y",
    [
        (None, None),
        ("unknown", "unknown"),
        ("", ""),
        (None, 50),
        (50, "unknown"),
        ("", 10),
        ("nan", "10"),
        ("1_0", "10"),
    ],
)
@pytest.mark.parametrize(
    "distance, is_three, zone",
    [
        (0, False, "Restricted Area"),
        (4, False, "Restricted Area"),
        (5, False, "In The Paint (Non-RA)"),
        (8, False, "In The Paint (Non-RA)"),
        (9, False, "Mid-Range"),
        ("4", False, "Restricted Area"),
        (None, False, "Mid-Range"),
        ("unknown", False, "Mid-Range"),
        (2, True, "Above the Break 3"),
        (26, True, "Above the Break 3"),
    ],
)
def test_shot_zone_without_coordinates_uses_distance(x, y, distance, is_three, zone):
    assert ref.shot_zone(x, y, distance, is_three) == (zone, "distance")


@pytest.mark.parametrize(
    "distance, is_three, zone",
    [
        (8, False, "Paint (Legacy)"),
        (8, True, "Paint (Legacy)"),  # paint is checked before anything else
        (9, False, "Mid-Range (Legacy)"),
        (23, False, "Mid-Range (Legacy)"),
        (23.75, False, "Three (Legacy)"),
        (24, False, "Three (Legacy)"),
        (22, True, "Three (Legacy)"),
        (None, False, "Mid-Range (Legacy)"),
        (None, True, "Three (Legacy)"),
    ],
)
def test_shot_zone_legacy_distance(distance, is_three, zone):
    # coordinates are ignored by the legacy scheme
    assert ref.shot_zone(0, 0, distance, is_three, scheme="legacy_distance") == (zone, "distance")


def test_shot_zone_unknown_scheme():
    with pytest.raises(ValueError):
        ref.shot_zone(0, 0, 0, False, scheme="nope")


@pytest.mark.parametrize(
    "zone, is_three, group",
    [
        ("Restricted Area", False, "paint"),
        ("In The Paint (Non-RA)", False, "paint"),
        ("Mid-Range", False, "mid_range"),
        ("Right Corner 3", True, "three"),
        ("Left Corner 3", True, "three"),
        ("Above the Break 3", True, "three"),
        ("Backcourt", True, "three"),
        ("Backcourt", False, "three"),
        ("Paint (Legacy)", True, "paint"),
        ("Mid-Range (Legacy)", False, "mid_range"),
        ("Three (Legacy)", False, "three"),
    ],
)
def test_zone_group(zone, is_three, group):
    assert ref.zone_group(zone, is_three) == group


NBA_SHOTS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nba_shots_2023_24.csv.zip"


@pytest.mark.skipif(not NBA_SHOTS.exists(), reason=f"NBA.com shot log not present at {NBA_SHOTS}")
def test_shot_zone_agrees_with_nba_com_basic_zone():
    agree = total = 0
    with zipfile.ZipFile(NBA_SHOTS) as z:
        with z.open(z.namelist()[0]) as raw:
            for row in csv.DictReader(io.TextIOWrapper(raw, "utf-8")):
                x = -float(row["LOC_X"]) * 10
                y = (float(row["LOC_Y"]) - 5.25) * 10
                three = row["SHOT_TYPE"].startswith("3PT")
                zone, _ = ref.shot_zone(x, y, row["SHOT_DISTANCE"], three)
                agree += zone == row["BASIC_ZONE"]
                total += 1
    assert total == 218_701
    # SPEC section 4: the rules agree with NBA.com's own zone on 99.90% of the attempts (218,489)
    assert f"{agree / total:.2%}" == "99.90%", f"{agree:,} of {total:,} agree"


# --------------------------------------------------------------------------------------------
# A tiny hand-written game file
# --------------------------------------------------------------------------------------------

AWAY = ["1628369 Jayson Tatum", "201950 Jrue Holiday", "Jaylen Brown", "Derrick White", "Kristaps Porziņģis"]
HOME = ["Jalen Brunson", "Julius Randle", "RJ Barrett", "Josh Hart", "Mitchell Robinson"]


def pbp_row(**values) -> list[str]:
    base = {c: "" for c in ref.COLUMNS}
    base.update(game_id='="0022300061"', data_set="2023-2024 Regular Season", date="10/25/2023", away="BOS", home="NYK")
    for i, name in enumerate(AWAY, 1):
        base[f"a{i}"] = name
    for i, name in enumerate(HOME, 1):
        base[f"h{i}"] = name
    base.update({k: str(v) for k, v in values.items()})
    return [base[c] for c in ref.COLUMNS]


GAME_ROWS = [
    # 1. Tatum left-corner three, assisted by Holiday (2021-era generation)
    pbp_row(
        team="BOS",
        event_type="shot",
        player="1628369 Jayson Tatum",
        assist="201950 Jrue Holiday",
        result="made",
        points=3,
        type="3pt jump shot",
        shot_distance=24,
        original_x=-230,
        original_y=50,
        description="Tatum 24' 3PT Jump Shot (3 PTS) (Holiday 1 AST)",
    ),
    # 2. Brunson layup blocked by Porzingis (who never takes a shot)
    pbp_row(
        team="NYK",
        event_type="shot",
        player="Jalen Brunson",
        block="Kristaps Porziņģis",
        result="missed",
        points=0,
        type="driving layup shot",
        shot_distance=1,
        original_x=10,
        original_y=5,
        description="MISS Brunson 1' Driving Layup",
    ),
    # 3. Randle unassisted mid-range make; date in the other format
    pbp_row(
        date="2023-10-25",
        team="NYK",
        event_type="shot",
        player="Julius Randle",
        result="made",
        points=2,
        type="jump shot",
        shot_distance=14,
        original_x=100,
        original_y=100,
        description="Randle 14' Jump Shot (2 PTS)",
    ),
    # 4. Randle and-one: paint make without coordinates, assisted by Hart ...
    pbp_row(
        team="NYK",
        event_type="shot",
        player="Julius Randle",
        assist="Josh Hart",
        result="made",
        points=2,
        type="floating jump shot",
        shot_distance=6,
        original_x="unknown",
        original_y="unknown",
        description="Randle 6' Floating Jump Shot (2 PTS) (Hart 1 AST)",
    ),
    pbp_row(team="BOS", event_type="foul", player="Jaylen Brown", type="shooting"),
    # ... and his free throw 1 of 1
    pbp_row(
        team="NYK",
        event_type="free throw",
        player="Julius Randle",
        result="made",
        points=1,
        num=1,
        outof=1,
        type="free throw 1/1",
        description="Randle Free Throw 1 of 1 (1 PTS)",
    ),
    # 7. not and-ones: a technical and a 1 of 2 (2017-era typing)
    pbp_row(
        team="BOS",
        event_type="free throw",
        player="1628369 Jayson Tatum",
        result="made",
        points=1,
        type="Free Throw Technical",
        description="Tatum Free Throw Technical",
    ),
    pbp_row(
        team="NYK",
        event_type="free throw",
        player="Jalen Brunson",
        result="missed",
        points=0,
        num=1,
        outof=2,
        type="Free Throw 1 of 2",
        description="MISS Brunson Free Throw 1 of 2",
    ),
    # 9. a 2017-era missed three: event_type miss, three only visible in the description, no location
    pbp_row(
        team="NYK",
        event_type="miss",
        player="Jalen Brunson",
        result="missed",
        points=0,
        type="Jump Shot",
        shot_distance=25,
        description="MISS Brunson 25' 3PT Jump Shot",
    ),
    # 10. a Brown block on a Randle three (Brown is also on a non-shot row, as the fouler)
    pbp_row(
        team="NYK",
        event_type="shot",
        player="Julius Randle",
        block="Jaylen Brown",
        result="missed",
        points=0,
        type="3pt jump shot",
        shot_distance=27,
        original_x=50,
        original_y=265,
        description="MISS Randle 27' 3PT Jump Shot",
    ),
    # 11. a substitution: the entering player is not (yet) in a lineup and not `player`
    pbp_row(team="BOS", event_type="sub", entered="Al Horford", left="Derrick White"),
    # 12. an assist credited to someone in no lineup and never `player` (team unknown)
    pbp_row(
        team="BOS",
        event_type="shot",
        player="Jaylen Brown",
        assist="Sam Hauser",
        result="made",
        points=2,
        type="dunk",
        shot_distance=0,
        original_x=0,
        original_y=0,
        description="Brown 0' Dunk (2 PTS) (Hauser 1 AST)",
    ),
]


def write_game(path: Path, rows=GAME_ROWS):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8-sig", newline="") as f:  # with a BOM
        writer = csv.writer(f)
        writer.writerow(ref.COLUMNS)
        writer.writerows(rows)
    return path


@pytest.fixture
def game_rows(tmp_path):
    return ref.read_play_by_play([write_game(tmp_path / "[2023-10-25]-0022300061-BOS@NYK.csv")])


def test_read_play_by_play(tmp_path, game_rows):
    assert len(game_rows) == len(GAME_ROWS)
    first = game_rows[0]
    assert list(first)[:44] == ref.COLUMNS  # BOM stripped from the first header
    assert first["game_id"] == '="0022300061"'
    assert first["original_x"] == "-230"
    assert first["source_row"] == 1 and game_rows[-1]["source_row"] == len(GAME_ROWS)
    assert first["source_file"].endswith("-BOS@NYK.csv")

    gz_rows = ref.read_play_by_play([write_game(tmp_path / "game.csv.gz")])
    strip = lambda r: {k: v for k, v in r.items() if k != "source_file"}  # noqa: E731
    assert [strip(r) for r in gz_rows] == [strip(r) for r in game_rows]

    both = ref.read_play_by_play([tmp_path / "game.csv.gz", tmp_path / "[2023-10-25]-0022300061-BOS@NYK.csv"])
    assert len(both) == 2 * len(GAME_ROWS)
    assert both[len(GAME_ROWS)]["source_row"] == 1


def test_shots_of_the_tiny_game(game_rows):
    shots = ref.shots(game_rows)
    assert len(shots) == 7  # rows 1-4, 9, 10, 12
    by_desc = {(s["player_lookup"], s["shot_zone"]): s for s in shots}
    assert all(s["game_id"] == "0022300061" for s in shots)
    assert all(s["game_date"] == date(2023, 10, 25) and s["season"] == 2023 for s in shots)

    tatum = by_desc[("jaysontatum", "Left Corner 3")]
    assert (
        tatum["zone_group"],
        tatum["zone_source"],
        tatum["is_made"],
        tatum["is_three"],
        tatum["is_assisted"],
        tatum["assist_player_lookup"],
        tatum["team_abbr"],
    ) == ("three", "coordinates", True, True, True, "jrueholiday", "BOS")
    assert (tatum["original_x"], tatum["original_y"], tatum["shot_distance"]) == (-230.0, 50.0, 24.0)

    brunson_layup = by_desc[("jalenbrunson", "Restricted Area")]
    assert brunson_layup["blocker_player_lookup"] == "kristapsporzingis"
    assert brunson_layup["is_made"] is False and brunson_layup["is_assisted"] is False

    randle_paint = by_desc[("juliusrandle", "In The Paint (Non-RA)")]
    assert randle_paint["zone_source"] == "distance"
    assert randle_paint["original_x"] is None and randle_paint["original_y"] is None
    assert randle_paint["is_assisted"] is True

    brunson_three = by_desc[("jalenbrunson", "Above the Break 3")]
    assert brunson_three["is_three"] is True and brunson_three["zone_source"] == "distance"


def test_shot_count_of_the_tiny_game(game_rows):
    # FGAs: rows 1, 2, 3, 4, 9, 10, 12 -- seven; free throws, fouls and subs are not FGAs
    shots = ref.shots(game_rows)
    assert [s["player_lookup"] for s in shots] == [
        "jaysontatum",
        "jalenbrunson",
        "juliusrandle",
        "juliusrandle",
        "jalenbrunson",
        "juliusrandle",
        "jaylenbrown",
    ]


def test_legacy_scheme_of_the_tiny_game(game_rows):
    zones = [s["shot_zone"] for s in ref.shots(game_rows, scheme="legacy_distance")]
    assert zones == [
        "Three (Legacy)",
        "Paint (Legacy)",
        "Mid-Range (Legacy)",
        "Paint (Legacy)",
        "Three (Legacy)",
        "Three (Legacy)",
        "Paint (Legacy)",
    ]


ZERO = {c: 0 for c in ref.COUNT_COLUMNS}


def test_player_games_of_the_tiny_game(game_rows):
    pg = ref.player_games(game_rows)
    gid = "0022300061"
    # every player in a lineup, as player, assist or block; not Al Horford (only `entered`)
    assert {p for g, p in pg} == {
        "jaysontatum",
        "jrueholiday",
        "jaylenbrown",
        "derrickwhite",
        "kristapsporzingis",
        "jalenbrunson",
        "juliusrandle",
        "rjbarrett",
        "joshhart",
        "mitchellrobinson",
        "samhauser",
    }
    assert all(g == gid for g, _ in pg)
    assert all(r["game_date"] == date(2023, 10, 25) and r["season"] == 2023 for r in pg.values())

    def counts(player):
        return {c: pg[(gid, player)][c] for c in ref.COUNT_COLUMNS}

    # his three from x = -230, y < 87.5: the left corner
    assert counts("jaysontatum") == ZERO | {
        "fga": 1,
        "fgm": 1,
        "three_pt_fga": 1,
        "three_pt_fgm": 1,
        "corner_three_fga": 1,
        "assisted_fgm": 1,
    }
    # his paint attempt blocked by Porzingis
    assert counts("jalenbrunson") == ZERO | {"fga": 2, "paint_fga": 1, "three_pt_fga": 1, "blocked_fga": 1}
    assert counts("juliusrandle") == ZERO | {
        "fga": 3,
        "fgm": 2,
        "paint_fga": 1,
        "paint_fgm": 1,
        "mid_range_fga": 1,
        "mid_range_fgm": 1,
        "three_pt_fga": 1,
        "assisted_fgm": 1,
        "unassisted_fgm": 1,
        "and1_count": 1,
        "blocked_fga": 1,  # his three, blocked by Brown
    }
    # the blocker who took no shot
    assert counts("kristapsporzingis") == ZERO | {"blocks_paint": 1}
    assert counts("jaylenbrown") == ZERO | {
        "fga": 1,
        "fgm": 1,
        "paint_fga": 1,
        "paint_fgm": 1,
        "assisted_fgm": 1,
        "blocks_three": 1,
    }
    for lineup_only in ("jrueholiday", "derrickwhite", "rjbarrett", "joshhart", "mitchellrobinson", "samhauser"):
        assert counts(lineup_only) == ZERO

    teams = {p: r["team_abbr"] for (_, p), r in pg.items()}
    assert teams == {
        "jaysontatum": "BOS",
        "jrueholiday": "BOS",
        "jaylenbrown": "BOS",
        "derrickwhite": "BOS",
        "kristapsporzingis": "BOS",  # from his lineup side
        "jalenbrunson": "NYK",
        "juliusrandle": "NYK",
        "rjbarrett": "NYK",
        "joshhart": "NYK",
        "mitchellrobinson": "NYK",
        "samhauser": None,  # assist only, in no lineup: unknown
    }


def test_player_games_legacy_scheme(game_rows):
    pg = ref.player_games(game_rows, scheme="legacy_distance")
    brunson = pg[("0022300061", "jalenbrunson")]
    assert (brunson["paint_fga"], brunson["three_pt_fga"]) == (1, 1)
    assert pg[("0022300061", "juliusrandle")]["paint_fga"] == 1
    assert pg[("0022300061", "juliusrandle")]["three_pt_fga"] == 1


def test_team_abbr_most_frequent_then_alphabetical():
    def row(team, player):
        return dict(zip(ref.COLUMNS, pbp_row(team=team, player=player, event_type="rebound")))

    rows = [
        row("NYK", "Jalen Brunson"),
        row("XXX", "Jalen Brunson"),
        row("NYK", "Jalen Brunson"),
        row("BBB", "Julius Randle"),
        row("AAA", "Julius Randle"),
    ]
    pg = ref.player_games(rows)
    assert pg[("0022300061", "jalenbrunson")]["team_abbr"] == "NYK"
    assert pg[("0022300061", "juliusrandle")]["team_abbr"] == "AAA"
    # home side: NYK x2, XXX x1, AAA x1, BBB x1 -> NYK; away side: nobody of a1..a5 acted -> None
    assert pg[("0022300061", "rjbarrett")]["team_abbr"] == "NYK"
    assert pg[("0022300061", "jaysontatum")]["team_abbr"] is None


def test_two_games_are_kept_apart(tmp_path):
    other = [
        pbp_row(
            game_id="22300062",
            date="2023-10-27",
            team="BOS",
            event_type="shot",
            player="1628369 Jayson Tatum",
            result="missed",
            shot_distance=2,
            original_x=0,
            original_y=15,
        )
    ]
    rows = ref.read_play_by_play([write_game(tmp_path / "a.csv"), write_game(tmp_path / "b.csv", other)])
    pg = ref.player_games(rows)
    assert pg[("0022300061", "jaysontatum")]["fga"] == 1
    assert pg[("0022300062", "jaysontatum")]["fga"] == 1
    assert pg[("0022300062", "jaysontatum")]["fgm"] == 0
    assert pg[("0022300062", "jaysontatum")]["game_date"] == date(2023, 10, 27)


# --------------------------------------------------------------------------------------------
# SPEC 6: rolling features over a hand-made 12-game history
# --------------------------------------------------------------------------------------------
#
# Player "p", games g01..g12. g01..g04 on 2023-04-01..04 (season 2022), g05..g12 on
# 2023-10-20..27 (season 2023). Game i (i >= 2): fga 20 = paint i + mid 2 + three (18 - i);
# paint_fgm 1, three_pt_fgm 1 when i is even; so fgm = 2 (even i) or 1 (odd i); assisted_fgm 1;
# and1 1 when i % 4 == 0; blocks_paint 1 in g03. g01: all zero (a game without a shot).
# Player "q" plays once, on g12's date.


def game_date_of(i):
    return date(2023, 4, i) if i <= 4 else date(2023, 10, 15 + i)


def history():
    pg = {}
    for i in range(1, 13):
        d = game_date_of(i)
        row = {"game_date": d, "season": ref.season_of(d), "team_abbr": "BOS"} | ZERO
        if i >= 2:
            three_fgm = 1 if i % 2 == 0 else 0
            row |= {
                "fga": 20,
                "paint_fga": i,
                "mid_range_fga": 2,
                "three_pt_fga": 18 - i,
                "paint_fgm": 1,
                "three_pt_fgm": three_fgm,
                "fgm": 1 + three_fgm,
                "assisted_fgm": 1,
                "unassisted_fgm": three_fgm,
                "and1_count": 1 if i % 4 == 0 else 0,
                "blocks_paint": 1 if i == 3 else 0,
            }
        pg[(f"g{i:02d}", "p")] = row
    pg[("x12", "q")] = (
        {"game_date": game_date_of(12), "season": 2023, "team_abbr": "NYK"} | ZERO | {"fga": 10, "paint_fga": 10}
    )
    return pg


RATE_COLUMNS = [
    "paint_rate_last_10",
    "mid_range_rate_last_10",
    "three_pt_rate_last_10",
    "assisted_rate_last_10",
    "unassisted_rate_last_10",
]
FG_PCT_COLUMNS = ["paint_fg_pct_last_10", "mid_range_fg_pct_last_10", "three_pt_fg_pct_last_10"]
PER_GAME_COLUMNS = [
    "paint_fga_per_game_last_10",
    "mid_range_fga_per_game_last_10",
    "three_pt_fga_per_game_last_10",
    "and1_per_game_last_10",
    "blocks_paint_per_game_last_10",
    "blocks_mid_range_per_game_last_10",
    "blocks_three_per_game_last_10",
]
RATE_20_COLUMNS = ["paint_rate_last_20", "mid_range_rate_last_20", "three_pt_rate_last_20", "assisted_rate_last_20"]


def test_feature_columns():
    f = ref.features(history())
    assert set(f[("g12", "p")]) == {
        "game_date",
        "season",
        "games_in_window",
        "fga_in_window",
        "games_in_window_20",
        *RATE_COLUMNS,
        *FG_PCT_COLUMNS,
        *PER_GAME_COLUMNS,
        *RATE_20_COLUMNS,
    }
    assert set(f) == set(history())


def test_empty_window_is_null():
    row = ref.features(history())[("g01", "p")]
    assert (row["games_in_window"], row["fga_in_window"], row["games_in_window_20"]) == (0, 0, 0)
    for c in RATE_COLUMNS + FG_PCT_COLUMNS + PER_GAME_COLUMNS + RATE_20_COLUMNS:
        assert row[c] is None, c
    # q's only game: p's games on the same and earlier dates do not leak in
    assert ref.features(history())[("x12", "q")]["games_in_window"] == 0


def test_window_of_one_game_without_shots():
    row = ref.features(history())[("g02", "p")]  # W = [g01], fga 0
    assert (row["games_in_window"], row["fga_in_window"]) == (1, 0)
    for c in RATE_COLUMNS + FG_PCT_COLUMNS:
        assert row[c] is None, c
    for c in PER_GAME_COLUMNS:
        assert row[c] == 0.0, c


def test_full_window_pooled():
    row = ref.features(history())[("g12", "p")]  # W = g02..g11
    assert (row["games_in_window"], row["fga_in_window"]) == (10, 200)
    assert row["paint_rate_last_10"] == pytest.approx(100 * 65 / 200)  # 2+...+11 = 65
    assert row["mid_range_rate_last_10"] == pytest.approx(100 * 20 / 200)
    assert row["three_pt_rate_last_10"] == pytest.approx(100 * 115 / 200)  # 180 - 65
    # fgm: five even games with 2, five odd with 1 = 15; assisted 10; unassisted 5
    assert row["assisted_rate_last_10"] == pytest.approx(100 * 10 / 15)
    assert row["unassisted_rate_last_10"] == pytest.approx(100 * 5 / 15)
    assert row["paint_fg_pct_last_10"] == pytest.approx(100 * 10 / 65)
    assert row["mid_range_fg_pct_last_10"] == 0.0
    assert row["three_pt_fg_pct_last_10"] == pytest.approx(100 * 5 / 115)
    assert row["paint_fga_per_game_last_10"] == pytest.approx(6.5)
    assert row["mid_range_fga_per_game_last_10"] == pytest.approx(2.0)
    assert row["three_pt_fga_per_game_last_10"] == pytest.approx(11.5)
    assert row["and1_per_game_last_10"] == pytest.approx(0.2)  # g04, g08
    assert row["blocks_paint_per_game_last_10"] == pytest.approx(0.1)  # g03
    assert row["blocks_mid_range_per_game_last_10"] == 0.0
    assert row["blocks_three_per_game_last_10"] == 0.0
    # 11 earlier games < 15: no 20-game rates
    assert row["games_in_window_20"] == 11
    for c in RATE_20_COLUMNS:
        assert row[c] is None


def test_window_with_a_shotless_game_pooled_and_per_game_mean():
    pooled = ref.features(history())[("g11", "p")]  # W = g01..g10
    assert (pooled["games_in_window"], pooled["fga_in_window"]) == (10, 180)
    assert pooled["paint_rate_last_10"] == pytest.approx(100 * 54 / 180)  # 2+...+10 = 54
    # fgm 5*2 + 4*1 = 14, assisted 9
    assert pooled["assisted_rate_last_10"] == pytest.approx(100 * 9 / 14)
    assert pooled["paint_fga_per_game_last_10"] == pytest.approx(5.4)  # 54 / 10 games

    mean = ref.features(history(), rate_method="per_game_mean")[("g11", "p")]
    # g01 (fga 0) is skipped: mean of 100*i/20 over i = 2..10 = 5 * 6
    assert mean["paint_rate_last_10"] == pytest.approx(30.0)
    # per game assisted: 50 for even i (2,4,6,8,10), 100 for odd (3,5,7,9): (250 + 400) / 9
    assert mean["assisted_rate_last_10"] == pytest.approx(650 / 9)
    assert mean["unassisted_rate_last_10"] == pytest.approx(250 / 9)
    # fg_pct and per-game averages are unchanged
    for c in FG_PCT_COLUMNS + PER_GAME_COLUMNS + ["games_in_window", "fga_in_window"]:
        assert mean[c] == pooled[c], c

    g12 = ref.features(history(), rate_method="per_game_mean")[("g12", "p")]
    assert g12["assisted_rate_last_10"] == pytest.approx(75.0)  # (5*50 + 5*100) / 10
    assert ref.features(history(), rate_method="per_game_mean")[("g02", "p")]["paint_rate_last_10"] is None


def test_window_scope_season():
    everything = ref.features(history())
    season = ref.features(history(), window_scope="season")
    # g05 opens season 2023
    assert everything[("g05", "p")]["games_in_window"] == 4
    assert season[("g05", "p")]["games_in_window"] == 0
    assert season[("g05", "p")]["paint_rate_last_10"] is None
    # g06: all seasons W = g01..g05 (paint 2+3+4+5 of 80); season W = g05 (paint 5 of 20)
    assert everything[("g06", "p")]["paint_rate_last_10"] == pytest.approx(100 * 14 / 80)
    assert season[("g06", "p")]["paint_rate_last_10"] == pytest.approx(25.0)
    # g12: season W = g05..g11 (7 games, paint 5+...+11 = 56 of 140)
    assert season[("g12", "p")]["games_in_window"] == 7
    assert season[("g12", "p")]["paint_rate_last_10"] == pytest.approx(40.0)
    assert season[("g12", "p")]["games_in_window_20"] == 7


def test_same_date_games_are_not_in_the_window():
    pg = history()
    pg[("g12b", "p")] = dict(pg[("g12", "p")])  # a second game on g12's date
    f = ref.features(pg)
    assert f[("g12b", "p")] == f[("g12", "p")]
    assert f[("g12", "p")]["games_in_window"] == 10


def test_window_ordered_by_date_then_game_id():
    pg = history()
    # a second game on g02's date whose id sorts first: (date, game_id) order is g01, a02, g02, ...
    # so g12's last 10 are still g02..g11, and a02 (no paint) falls out
    pg[("a02", "p")] = dict(pg[("g02", "p")]) | {"paint_fga": 0, "three_pt_fga": 18}
    f = ref.features(pg)
    assert f[("g12", "p")]["fga_in_window"] == 200
    assert f[("g12", "p")]["paint_rate_last_10"] == pytest.approx(100 * 65 / 200)
    # g03's window: g01, a02, g02 (same-date games are both earlier than g03)
    assert f[("g03", "p")]["games_in_window"] == 3
    assert f[("g03", "p")]["paint_rate_last_10"] == pytest.approx(100 * 2 / 40)


def test_last_20_needs_15_games():
    # 17 games: the first 6 all paint (10 of 10), the rest no paint (0 of 10)
    pg = {}
    for i in range(1, 18):
        d = date(2023, 11, i)
        paint = 10 if i <= 6 else 0
        pg[(f"g{i:02d}", "p")] = (
            {"game_date": d, "season": 2023, "team_abbr": None}
            | ZERO
            | {
                "fga": 10,
                "paint_fga": paint,
                "three_pt_fga": 10 - paint,
                "fgm": 1,
                "three_pt_fgm": 1,
                "unassisted_fgm": 1,
            }
        )
    f = ref.features(pg)
    assert f[("g15", "p")]["games_in_window_20"] == 14
    assert f[("g15", "p")]["paint_rate_last_20"] is None
    assert f[("g16", "p")]["games_in_window_20"] == 15
    assert f[("g16", "p")]["paint_rate_last_20"] == pytest.approx(100 * 60 / 150)
    assert f[("g16", "p")]["three_pt_rate_last_20"] == pytest.approx(100 * 90 / 150)
    assert f[("g16", "p")]["mid_range_rate_last_20"] == 0.0
    assert f[("g16", "p")]["assisted_rate_last_20"] == 0.0
    g17 = f[("g17", "p")]
    assert (g17["games_in_window"], g17["games_in_window_20"]) == (10, 16)
    assert g17["paint_rate_last_10"] == 0.0  # g07..g16
    assert g17["paint_rate_last_20"] == pytest.approx(100 * 60 / 160)  # g01..g16
    mean = ref.features(pg, rate_method="per_game_mean")[("g17", "p")]
    assert mean["paint_rate_last_20"] == pytest.approx(100 * 6 / 16)


def test_features_rejects_unknown_options():
    with pytest.raises(ValueError):
        ref.features(history(), rate_method="median")
    with pytest.raises(ValueError):
        ref.features(history(), window_scope="career")


def test_end_to_end_from_files(tmp_path):
    """Two games on two dates for the tiny-game players: the second game's window is the first."""
    second = [
        pbp_row(
            game_id="0022300070",
            date="10/27/2023",
            team="NYK",
            event_type="shot",
            player="Julius Randle",
            result="made",
            points=2,
            shot_distance=1,
            original_x=0,
            original_y=10,
            type="layup shot",
        )
    ]
    rows = ref.read_play_by_play([write_game(tmp_path / "a.csv"), write_game(tmp_path / "b.csv", second)])
    f = ref.features(ref.player_games(rows))
    randle = f[("0022300070", "juliusrandle")]
    assert (randle["games_in_window"], randle["fga_in_window"]) == (1, 3)
    assert randle["paint_rate_last_10"] == pytest.approx(100 / 3)
    assert randle["assisted_rate_last_10"] == pytest.approx(50.0)
    assert randle["and1_per_game_last_10"] == 1.0
    porzingis = f[("0022300070", "kristapsporzingis")]
    assert porzingis["blocks_paint_per_game_last_10"] == 1.0
    assert porzingis["paint_rate_last_10"] is None
