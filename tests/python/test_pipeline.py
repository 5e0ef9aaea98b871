"""The whole pipeline on generated data: files -> loader -> dbt models, checked against the
independent plain-Python implementation of the SPEC in reference.py."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import pytest
import reference
from conftest import SEED, build_warehouse, query

from shotzones.backfill import Options, backfill
from shotzones.generate import generate
from shotzones.load import load
from shotzones.settings import Settings

FEATURE_COLUMNS = [
    "games_in_window",
    "fga_in_window",
    "paint_rate_last_10",
    "mid_range_rate_last_10",
    "three_pt_rate_last_10",
    "assisted_rate_last_10",
    "unassisted_rate_last_10",
    "paint_fg_pct_last_10",
    "mid_range_fg_pct_last_10",
    "three_pt_fg_pct_last_10",
    "paint_fga_per_game_last_10",
    "mid_range_fga_per_game_last_10",
    "three_pt_fga_per_game_last_10",
    "and1_per_game_last_10",
    "blocks_paint_per_game_last_10",
    "blocks_mid_range_per_game_last_10",
    "blocks_three_per_game_last_10",
    "games_in_window_20",
    "paint_rate_last_20",
    "mid_range_rate_last_20",
    "three_pt_rate_last_20",
    "assisted_rate_last_20",
]


def files_of(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.csv") if p.name != "schedule.csv")


def same_value(actual, expected) -> bool:
    if isinstance(expected, float) and actual is not None:
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
    return actual == expected


def differences(actual: dict, expected: dict, columns: list[str]) -> list[str]:
    """Every (key, column) where the warehouse and the reference disagree, readable."""
    problems = [f"{key}: missing from the warehouse" for key in expected.keys() - actual.keys()]
    problems += [f"{key}: not in the reference" for key in actual.keys() - expected.keys()]
    for key in expected.keys() & actual.keys():
        for column in columns:
            if not same_value(actual[key][column], expected[key][column]):
                problems.append(
                    f"{key} {column}: warehouse {actual[key][column]!r}, reference {expected[key][column]!r}"
                )
    return problems


def keyed(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(row["game_id"], row["player_lookup"]): row for row in rows}


@pytest.fixture(scope="module")
def reference_player_games(generated):
    return reference.player_games(reference.read_play_by_play(files_of(generated)))


def test_player_games_equal_the_reference(warehouse, reference_player_games):
    actual = keyed(query(warehouse, "select * from int_player_game_shot_zones"))
    columns = ["game_date", "season", "team_abbr", *reference.COUNT_COLUMNS]
    assert len(actual) > 5000
    assert differences(actual, reference_player_games, columns) == []


def test_features_equal_the_reference(warehouse, reference_player_games):
    actual = keyed(query(warehouse, "select * from player_shot_zone_features"))
    expected = reference.features(reference_player_games)
    assert differences(actual, expected, FEATURE_COLUMNS) == []
    # the comparison means something only if the windows filled up and crossed the season
    assert sum(row["games_in_window"] == 10 for row in actual.values()) > 1000
    assert sum(row["paint_rate_last_20"] is not None for row in actual.values()) > 100


def test_features_built_in_small_batches_equal_the_reference(generated, tmp_path, reference_player_games):
    """Batches of five dates start up to 35 games into players' histories: the lookback the
    features model keeps (the longest window, 20 games) must still give every window whole."""
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    load(settings, [generated])
    result = backfill(settings, Options(batch_days=5, workers=4))
    assert result.success and len(result.planned) == 8
    actual = keyed(query(settings, "select * from player_shot_zone_features"))
    assert differences(actual, reference.features(reference_player_games), FEATURE_COLUMNS) == []
    assert max(row["games_in_window_20"] for row in actual.values()) == 20


def test_blockers_without_shots_keep_their_blocks(warehouse):
    rows = query(
        warehouse,
        """
        select count(*) as players, sum(blocks_paint + blocks_mid_range + blocks_three) as blocks
        from int_player_game_shot_zones
        where fga = 0 and blocks_paint + blocks_mid_range + blocks_three > 0
        """,
    )
    assert rows[0]["players"] > 0, "the generated data should have blockers who took no shot"
    # and every block of the shots table is credited to some player-game
    totals = query(
        warehouse,
        """
        select
            (select count(*) from int_shots_classified where blocker_player_lookup is not null) as blocked,
            (select sum(blocks_paint + blocks_mid_range + blocks_three) from int_player_game_shot_zones) as credited
        """,
    )[0]
    assert totals["blocked"] == totals["credited"] > 0


def test_a_changed_later_game_changes_no_earlier_feature(generated_copy, tmp_path):
    settings = build_warehouse(tmp_path / "before", generated_copy)
    before = keyed(query(settings, "select * from player_shot_zone_features"))
    dates = sorted({row["game_date"] for row in before.values()})
    changed_date = dates[len(dates) // 2]

    # every shot of that date's games becomes a made dunk at the rim
    changed_files = [p for p in files_of(generated_copy) if p.name.startswith(f"[{changed_date}]")]
    assert changed_files
    for path in changed_files:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            if row["event_type"] in ("shot", "miss"):
                row.update(
                    original_x="0",
                    original_y="5",
                    shot_distance="0",
                    description="Dunk",
                    type="dunk",
                    points="2",
                    result="made",
                )
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    load(settings, changed_files)
    assert backfill(settings).success
    after = keyed(query(settings, "select * from player_shot_zone_features"))

    earlier = [key for key, row in before.items() if row["game_date"] <= changed_date]
    assert earlier
    assert differences({k: after[k] for k in earlier}, {k: before[k] for k in earlier}, FEATURE_COLUMNS) == []
    later_changed = [
        key
        for key, row in before.items()
        if row["game_date"] > changed_date and row["paint_rate_last_10"] != after[key]["paint_rate_last_10"]
    ]
    assert later_changed, "the change should reach the windows of later games"


def test_every_format_generation_gives_the_same_features(tmp_path):
    features = {}
    for generation in ("2017", "2021", "2024"):
        out = tmp_path / generation
        generate(out, 2021, seasons=1, seed=SEED, format_generation=generation, max_dates_per_season=8)
        settings = build_warehouse(tmp_path / f"warehouse-{generation}", out)
        features[generation] = keyed(query(settings, "select * from player_shot_zone_features"))
    assert len(features["2017"]) > 500
    assert differences(features["2021"], features["2017"], FEATURE_COLUMNS) == []
    assert differences(features["2024"], features["2017"], FEATURE_COLUMNS) == []
