"""`--vars` on every command that runs the models: a bad value or an unknown var is one line
naming the var and what it takes (exit 2), before anything is built or served; a backfill it
stopped is recorded `failed`, with the command as typed; a good one reaches what is served."""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import query

from shotzones import code
from shotzones.backfill import backfill
from shotzones.cli import main
from shotzones.load import load_schedule
from shotzones.settings import BadVar, Settings
from shotzones.warehouse import connect

BAD_VALUES = {
    "{zone_scheme: bogus}": "var zone_scheme must be 'official' or 'legacy_distance', got 'bogus'",
    "{window_games: -3}": "var window_games must be a whole number of at least 1, got -3",
}
# every command that takes --vars, as a user would run it (the served date and the files: below)
COMMANDS = {
    "plan": ["plan"],
    "backfill": ["backfill"],
    "status": ["status"],
    "features": ["features", "--date", "{day}", "--format", "csv"],
    "export": ["export", "--out", "{out}"],
    "update": ["update", "{files}"],
}


def copy_of(warehouse: Settings, directory: Path) -> Settings:
    with connect(warehouse) as con:
        con.execute("checkpoint")  # everything in the file, nothing left in its WAL
    directory.mkdir(parents=True, exist_ok=True)
    return replace(warehouse, duckdb_path=Path(shutil.copy(warehouse.duckdb_path, directory / "warehouse.duckdb")))


def with_schedule(settings: Settings, generated: Path) -> Settings:
    load_schedule(settings, [generated / "schedule.csv"])
    return settings


@pytest.fixture(scope="module")
def scheduled(warehouse, generated, tmp_path_factory) -> Settings:
    """A copy of the session's built warehouse with the schedule loaded: every command can run."""
    return with_schedule(copy_of(warehouse, tmp_path_factory.mktemp("vars")), generated)


def served_date(settings: Settings) -> str:
    """A played date with earlier dates before it: a slate `features --date` can serve."""
    days = query(settings, "select distinct game_date from int_player_game_shot_zones order by 1")
    return days[len(days) // 2]["game_date"].isoformat()


def run(settings: Settings, generated: Path, tmp_path: Path, command: str, dbt_vars: str):
    words = [
        word.format(day=served_date(settings), out=tmp_path / "out.csv", files=generated) for word in COMMANDS[command]
    ]
    return CliRunner().invoke(main, [*words, "--vars", dbt_vars], env={"SHOTZONES_DUCKDB": str(settings.duckdb_path)})


def assert_one_line(result, message: str) -> None:
    """Exit 2, the message alone on stderr, no traceback anywhere."""
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"Error: {message}"], result.stderr
    assert "Traceback" not in result.output and "Compilation Error" not in result.output


@pytest.mark.parametrize("dbt_vars", BAD_VALUES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_value_is_one_line_naming_the_var_and_what_it_takes(scheduled, generated, tmp_path, command, dbt_vars):
    result = run(scheduled, generated, tmp_path, command, dbt_vars)
    assert_one_line(result, BAD_VALUES[dbt_vars])
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_var_is_refused_before_dbt_naming_the_known_ones(scheduled, generated, tmp_path, command):
    runs = query(scheduled, "select count(*) as n from shotzones_runs")[0]["n"]
    result = run(scheduled, generated, tmp_path, command, "{zone_schem: legacy_distance}")
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: --vars: zone_schem is not a var of this project (did you mean zone_scheme?)")
    for known in ("zone_scheme", "rate_method", "window_games", "include_playoffs", "start_date"):
        assert known in line
    assert query(scheduled, "select count(*) as n from shotzones_runs")[0]["n"] == runs  # no run recorded


@pytest.mark.parametrize(
    "dbt_vars, message",
    [
        (
            "{long_window_min_games: 25}",
            "var long_window_min_games must be a whole number from 1 to long_window_games (20), got 25",
        ),
        ("{include_playoffs: 'false'}", "var include_playoffs must be true or false, got 'false'"),
        ("{feature_null_rate_warn: 5}", "var feature_null_rate_warn must be a fraction from 0 to 1, got 5"),
        ("{rate_method: median}", "var rate_method must be 'pooled' or 'per_game_mean', got 'median'"),
        (
            "{start_date: 2019-01-05}",
            "var end_date must be a date (YYYY-MM-DD) on or after start_date, or null with start_date null, got null",
        ),
    ],
)
def test_every_constrained_var_has_its_rule_in_dbt(scheduled, generated, tmp_path, dbt_vars, message):
    """The rules live in dbt (macros/vars.sql): the project's compile refuses, even a var only the
    data tests read (a data-quality band)."""
    assert_one_line(run(scheduled, generated, tmp_path, "plan", dbt_vars), message)


def test_a_failed_compile_is_never_cached(scheduled):
    settings = replace(scheduled, dbt_vars="{window_scope: everywhere}")
    cache = code.target_dir(settings) / code.CACHE
    before = cache.read_text() if cache.exists() else None
    for _ in range(2):  # refused again: nothing was kept from the first
        with pytest.raises(BadVar, match="var window_scope must be 'all' or 'season', got 'everywhere'"):
            code.current_versions(settings)
    assert (cache.read_text() if cache.exists() else None) == before


def last_run(settings: Settings) -> dict:
    return query(settings, "select command, outcome from shotzones_runs order by started_at desc limit 1")[0]


def test_a_refused_backfill_is_recorded_failed_with_the_command_as_typed(scheduled, generated, tmp_path, monkeypatch):
    typed = ["backfill", "--workers", "2", "--vars", "{zone_scheme: bogus}"]
    monkeypatch.setattr(sys, "argv", [str(Path(sys.prefix) / "bin" / "shotzones"), *typed])
    env = {"SHOTZONES_DUCKDB": str(scheduled.duckdb_path)}
    result = CliRunner().invoke(main, typed, env=env)
    assert_one_line(result, BAD_VALUES["{zone_scheme: bogus}"])
    command = "shotzones backfill --workers 2 --vars '{zone_scheme: bogus}'"
    assert last_run(scheduled) == {"command": command, "outcome": "failed"}
    # status says what really ran, and how it ended
    status = CliRunner().invoke(main, ["status"], env=env)
    [said] = [line for line in status.stdout.splitlines() if line.startswith("Last run")]
    assert f"(`{command}`)" in said and said.endswith(": failed")


def test_a_backfill_that_raises_after_recording_its_run_is_recorded_failed(scheduled, monkeypatch):
    # from Python: the run's options, and its vars
    with pytest.raises(BadVar):
        backfill(replace(scheduled, dbt_vars="{window_games: -3}"))
    assert last_run(scheduled) == {"command": "backfill --workers 4 --vars '{window_games: -3}'", "outcome": "failed"}

    def lost(settings):
        raise OSError("the warehouse's disk went away")

    monkeypatch.setattr("shotzones.backfill.current_states", lost)
    with pytest.raises(OSError):
        backfill(scheduled)
    assert last_run(scheduled) == {"command": "backfill --workers 4", "outcome": "failed"}


def test_a_good_var_reaches_what_is_served(warehouse, generated, tmp_path):
    """rate_method changes no player-game, so the slate (which reads only those) is served under
    it: from views made by the vars, not the ones the backfill left. The training set reads the
    features table, which it makes stale: refused, naming the var's change."""
    settings = with_schedule(copy_of(warehouse, tmp_path / "good"), generated)
    day, env = served_date(settings), {"SHOTZONES_DUCKDB": str(settings.duckdb_path)}

    def slate(*extra: str) -> str:
        result = CliRunner().invoke(main, ["features", "--date", day, "--format", "csv", *extra], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    pooled = slate()
    per_game_mean = slate("--vars", "{rate_method: per_game_mean}")
    assert per_game_mean.splitlines()[0] == pooled.splitlines()[0]  # the same columns
    assert per_game_mean != pooled
    assert slate() == pooled  # and back: the views follow the vars

    exported = CliRunner().invoke(
        main, ["export", "--out", str(tmp_path / "train.csv"), "--vars", "{rate_method: per_game_mean}"], env=env
    )
    assert exported.exit_code == 1, exported.output
    assert "player_shot_zone_features" in exported.stderr and "stale" in exported.stderr
    assert "var rate_method 'pooled' -> 'per_game_mean'" in exported.stderr
    assert not (tmp_path / "train.csv").exists()
