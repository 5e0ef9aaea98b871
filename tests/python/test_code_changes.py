"""Code-aware staleness: a change to the models, their macros or their vars makes stale exactly
the partitions it changes, a rebuild equals a clean build under the new code, and a direct
`dbt build` keeps the ledger true."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from conftest import edit, query
from test_quality import lose_coordinates

from shotzones import dbt
from shotzones.backfill import Options, backfill, plan
from shotzones.code import current_versions, executed_sql
from shotzones.generate import generate
from shotzones.ledger import DIRECT_BUILDS, LEDGER
from shotzones.load import load, load_schedule
from shotzones.planning import FEATURES, MODELS, PLAYER_GAMES, PartitionState
from shotzones.settings import PROJECT_DIR, Settings
from shotzones.status import status
from shotzones.warehouse import connect, open_warehouse


def states(settings: Settings) -> dict[tuple[str, date], PartitionState]:
    return {(p.model, p.game_date): p for p in status(settings).partitions}


def stale(settings: Settings) -> set[tuple[str, date]]:
    return {key for key, p in states(settings).items() if p.state == "stale"}


def every(settings: Settings, *models: str) -> set[tuple[str, date]]:
    return {key for key, p in states(settings).items() if p.model in models}


def table_rows(settings: Settings, table: str) -> list[tuple]:
    return [tuple(row.values()) for row in query(settings, f"select * from {table} order by all")]


def rebuilds_like_a_clean_build(settings: Settings, generated: Path, tmp_path: Path) -> None:
    result = backfill(settings)
    assert result.success
    assert stale(settings) == set()
    clean = replace(settings, duckdb_path=tmp_path / "clean" / "warehouse.duckdb")
    load(clean, [generated])
    assert backfill(clean).success
    for table in MODELS:
        assert table_rows(settings, table) == table_rows(clean, table), table


def test_a_copy_of_the_project_changes_nothing(built, project):
    assert stale(replace(built, project_dir=project)) == set()


def test_a_comment_or_blank_lines_in_a_model_or_macro_make_nothing_stale(built, project):
    """Only what dbt executes counts: comments and layout change no fingerprint."""
    model = project / "models" / "marts" / "player_shot_zone_features.sql"
    edit(model, "\nwith\n", "\n-- why the windows look back: see the README\n\n\nwith  /* the inputs */\n\n")
    edit(
        project / "macros" / "shot_zones.sql",
        "                when sqrt(",
        "                -- the restricted area: 4 ft around the hoop's centre\n\n                when sqrt(",
    )
    edited = replace(built, project_dir=project)
    # both reach the SQL dbt compiles: the features model's and the zones view's
    compiled_before, compiled_now = current_versions(built), current_versions(edited)
    for model in (FEATURES, "int_shots_classified"):
        assert compiled_now[model].compiled_md5 != compiled_before[model].compiled_md5, model
    assert stale(edited) == set()


def test_a_zone_scheme_var_makes_both_models_stale_and_rebuilds_like_a_clean_build(built, generated, tmp_path):
    settings = replace(built, dbt_vars="{zone_scheme: legacy_distance}")
    now = states(settings)
    assert {key for key, p in now.items() if p.state == "stale"} == every(settings, *MODELS)
    reason = now[(PLAYER_GAMES, min(d for _, d in now))].reason
    assert reason.startswith("code changed: int_player_game_shot_zones") and "var zone_scheme" in reason, reason
    assert "upstream model int_shots_classified" in reason, reason
    rebuilds_like_a_clean_build(settings, generated, tmp_path)
    assert stale(replace(settings, dbt_vars="")) == every(settings, *MODELS), "back to official: stale again"


def test_a_threshold_var_makes_nothing_stale(built):
    settings = replace(built, dbt_vars="{feature_null_rate_warn: 0.5, shots_without_coordinates_error: 0.3}")
    assert stale(settings) == set()
    assert plan(settings, Options()) == []


def test_a_macro_change_makes_both_models_stale_and_rebuilds_like_a_clean_build(built, project, generated, tmp_path):
    edit(project / "macros" / "shot_zones.sql", "<= 40 then 'Restricted Area'", "<= 60 then 'Restricted Area'")
    settings = replace(built, project_dir=project)
    now = states(settings)
    assert {key for key, p in now.items() if p.state == "stale"} == every(settings, *MODELS)
    assert "macro shotzones.shot_zone" in now[(FEATURES, max(d for _, d in now))].reason
    rebuilds_like_a_clean_build(settings, generated, tmp_path)


def test_a_features_model_change_makes_only_features_stale_and_rebuilds_like_a_clean_build(
    built, project, generated, tmp_path
):
    model = project / "models" / "marts" / "player_shot_zone_features.sql"
    text = model.read_text()
    threshold = "count(*) over {{ last_20 }} >= {{ checked_var('long_window_min_games') }}"
    assert text.count(threshold) == 2
    model.write_text(text.replace(threshold, "count(*) over {{ last_20 }} >= 12"))
    settings = replace(built, project_dir=project)
    now = states(settings)
    assert {key for key, p in now.items() if p.state == "stale"} == every(settings, FEATURES)
    assert now[(FEATURES, max(d for _, d in now))].reason == "code changed: player_shot_zone_features (its SQL)"
    result = backfill(settings)
    assert {b.models for b in result.planned} == {(FEATURES,)}
    assert stale(settings) == set()
    clean = replace(settings, duckdb_path=tmp_path / "clean" / "warehouse.duckdb")
    load(clean, [generated])
    assert backfill(clean).success
    for table in MODELS:
        assert table_rows(settings, table) == table_rows(clean, table), table


def dbt_build(settings: Settings, *args: str, returncode: int = 0) -> subprocess.CompletedProcess:
    """`dbt build` from the project directory, as the README says, on the settings' warehouse."""
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run(
        [str(dbt), "build", "--profiles-dir", "profiles", *args],
        cwd=PROJECT_DIR,
        env=os.environ | settings.dbt_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == returncode, done.stdout[-3000:]
    return done


def test_a_direct_dbt_build_leaves_nothing_pending(generated, tmp_path):
    """No runner in the loop."""
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    load(settings, [generated])
    assert {p.state for p in status(settings).partitions} == {"pending"}
    dbt_build(settings)
    now = status(settings).partitions
    assert {p.state for p in now} == {"done"}, {p.reason for p in now if p.state != "done"}
    assert all(p.reason.startswith("run dbt-") for p in now)
    assert plan(settings, Options()) == []
    # the next backfill records it: the ledger holds what the tables hold, with the fingerprint
    # of the code that built them
    assert backfill(settings).planned == []
    ledger = query(settings, "select model, game_date, rows_written, code_fingerprint from shotzones_ledger")
    counts = {(r["model"], r["game_date"]): r["rows_written"] for r in ledger}
    for model in MODELS:
        for row in query(settings, f"select game_date, count(*) as n from {model} group by game_date"):
            assert counts[(model, row["game_date"])] == row["n"]
    assert all(r["code_fingerprint"] for r in ledger)


def test_status_after_a_direct_dbt_build_writes_nothing_and_the_next_backfill_records_it(generated, tmp_path):
    """Reads read: `status` takes a direct build's partitions as done from what the build
    recorded, and leaves that and the ledger as they were; the next backfill records them."""
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    load(settings, [generated])
    dbt_build(settings)
    recorded = table_rows(settings, DIRECT_BUILDS)
    assert len(recorded) == 1
    for _ in range(2):
        now = status(settings).partitions
        assert {p.state for p in now} == {"done"} and all(p.reason.startswith("run dbt-") for p in now)
        assert table_rows(settings, DIRECT_BUILDS) == recorded
        with open_warehouse(settings) as wh:
            assert not wh.table_exists(LEDGER)
    result = backfill(settings)
    assert result.success and result.planned == []
    assert table_rows(settings, DIRECT_BUILDS) == []
    entries = query(settings, f"select model, game_date, state, run_id from {LEDGER}")
    assert {(e["model"], e["game_date"]) for e in entries} == {(p.model, p.game_date) for p in now}
    assert all(e["state"] == "done" and e["run_id"].startswith("dbt-") for e in entries)
    assert states(settings) == {(p.model, p.game_date): p for p in now}


def test_a_direct_dbt_build_with_a_failing_test_fails_the_dates_it_names(generated, tmp_path):
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    load(settings, [generated])
    broken = query(settings, "select distinct game_date from nba_raw.bigdataball_play_by_play order by 1")[7][
        "game_date"
    ]
    with connect(settings) as con:  # the delivered date now disagrees with the game's date
        con.execute("update nba_raw.bigdataball_play_by_play set date = '1/1/1999' where game_date = ?", [broken])
    dbt_build(settings, returncode=1)
    now = states(settings)
    assert {key for key, p in now.items() if p.state == "failed"} == {(m, broken) for m in MODELS}
    assert "expression_is_true_stg_bigdataball__play_by_play" in now[(PLAYER_GAMES, broken)].reason


def test_a_direct_dbt_build_fails_the_dates_in_a_tests_error_band_not_its_warn_band(generated, tmp_path):
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    load(settings, [generated])
    dates = [
        r["game_date"]
        for r in query(settings, "select distinct game_date from nba_raw.bigdataball_play_by_play order by 1")
    ]
    lost, partly_lost = dates[7], dates[9]
    lose_coordinates(settings, lost)  # shots_without_coordinates' error band
    lose_coordinates(settings, partly_lost, share=0.10)  # its warn band
    failed = dbt_build(settings, returncode=1)
    assert "FAIL 2 shots_without_coordinates" in failed.stdout, failed.stdout[-3000:]  # one test, both dates
    now = states(settings)
    assert {key for key, p in now.items() if p.state == "failed"} == {(m, lost) for m in MODELS}
    assert "shots_without_coordinates" in now[(PLAYER_GAMES, lost)].reason


@pytest.fixture(scope="module")
def with_upcoming_games(tmp_path_factory) -> Path:
    """Six played game dates, and the season's next three scheduled but not played yet (as in
    the demo)."""
    out = tmp_path_factory.mktemp("upcoming")
    generate(out, 2022, seasons=1, seed=7, max_dates_per_season=9, upcoming_dates=3)
    return out


def loaded_with_schedule(files: Path, directory: Path) -> Settings:
    settings = replace(Settings(), duckdb_path=directory / "warehouse.duckdb")
    load(settings, [files])
    load_schedule(settings, [files])
    return settings


def played_and_upcoming_dates(settings: Settings) -> tuple[list[date], list[date]]:
    played = [r["d"] for r in query(settings, "select distinct game_date as d from nba_raw.bigdataball_play_by_play")]
    scheduled = [r["d"] for r in query(settings, "select distinct game_date as d from nba_raw.schedule")]
    return sorted(played), sorted(d for d in scheduled if d > max(played))


def test_a_direct_dbt_build_with_upcoming_games_scheduled_leaves_every_partition_done(with_upcoming_games, tmp_path):
    """Upcoming games cannot have play-by-play yet: the schedule's coverage test leaves them be."""
    settings = loaded_with_schedule(with_upcoming_games, tmp_path)
    played, upcoming = played_and_upcoming_dates(settings)
    assert len(upcoming) == 3
    for args in ((), ("--full-refresh",)):
        dbt_build(settings, *args)
        now = status(settings).partitions
        assert {p.state for p in now} == {"done"}, {(p.model, p.game_date, p.reason) for p in now if p.state != "done"}
        assert {p.game_date for p in now} == set(played)


def test_a_direct_dbt_build_fails_a_past_scheduled_date_without_play_by_play(with_upcoming_games, tmp_path):
    settings = loaded_with_schedule(with_upcoming_games, tmp_path)
    missing = played_and_upcoming_dates(settings)[0][2]
    with connect(settings) as con:  # its games were scheduled, but never delivered
        con.execute("delete from nba_raw.bigdataball_play_by_play where game_date = ?", [missing])
    dbt_build(settings, returncode=1)
    now = states(settings)
    assert {key for key, p in now.items() if p.state == "failed"} == {(m, missing) for m in MODELS}
    assert "scheduled_games_with_play_by_play" in now[(PLAYER_GAMES, missing)].reason


def test_a_direct_dbt_build_under_other_vars_is_stale_under_these(generated, tmp_path):
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    load(settings, [generated])
    vars_ = "{window_scope: season}"
    # the unit tests pin the default vars
    dbt_build(settings, "--vars", vars_, "--exclude", "test_type:unit")
    assert stale(replace(settings, dbt_vars=vars_)) == set()
    assert stale(settings) == every(settings, FEATURES)


# --- fingerprints hash the SQL as the warehouse executes it ------------------------------------


def test_comments_and_runs_of_whitespace_are_left_out():
    sql = "select a,  -- the shooter\n\n\tb /* made,\n -- or not */ from t\n-- the end"
    assert executed_sql(sql) == "select a, b from t"
    assert executed_sql("select 1/* glued */as x") == "select 1 as x"


def test_quoted_strings_and_identifiers_keep_their_comments_and_whitespace():
    sql = (
        "select '--  no comment' as \"a  -- b\", `x /* y */  z` from t"
        " where c like '%3PT%' and d = '00:-12:00' and e = 'line\n  two'"
    )
    assert executed_sql(sql) == sql
    assert executed_sql("select 'it''s -- kept'  -- dropped") == "select 'it''s -- kept'"
    assert executed_sql('select "a "" -- b"  -- dropped') == 'select "a "" -- b"'
    assert executed_sql("select 'a  b'") != executed_sql("select 'a b'")


def test_bigquery_strings_escape_a_quote_with_a_backslash():
    assert executed_sql(r"select 'it\'s -- kept'  -- dropped", backslash_escapes=True) == r"select 'it\'s -- kept'"
    assert executed_sql(r"select 'a\\'  -- dropped", backslash_escapes=True) == r"select 'a\\'"
    assert executed_sql(r'select "a\" -- kept"  -- dropped', backslash_escapes=True) == r'select "a\" -- kept"'


def test_the_raw_relation_is_the_dbt_vars_for_the_loader_and_the_source_alike(generated, tmp_path):
    """`--vars '{raw_schema: ..., raw_table: ...}'` moves the raw table for the loader and for
    dbt's source at once: both read the vars, nothing restates them."""
    settings = replace(
        Settings(),
        duckdb_path=tmp_path / "warehouse.duckdb",
        dbt_vars="{raw_schema: deliveries, raw_table: play_by_play}",
    )
    assert settings.raw_relation == "deliveries.play_by_play"
    files = sorted(p for p in generated.rglob("*.csv") if p.name != "schedule.csv")[:3]
    load(settings, files)
    loaded = query(settings, "select count(*) as n from deliveries.play_by_play")[0]["n"]
    assert loaded and not query(settings, "select * from information_schema.tables where table_schema = 'nba_raw'")
    dbt.invoke(settings, ["run", "--select", "stg_bigdataball__play_by_play"], quiet=True)
    assert query(settings, "select count(*) as n from main.stg_bigdataball__play_by_play")[0]["n"] == loaded


def test_views_are_created_again_only_when_their_code_changed_or_one_is_missing(built):
    """A view reads no batch: a backfill creates the views when one is missing or unlike the
    code, and else leaves them be (its waves' dbt runs build only the incremental models)."""
    day = date.fromisoformat(str(query(built, "select max(game_date) as d from player_shot_zone_features")[0]["d"]))

    def created() -> dict[str, object]:
        return {row["view_name"]: row["created_at"] for row in query(built, "select * from shotzones_views")}

    def rebuild_one_date(settings: Settings) -> None:
        assert backfill(settings, Options(start=day, end=day, force=True)).success

    rebuild_one_date(built)  # after a build from before views were recorded: created, recorded
    before = created()
    assert {"stg_bigdataball__play_by_play", "int_game_players", "player_pregame_features"} <= set(before)
    rebuild_one_date(built)
    assert created() == before, "views as the code says are left alone"

    # var slate_recent_team_games changes the pre-game view's code: the views are created again
    fewer = replace(built, dbt_vars="{slate_recent_team_games: 5}")
    rebuild_one_date(fewer)
    after = created()
    assert after["player_pregame_features"] > before["player_pregame_features"]
    assert stale(fewer) == set(), "a view's var leaves the incremental models done"
    rebuild_one_date(fewer)
    assert created() == after
    with connect(built) as con:
        con.execute("drop view stg_bigdataball__shots")
    rebuild_one_date(fewer)  # one missing: the views are created again, and the build works
    assert created()["stg_bigdataball__shots"] > after["stg_bigdataball__shots"]
