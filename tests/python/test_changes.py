"""Change-aware backfill: a corrected or late game rebuilds exactly the partitions that read
it, and the warehouse ends as a clean full build of the new data would."""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from conftest import query

from shotzones import code
from shotzones.backfill import backfill
from shotzones.generate import generate
from shotzones.load import load
from shotzones.planning import FEATURES, MODELS, PLAYER_GAMES, UpstreamChange
from shotzones.settings import Settings
from shotzones.status import status
from shotzones.survey import _fingerprints, source_fingerprints, window_reach
from shotzones.warehouse import open_warehouse

WINDOW_REACH = 20  # the longest window: a game is read by its players' next 20 games


@pytest.fixture(scope="module")
def season(tmp_path_factory) -> Path:
    """Enough dates that a game's window reach ends well before the last one."""
    out = tmp_path_factory.mktemp("season")
    generate(out, 2022, seasons=1, seed=9, max_dates_per_season=110)
    return out


@pytest.fixture(scope="module")
def clean_build(season, tmp_path_factory) -> Settings:
    return warehouse(tmp_path_factory.mktemp("clean"), game_files(season))


def game_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.csv") if p.name != "schedule.csv")


def warehouse(directory: Path, files: list[Path]) -> Settings:
    settings = replace(Settings(), duckdb_path=directory / "warehouse.duckdb")
    load(settings, files)
    assert backfill(settings).success
    return settings


def table_rows(settings: Settings, table: str) -> list[tuple]:
    return [tuple(row.values()) for row in query(settings, f"select * from {table} order by all")]


def stale(settings: Settings) -> set[tuple[str, object]]:
    return {(p.model, p.game_date) for p in status(settings).partitions if p.state == "stale"}


def expected_reach(settings: Settings, game_id: str, day, window: int = WINDOW_REACH) -> set:
    """Independently: the changed game's date and each of its players' next `window` game dates."""
    rows = query(
        settings,
        f"""
        with players as (
            select distinct player_lookup from int_player_game_shot_zones where game_id = '{game_id}'
        ),
        later as (
            select pg.game_date,
                   row_number() over (partition by pg.player_lookup order by pg.game_date, pg.game_id) as n
            from int_player_game_shot_zones pg join players using (player_lookup)
            where pg.game_date > date '{day}'
        )
        select distinct game_date from later where n <= {window}
        """,
    )
    return {row["game_date"] for row in rows} | {day}


def rebuilds_stale_and_what_lies_between(settings: Settings, run_id: str, stale_ones: set) -> None:
    """The stale partitions were rebuilt, and beyond them only partitions between them (done,
    rebuilt with them where that is cheaper than another wave)."""
    rebuilt = rebuilt_partitions(settings, run_id)
    assert stale_ones <= rebuilt
    days = [day for _, day in stale_ones]
    assert all(min(days) <= day <= max(days) for _, day in rebuilt)


def rebuilt_partitions(settings: Settings, run_id: str) -> set:
    return {
        (row["model"], row["game_date"])
        for row in query(settings, f"select model, game_date from shotzones_ledger where run_id = '{run_id}'")
    }


def test_a_corrected_redelivery_rebuilds_its_date_and_its_players_window_reach(season, tmp_path):
    files = game_files(shutil.copytree(season, tmp_path / "files"))
    settings = warehouse(tmp_path / "w", files)
    dates = sorted(
        {r["game_date"] for r in query(settings, "select distinct game_date from int_player_game_shot_zones")}
    )
    target = next(p for p in files if p.name.startswith(f"[{dates[12]}]"))
    game_id = "00" + target.name.split("-00")[1][:8]

    # BigDataBall re-delivers the game: every shot is now a made dunk
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["event_type"] in ("shot", "miss"):
            row.update(original_x="0", original_y="5", shot_distance="0", points="2", result="made")
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    load(settings, [target])

    reach = expected_reach(settings, game_id, dates[12])
    assert stale(settings) == {(PLAYER_GAMES, dates[12])} | {(FEATURES, d) for d in reach}
    assert max(reach) < dates[-1], "the reach is the players' next games, not the rest of the season"

    result = backfill(settings)
    assert result.success
    rebuilds_stale_and_what_lies_between(
        settings, result.run_id, {(PLAYER_GAMES, dates[12])} | {(FEATURES, d) for d in reach}
    )
    assert stale(settings) == set()
    clean = warehouse(tmp_path / "clean", files)
    for table in MODELS:
        assert table_rows(settings, table) == table_rows(clean, table), table


def test_a_late_game_rebuilds_its_date_and_its_players_window_reach(season, clean_build, tmp_path):
    files = game_files(season)
    dates = sorted({p.name[1:11] for p in files})
    late = [p for p in files if p.name.startswith(f"[{dates[20]}]")][0]
    settings = warehouse(tmp_path / "w", [p for p in files if p != late])
    load(settings, [late])
    game_id = "00" + late.name.split("-00")[1][:8]

    stale_now = stale(settings)
    late_date = next(d for (m, d) in stale_now if m == PLAYER_GAMES)
    assert {d for (m, d) in stale_now if m == PLAYER_GAMES} == {late_date}
    result = backfill(settings)
    assert result.success and stale(settings) == set()
    # the late game's players read it from their next games on: those were rebuilt
    reach = expected_reach(settings, game_id, late_date)
    rebuilds_stale_and_what_lies_between(
        settings, result.run_id, {(PLAYER_GAMES, late_date)} | {(FEATURES, d) for d in reach}
    )
    for table in MODELS:
        assert table_rows(settings, table) == table_rows(clean_build, table), table


def test_reloading_an_identical_file_marks_nothing_stale(season, clean_build):
    load(clean_build, game_files(season)[30:40], reread=True)  # read again, not skipped
    assert stale(clean_build) == set()
    assert backfill(clean_build).planned == []


def test_the_cached_fingerprints_see_a_game_deleted_without_a_replacement(clean_build, tmp_path):
    """The survey re-hashes only games loaded since its last look; a game whose rows went
    without new ones (row counts no longer add up) makes it hash every game again."""
    path = tmp_path / "copied.duckdb"
    with duckdb.connect(str(clean_build.duckdb_path)) as con:
        con.execute("checkpoint")  # everything in the file itself, none of it in the WAL
    shutil.copy(clean_build.duckdb_path, path)
    settings = replace(clean_build, duckdb_path=path)
    assert stale(settings) == set()  # a first survey: every game hashed, and cached
    day, game_id = query(
        settings, "select game_date, game_id from int_player_game_shot_zones order by 1, 2 limit 1 offset 500"
    )[0].values()
    with duckdb.connect(str(path)) as con:
        con.execute(f"delete from {settings.raw_relation} where game_id like '%{game_id.lstrip('0')}'")
    assert (PLAYER_GAMES, day) in stale(settings)
    with open_warehouse(settings) as wh:
        assert source_fingerprints(wh) == _fingerprints(wh, None)


def test_the_long_window_is_one_var_the_model_and_the_reach_both_read(clean_build):
    """var long_window_games sets the `_last_20` window of the features model and how far the
    runner looks for the partitions a changed game reaches (the longest window: the 10-game one
    when the long one is shorter): change it, and both follow."""
    shorter = replace(clean_build, dbt_vars="{long_window_games: 8, long_window_min_games: 6}")
    default_code, shorter_code = code.current_versions(clean_build), code.current_versions(shorter)
    assert shorter_code[FEATURES].fingerprint != default_code[FEATURES].fingerprint
    assert "var long_window_games 20 -> 8" in shorter_code[FEATURES].changes_since(default_code[FEATURES])
    day, game_id = query(
        clean_build, "select game_date, game_id from int_player_game_shot_zones order by 1, 2 limit 1 offset 300"
    )[0].values()
    change = UpstreamChange(day, frozenset({game_id}), None, "test")
    # the 10-game window then reaches further than the long one
    for settings, window in ((clean_build, WINDOW_REACH), (shorter, 10)):
        with open_warehouse(settings) as wh:
            reach = window_reach(wh, [change])[change]
        assert reach | {day} == expected_reach(settings, game_id, day, window)


def test_the_reach_skips_playoff_games_when_the_windows_do(clean_build, tmp_path):
    """var include_playoffs false leaves playoff games out of the windows: a changed game is then
    read by its players' next 20 games that are not playoff games, and the reach must count as
    the windows do (it counted every game, and stopped short: a wrong result)."""
    path = tmp_path / "copied.duckdb"
    with duckdb.connect(str(clean_build.duckdb_path)) as con:
        con.execute("checkpoint")
    shutil.copy(clean_build.duckdb_path, path)
    settings = replace(clean_build, duckdb_path=path, dbt_vars="{include_playoffs: false}")
    dates = [
        r["game_date"] for r in query(settings, "select distinct game_date from int_player_game_shot_zones order by 1")
    ]
    day = dates[30]
    game_id = query(
        settings, f"select min(game_id) as g from int_player_game_shot_zones where game_date = date '{day}'"
    )[0]["g"]
    # the next 15 dates become playoff dates, as far as the windows can tell
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"update int_player_game_shot_zones set is_playoffs = true where game_date in {tuple(str(d) for d in dates[31:46])}"
        )
    change = UpstreamChange(day, frozenset({game_id}), None, "test")
    with open_warehouse(settings) as wh:
        reach = window_reach(wh, [change])[change]
    expected = {
        row["game_date"]
        for row in query(
            settings,
            f"""
            with players as (
                select distinct player_lookup from int_player_game_shot_zones where game_id = '{game_id}'
            ),
            later as (
                select pg.game_date,
                       row_number() over (partition by pg.player_lookup order by pg.game_date, pg.game_id) as n
                from int_player_game_shot_zones pg join players using (player_lookup)
                where pg.game_date > date '{day}' and not pg.is_playoffs
            )
            select distinct game_date from later where n <= {WINDOW_REACH}
            """,
        )
    }
    assert max(expected) > dates[46], "the windows reach past the playoff dates"
    assert reach >= expected
    assert not reach & set(dates[31:46]), "no window of a playoff date reads anything"
