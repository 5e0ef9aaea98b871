"""Serving: what the model is served before a game is exactly what training sees for that game
afterwards. The replay loads generated data one game date at a time, as the nightly run
would: serve the slate of date d from the warehouse as it stands before d is loaded, then load
d, backfill, and compare with the model-ready features of d."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from conftest import query

from shotzones.backfill import backfill
from shotzones.cli import main
from shotzones.load import load, load_schedule, schedule_relation
from shotzones.serving import SLATE_DATE_VARIABLE, historical_features, pregame_features
from shotzones.settings import MODEL_READY, PREGAME, Settings
from shotzones.warehouse import open_warehouse

BASE_DATES = 12  # loaded before the replay: history for the first slates
REPLAYED_DATES = 14  # across the offseason between the two generated seasons (date 20)


def files_by_date(directory: Path) -> dict[date, list[Path]]:
    files: dict[date, list[Path]] = defaultdict(list)
    for path in directory.rglob("[[]*.csv"):
        files[date.fromisoformat(path.name[1:11])].append(path)
    return dict(sorted(files.items()))


def model_ready(settings: Settings, where: str) -> dict[tuple[str, str], dict]:
    rows = query(settings, f"select * from {MODEL_READY} where {where}")
    return {(row["game_id"], row["player_lookup"]): row for row in rows}


@dataclass
class Replay:
    settings: Settings
    dates: list[date]
    served_and_played: int = 0
    played_not_served: int = 0
    served_not_played: int = 0
    different: list = None


@pytest.fixture(scope="module")
def replay(generated, tmp_path_factory) -> Replay:
    settings = replace(Settings(), duckdb_path=tmp_path_factory.mktemp("replay") / "warehouse.duckdb")
    by_date = files_by_date(generated)
    dates = list(by_date)
    assert len(dates) >= BASE_DATES + REPLAYED_DATES
    load(settings, [path for day in dates[:BASE_DATES] for path in by_date[day]])
    load_schedule(settings, [generated / "schedule.csv"])
    assert backfill(settings).success
    result = Replay(settings, dates[BASE_DATES : BASE_DATES + REPLAYED_DATES], different=[])
    for day in result.dates:
        slate = pregame_features(settings)
        assert slate.day == day  # tonight: the first scheduled date not loaded
        served = {(row["game_id"], row["player_lookup"]): row for row in slate.table.to_pylist()}
        assert served, f"nothing served for {day}"
        load(settings, by_date[day])
        assert backfill(settings).success
        trained = model_ready(settings, f"game_date = date '{day}'")
        for key in served.keys() & trained.keys():
            if served[key] != trained[key]:
                result.different.append((served[key], trained[key]))
        result.served_and_played += len(served.keys() & trained.keys())
        result.played_not_served += len(trained.keys() - served.keys())
        result.served_not_played += len(served.keys() - trained.keys())
    return result


def test_served_features_are_the_features_training_sees(replay):
    """Every player who played on a replayed date and was served before it got exactly the
    features (to the last bit, NULL for NULL, filled flags and all) that the model-ready view
    gives his game afterwards."""
    assert replay.different == []
    assert replay.served_and_played > 2000


def test_the_slate_misses_few_players_and_serves_few_who_sit(replay):
    """Who was not served: debutants (the generator's rookies in the second season) and players
    back from a long injury or traded since their last game. Who was served but did not play:
    players resting or injured that night (the generator plans injuries and rest days), and, at
    the second season's openers, last season's roster (retired players included) until each
    team has played ten games."""
    played = replay.served_and_played + replay.played_not_served
    served = replay.served_and_played + replay.served_not_played
    print(
        f"replayed {len(replay.dates)} dates: {played} player-games played, {served} served;"
        f" played but not served {replay.played_not_served} ({replay.played_not_served / played:.1%}),"
        f" served but did not play {replay.served_not_played} ({replay.served_not_played / served:.1%})"
    )
    assert replay.played_not_served / played < 0.05
    assert replay.served_not_played / served < 0.35


def test_a_historical_read_equals_the_features_of_the_games_played(replay):
    """--entities: a player's features as of a date are those of his game that day, even with
    every later date loaded; a player never seen has an empty window, filled and flagged."""
    trained = model_ready(replay.settings, f"game_date between date '{replay.dates[0]}' and date '{replay.dates[-1]}'")
    sample = sorted(trained.values(), key=lambda row: (row["game_date"], row["player_lookup"]))[::7]
    entities = [(row["player_lookup"], row["game_date"]) for row in sample] + [("nobodyatall", replay.dates[5])]
    rows = historical_features(replay.settings, entities).table.to_pylist()
    assert [(row["player_lookup"], row["as_of_date"]) for row in rows] == entities
    columns = [name for name in rows[0] if name not in ("player_lookup", "as_of_date")]
    for row, expected in zip(rows, sample):
        assert {c: row[c] for c in columns} == {c: expected[c] for c in columns}
    unknown = rows[-1]
    assert unknown["games_in_window"] == 0 and unknown["paint_rate_last_10_is_filled"]
    assert unknown["paint_rate_last_10"] is not None  # the league's rate before that date


def test_the_slate_read_narrowed_to_its_date_equals_the_whole_view_filtered(replay):
    """`features` narrows the pre-game view to its date before the windows are computed (a
    DuckDB session variable, macro scheduled_for_slate): the rows must be those of the whole
    view filtered to the date, and the narrowing must really happen."""
    day = replay.dates[-1]
    query = f"select * from main.{PREGAME} where game_date = date '{day}' order by game_id, player_lookup"
    with open_warehouse(replay.settings) as wh:
        whole = wh.arrow(query)
        narrowed = wh.arrow(query, {SLATE_DATE_VARIABLE: day})
        dates = wh.arrow(f"select distinct game_date from main.{PREGAME}", {SLATE_DATE_VARIABLE: day})
    assert whole.num_rows and narrowed.equals(whole)
    assert dates.column("game_date").to_pylist() == [day]


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def served(replay, tmp_path, monkeypatch) -> Settings:
    """A copy of the replayed warehouse, named by SHOTZONES_DUCKDB for the CLI."""
    path = tmp_path / "served.duckdb"
    with duckdb.connect(str(replay.settings.duckdb_path)) as con:
        con.execute("checkpoint")  # everything in the file itself, none of it in the WAL
    shutil.copy(replay.settings.duckdb_path, path)
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(path))
    monkeypatch.delenv("SHOTZONES_TARGET", raising=False)
    return replace(replay.settings, duckdb_path=path)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_features_writes_the_slate_in_every_format(served, replay, tmp_path):
    day = replay.dates[-1]
    expected = model_ready(served, f"game_date = date '{day}'")
    table = invoke("features", "--date", day.isoformat())
    assert table.exit_code == 0, table.output
    assert f"Pre-game features for {day}" in table.output
    for suffix in ("csv", "json", "parquet"):
        out = tmp_path / f"slate.{suffix}"
        result = invoke("features", "--date", day.isoformat(), "--out", str(out))
        assert result.exit_code == 0, result.output
        reader = {"csv": "read_csv", "json": "read_json", "parquet": "read_parquet"}[suffix]
        rows = duckdb.sql(f"select game_id, player_lookup, paint_rate_last_10 from {reader}('{out}')").fetchall()
        assert rows and all(isinstance(row[0], str) and len(row[0]) == 10 for row in rows)
        played = [row for row in rows if (row[0], row[1]) in expected]
        assert played and all(row[2] == pytest.approx(expected[row[:2]]["paint_rate_last_10"]) for row in played)
    csv_out = invoke("features", "--date", day.isoformat(), "--format", "csv")
    header = next(csv.reader(csv_out.output.splitlines()))
    assert header[:7] == ["game_id", "player_lookup", "game_date", "season", "team_abbr", "opponent_abbr", "is_home"]
    assert header == [c for c in next(iter(expected.values()))]  # the model-ready columns, in order


def test_features_refuses_what_it_cannot_serve(served, replay, tmp_path):
    no_games = invoke("features", "--date", "2019-07-04")
    assert no_games.exit_code == 2 and "no games scheduled on 2019-07-04" in no_games.output
    # the schedule published so far ends with the last date played
    with duckdb.connect(str(served.duckdb_path)) as con:
        con.execute(f"delete from {schedule_relation(served)} where game_date > date '{replay.dates[-1]}'")
    after_the_schedule = invoke("features")
    assert after_the_schedule.exit_code == 2 and "no scheduled games after" in after_the_schedule.output
    parquet = invoke("features", "--date", replay.dates[-1].isoformat(), "--format", "parquet")
    assert parquet.exit_code == 2 and "needs --out" in parquet.output


def test_features_refuses_a_slate_over_unfinished_partitions(served, replay, generated, tmp_path):
    """A game re-delivered with a change makes its date's partitions stale: the slates after it
    read them, so they are refused (exit 1) until a backfill, or served flagged on request."""
    day = replay.dates[3]
    game = sorted(files_by_date(generated)[day])[0]
    changed = tmp_path / game.name
    lines = game.read_text(encoding="utf-8").splitlines(keepends=True)
    changed.write_text("".join(lines[:-5]), encoding="utf-8")
    load(served, [changed])
    refused = invoke("features", "--date", replay.dates[-1].isoformat())
    assert refused.exit_code == 1
    assert f"int_player_game_shot_zones {day}: stale" in refused.output
    assert "--allow-stale" in refused.output
    earlier = invoke("features", "--date", day.isoformat(), "--format", "csv")
    assert earlier.exit_code == 0, earlier.output  # reads only the dates before the change
    flagged = invoke("features", "--date", replay.dates[-1].isoformat(), "--allow-stale", "--format", "csv")
    assert flagged.exit_code == 0
    assert "warning: served with 1 partition not done" in flagged.output


def test_export_writes_a_training_set_with_labels(served, replay, tmp_path):
    out = tmp_path / "train.parquet"
    start, end = replay.dates[0], replay.dates[9]
    result = invoke("export", "--start", start.isoformat(), "--end", end.isoformat(), "--out", str(out))
    assert result.exit_code == 0, result.output
    exported = duckdb.sql(f"select * from read_parquet('{out}')")
    expected = model_ready(served, f"game_date between date '{start}' and date '{end}'")
    assert exported.count("*").fetchall()[0][0] == len(expected)
    labels = query(
        served,
        f"select game_id, player_lookup, fga, three_pt_fga from int_player_game_shot_zones"
        f" where game_date between date '{start}' and date '{end}'",
    )
    by_key = {(r["game_id"], r["player_lookup"]): (r["fga"], r["three_pt_fga"]) for r in labels}
    for game_id, player, fga, threes in exported.select(
        "game_id, player_lookup, actual_fga, actual_three_pt_fga"
    ).fetchall():
        assert by_key[(game_id, player)] == (fga, threes)
    reversed_range = invoke("export", "--start", end.isoformat(), "--end", start.isoformat(), "--out", str(out))
    assert reversed_range.exit_code == 2


def test_export_entities_names_a_bad_line(served, tmp_path):
    entities = tmp_path / "entities.csv"
    entities.write_text("player_lookup,as_of_date\nsomeone,2019-11-01\nother,11/02/2019\n", encoding="utf-8")
    result = invoke("export", "--entities", str(entities), "--out", str(tmp_path / "out.csv"))
    assert result.exit_code == 2
    assert f"{entities}:3: as_of_date '11/02/2019' is not a YYYY-MM-DD date" in result.output
    assert not (tmp_path / "out.csv").exists()
