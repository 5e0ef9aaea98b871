"""The command line, end to end on one generated date."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from conftest import query
from test_quality import dates_of, lose_coordinates

from shotzones import busy
from shotzones.cli import main
from shotzones.generate import generate
from shotzones.load import load
from shotzones.planning import MODELS
from shotzones.settings import Settings


def test_generate_load_backfill_report(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    runner = CliRunner()
    out = tmp_path / "files"

    generated = runner.invoke(
        main, ["generate", "--first-season", "2023", "--seasons", "1", "--seed", "3", "--out", str(out)]
    )
    assert generated.exit_code == 0, generated.output
    assert "1,326 games" in generated.output  # 1,230 regular-season games, the play-in and playoffs

    loaded = runner.invoke(main, ["load", str(out / "2023")])
    assert loaded.exit_code == 0, loaded.output
    assert "1,326 games" in loaded.output

    planned = runner.invoke(main, ["plan", "--start", "2023-10-24", "--end", "2023-11-30", "--batch-days", "20"])
    assert planned.exit_code == 0, planned.output
    assert "2023-10-24..2023-11-" in planned.output and "never built" in planned.output
    assert "scans" not in planned.output  # a cost estimate is BigQuery's

    built = runner.invoke(main, ["backfill", "--start", "2023-10-24", "--end", "2023-11-30"])
    assert built.exit_code == 0, built.output
    assert "partitions built, 0 failed" in built.output

    again = runner.invoke(main, ["backfill", "--start", "2023-10-24", "--end", "2023-11-30"])
    assert again.exit_code == 0 and "Nothing pending" in again.output

    reported = runner.invoke(main, ["report"])
    assert reported.exit_code == 0, reported.output
    assert "paint_rate_last_10" in reported.output


def test_usage_errors_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    result = CliRunner().invoke(main, ["backfill", "--start", "not-a-date"])
    assert result.exit_code == 2
    assert "not-a-date" in result.output


def test_backfill_before_any_load_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    result = CliRunner().invoke(main, ["backfill"])
    assert result.exit_code == 2
    assert "shotzones load" in result.output
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing created by asking


# --- the edges: every failure a message with its exit code, machine output machine-readable ---

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def json_lines(output: str) -> list[dict]:
    """Every line of `--json` output is a JSON object with its event type and a UTC time."""
    events = [json.loads(line) for line in output.splitlines()]
    for event in events:
        assert isinstance(event["event"], str) and ISO_UTC.match(event["at"]), event
    return events


@pytest.mark.parametrize("command", [["report"], ["unlock", "abc123"], ["status"], ["plan"], ["backfill", "--json"]])
def test_a_missing_warehouse_is_refused_and_never_created(tmp_path, monkeypatch, command):
    missing = tmp_path / "no-such.duckdb"
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(missing))
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    assert f"no warehouse at {missing}" in result.stderr and "shotzones load" in result.stderr
    assert "Traceback" not in result.output and not missing.exists()
    if "--json" in command:
        assert [e["event"] for e in json_lines(result.stdout)] == ["error"]


def test_an_unknown_target_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    result = CliRunner().invoke(main, ["status"], env={"SHOTZONES_TARGET": "bogus"})
    assert result.exit_code == 2
    assert "SHOTZONES_TARGET=bogus is not a target: choose duckdb or bigquery" in result.stderr


def test_bigquery_without_credentials_says_what_it_looked_for(tmp_path):
    env = {
        "SHOTZONES_BQ_KEYFILE": None,
        "SHOTZONES_BQ_TOKEN": None,
        "SHOTZONES_BQ_API_ENDPOINT": None,
        "GOOGLE_APPLICATION_CREDENTIALS": None,
        "CLOUDSDK_CONFIG": str(tmp_path),
        "NO_GCE_CHECK": "True",
    }
    result = CliRunner().invoke(main, ["status", "--target", "bigquery"], env=env)
    assert result.exit_code == 2, result.output
    assert "no BigQuery credentials" in result.stderr
    for looked_for in (
        "SHOTZONES_BQ_KEYFILE",
        "SHOTZONES_BQ_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "gcloud auth application-default login",
    ):
        assert looked_for in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("first_season, seasons", [("1800", "1"), ("2040", "10")])
def test_generate_refuses_seasons_whose_game_ids_would_collide(tmp_path, first_season, seasons):
    out = tmp_path / "files"
    result = CliRunner().invoke(
        main, ["generate", "--first-season", first_season, "--seasons", seasons, "--out", str(out)]
    )
    assert result.exit_code == 2 and "2045" in result.output
    assert not out.exists()


def test_a_load_that_loads_nothing_does_not_say_it_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    (tmp_path / "notes.csv").write_text("name,value\nx,1\n")
    result = CliRunner().invoke(main, ["load", str(tmp_path / "notes.csv")])
    assert result.exit_code == 2
    assert "Loaded" not in result.output and "Nothing loaded: 1 file rejected" in result.stderr


@pytest.fixture(scope="module")
def failing(tmp_path_factory) -> tuple[Settings, list, object]:
    """Eight generated dates, two of whose shots lost their coordinates, backfilled once with
    --json: the warehouse, the dates, and that run's result."""
    files = tmp_path_factory.mktemp("edges")
    generate(files, 2022, seasons=1, seed=5, max_dates_per_season=8)
    settings = replace(Settings(), duckdb_path=files / "warehouse.duckdb")
    load(settings, [files])
    days = dates_of(settings)
    for day in (days[2], days[3]):
        lose_coordinates(settings, day)
    backfilled = CliRunner().invoke(main, ["backfill", "--json"], env={"SHOTZONES_DUCKDB": str(settings.duckdb_path)})
    return settings, days, backfilled


def test_backfill_json_is_json_lines_only_and_failures_say_what_was_measured(failing):
    settings, days, result = failing
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.output  # no escape codes, from dbt or anyone
    events = json_lines(result.stdout)  # dbt's own lines are on stderr
    kinds = [e["event"] for e in events]
    assert kinds[0] == "planned" and kinds[-1] == "finished" and "failed" in kinds
    assert events[-1] | {"at": None, "run_id": None, "seconds": None} == {
        "event": "finished",
        "at": None,
        "run_id": None,
        "outcome": "failed",
        "done": 12,
        "failed": 4,
        "seconds": None,
        "signal": None,
        "swapped": [],
        "held_back": 0,
    }
    failed = [e for e in events if e["event"] == "failed"]
    assert {"models", "start", "end", "dates", "seconds", "error", "attempt"} <= failed[0].keys()
    error = " ".join(e["error"] for e in failed)
    for day in (days[2], days[3]):
        # the measured share against the bound, per date, and where the failing rows are
        said = re.search(
            rf"{day}: shots_without_coordinates: original_x is NULL in [\d,]+ of [\d,]+ rows \(100\.0%\),"
            r" above the 25\.0% allowed \(rows in (\w+\.)?main_dbt_test__audit\.shots_without_coordinates\)",
            error,
        )
        assert said, error
    assert error.count("shots_without_coordinates:") == 2  # once a date, not once a partition
    assert "Got " not in error


def test_status_names_failed_and_stale_ranges_with_glyphs_and_exit_code(failing):
    settings, days, _ = failing
    env = {"SHOTZONES_DUCKDB": str(settings.duckdb_path)}
    result = CliRunner().invoke(main, ["status"], env=env)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    # each failed date with its reason (the measured share differs by date, so no range), once
    # for the models it failed
    failed = [line for line in lines if line.startswith("failed ")]
    assert [line.split(":")[0] for line in failed] == [f"failed {d} {' + '.join(MODELS)}" for d in days[2:4]]
    assert all("original_x is NULL in" in line and "above the 25.0% allowed" in line for line in failed)
    assert all(len(line) > 120 for line in failed)  # piped: a message is never wrapped
    # the features after the failure read it: stale, said as one range
    stale = [line for line in lines if line.startswith("stale ")]
    assert stale == [line for line in stale if line.startswith(f"stale {days[4]}..{days[-1]} (4 dates) {MODELS[1]}:")]
    assert len(stale) == 1, stale
    # distinct glyphs without colour: the calendar row of the month tells done from failed
    assert "■ done  □ pending  × failed  ▣ stale" in result.stdout
    assert any("■" in line and "×" in line for line in lines if line.startswith("  "))
    assert "Last run" in result.stdout and ": failed" in result.stdout

    as_json = CliRunner().invoke(main, ["status", "--json"], env=env)
    assert as_json.exit_code == 1
    events = json_lines(as_json.stdout)
    summary = events[-1]
    assert summary["event"] == "status" and summary["exit_code"] == 1
    assert summary["models"][MODELS[0]]["failed"] == 2
    assert ISO_UTC.match(summary["last_run"]["started_at"]) and summary["last_run"]["outcome"] == "failed"
    assert summary["last_run"]["command"] == "backfill --workers 4"
    partitions = [e for e in events if e["event"] == "partition"]
    assert len(partitions) == 2 * len(days)
    assert {(p["model"], p["date"]) for p in partitions if p["state"] == "failed"} == {
        (model, day.isoformat()) for model in MODELS for day in days[2:4]
    }


def test_ranges_without_dates_are_refused(failing):
    settings, days, _ = failing
    runner, env = CliRunner(), {"SHOTZONES_DUCKDB": str(settings.duckdb_path)}
    for command in ("plan", "backfill", "status"):
        reversed_range = runner.invoke(main, [command, "--start", str(days[3]), "--end", str(days[1])], env=env)
        assert reversed_range.exit_code == 2, reversed_range.output
        assert f"--start {days[3]} is after --end {days[1]}" in reversed_range.output
    runs = query(settings, "select count(*) as n from shotzones_runs")[0]["n"]
    empty = runner.invoke(main, ["backfill", "--force", "--start", "2030-01-01"], env=env)
    assert empty.exit_code == 2
    assert f"no game dates loaded from 2030-01-01 on: the loaded dates run from {days[0]} to {days[-1]}" in empty.stderr
    assert query(settings, "select count(*) as n from shotzones_runs")[0]["n"] == runs  # no run recorded
    png = runner.invoke(main, ["status", "--png", "/no/such/dir/cal.png"], env=env)
    assert png.exit_code == 2 and "/no/such/dir is not a directory" in png.output


def test_plan_json_is_json_lines(failing):
    settings, days, _ = failing
    result = CliRunner().invoke(
        main, ["plan", "--json", "--batch-days", "1"], env={"SHOTZONES_DUCKDB": str(settings.duckdb_path)}
    )
    assert result.exit_code == 0, result.output
    events = json_lines(result.stdout)
    batches = [e for e in events if e["event"] == "batch"]
    assert events[-1]["event"] == "planned" and events[-1]["batches"] == len(batches) > 0
    assert {"wave", "models", "start", "end", "dates", "reasons"} <= batches[0].keys()


def test_one_of_a_thing_is_singular(failing, tmp_path, monkeypatch):
    settings, days, _ = failing
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    game = sorted(settings.duckdb_path.parent.rglob(f"[[]{days[0]}]-*.csv"))[0]
    result = CliRunner().invoke(main, ["load", str(game)])
    assert result.exit_code == 0, result.output
    # (after the line the reading said in a pipe: read 1 of 1 file)
    assert re.search(
        rf"^Loaded [\d,]+ rows of 1 game \({days[0]} to {days[0]}\) from 1 file into ", result.stdout, re.M
    )


# --- edges a new user hit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command, option",
    [
        (["export", "--out", "{missing}/x.parquet"], "--out"),
        (["features", "--out", "{missing}/x.csv"], "--out"),
        (["update", "{missing}", "--serve-out", "{missing}/x.csv"], "--serve-out"),
        (["status", "--png", "{missing}/cal.png"], "--png"),
    ],
)
def test_a_file_into_a_missing_folder_is_a_usage_error(tmp_path, monkeypatch, command, option):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    missing = tmp_path / "missing_dir"
    result = CliRunner().invoke(main, [word.format(missing=missing) for word in command])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}': {missing} is not a directory" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "warehouse.duckdb").exists()


def test_the_format_and_the_file_agree(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    runner = CliRunner()
    # `export` has no --format: the suffix alone says the format
    export = runner.invoke(main, ["export", "--out", str(tmp_path / "e.txt")])
    assert export.exit_code == 2 and "name a .csv, .json, .jsonl or .parquet file" in export.stderr
    assert "--format" not in export.stderr
    features = runner.invoke(main, ["features", "--out", str(tmp_path / "e.txt")])
    assert features.exit_code == 2 and "or pass --format" in features.stderr
    # CSV is never written into a .parquet file
    mismatch = runner.invoke(main, ["features", "--format", "csv", "--out", str(tmp_path / "x.parquet")])
    assert mismatch.exit_code == 2, mismatch.output
    assert f"--format csv does not match --out {tmp_path / 'x.parquet'} (parquet)" in mismatch.stderr
    assert not (tmp_path / "x.parquet").exists()


SHOTZONES = Path(sys.executable).parent / "shotzones"


def shotzones_into_a_closed_pipe(*args: str, env: dict | None = None) -> tuple[int, str]:
    """`shotzones ARGS | head -0`: the reader of stdout is gone before the command writes."""
    process = subprocess.Popen(
        [str(SHOTZONES), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | (env or {}),
    )
    process.stdout.close()
    stderr = process.stderr.read()
    return process.wait(timeout=300), stderr


@pytest.fixture
def held(tmp_path):
    """A warehouse another command holds (its lock file locked by another process), and that
    process."""
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    duckdb.connect(str(settings.duckdb_path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import fcntl, time; h = open({str(busy.lock_path(settings))!r}, 'a'); fcntl.flock(h, fcntl.LOCK_EX);"
            " print('open', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        yield settings.duckdb_path
    finally:
        holder.kill()
        holder.wait()


def test_status_while_busy_says_so_as_an_event_with_its_own_exit_code(held):
    env = {"SHOTZONES_DUCKDB": str(held)}
    text = CliRunner().invoke(main, ["status"], env=env)
    assert text.exit_code == 4, text.output
    assert f"the warehouse {held} is busy" in text.stdout
    as_json = CliRunner().invoke(main, ["status", "--json"], env=env)
    assert as_json.exit_code == 4, as_json.output
    [busy_event] = json_lines(as_json.stdout)
    assert busy_event["event"] == "busy" and busy_event["exit_code"] == 4 and busy_event["holder"] is None
    assert f"the warehouse {held} is busy" in busy_event["message"]


def test_a_reader_that_leaves_ends_the_command_quietly_as_sigpipe_would(held):
    # rich's output (status says who holds the warehouse), and click's help: both end as a
    # process killed by SIGPIPE, silently
    for args in (["status"], ["status", "--help"]):
        code, stderr = shotzones_into_a_closed_pipe(*args, env={"SHOTZONES_DUCKDB": str(held)})
        assert (code, stderr) == (128 + signal.SIGPIPE, ""), args
