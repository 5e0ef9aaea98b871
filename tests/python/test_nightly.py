"""The nightly run: the incremental load (manifest), a busy warehouse that answers instead of a
traceback, and `shotzones update` end to end."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEED, query

from shotzones import busy, ledger
from shotzones.cli import main
from shotzones.generate import generate
from shotzones.load import changed_files, load, load_schedule, manifest_relation
from shotzones.nightly import schedule_files
from shotzones.settings import RAW_COLUMNS, Settings
from shotzones.warehouse import EVERY_DATE, open_warehouse

SHOTZONES = Path(sys.executable).parent / "shotzones"


@pytest.fixture(scope="module")
def played(tmp_path_factory) -> Path:
    """Eight played game dates and one scheduled, not played yet."""
    out = tmp_path_factory.mktemp("nightly")
    generate(out, 2022, seasons=1, seed=SEED, max_dates_per_season=9, upcoming_dates=1)
    return out


def game_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.csv") if p.name != "schedule.csv")


def rewrite(path: Path, change) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    change(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def cli(settings: Settings, *args):
    return CliRunner().invoke(main, [str(a) for a in args], env={"SHOTZONES_DUCKDB": str(settings.duckdb_path)})


# --- the manifest ------------------------------------------------------------------------------


def test_only_new_or_changed_files_are_read(played, tmp_path):
    files = Path(shutil.copytree(played, tmp_path / "files"))
    settings = replace(Settings(), duckdb_path=tmp_path / "w.duckdb")
    count = len(game_files(files))

    first = load(settings, [files])
    # BigDataBall's negative play_length (the row starting each period) is valid data
    assert first.exit_code == 0 and first.files == count and first.unchanged == 0
    negative = query(
        settings, "select count(*) as n from nba_raw.bigdataball_play_by_play where play_length like '%-%'"
    )
    assert negative[0]["n"] >= 3 * count
    rows = first.rows

    again = load(settings, [files])
    assert (again.files, again.unchanged, again.rows, again.exit_code) == (0, count, 0, 0)

    # touched, same content: not read, the manifest learns the new time
    touched = game_files(files)[0]
    os.utime(touched, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert load(settings, [files]).files == 0
    recorded = query(
        settings, f"select mtime_ns from {manifest_relation(settings)} where source_file = ?", [str(touched)]
    )
    assert recorded[0]["mtime_ns"] == touched.stat().st_mtime_ns

    # corrected content under the same name: read, alone
    changed = game_files(files)[1]
    rewrite(changed, lambda rows: rows[5].__setitem__(RAW_COLUMNS.index("description"), "corrected"))
    summary = load(settings, [files])
    assert (summary.files, summary.unchanged) == (1, count - 1)
    assert (
        query(settings, "select count(*) as n from nba_raw.bigdataball_play_by_play where description = 'corrected'")[
            0
        ]["n"]
        == 1
    )

    everything = cli(settings, "load", "--all", files)
    assert everything.exit_code == 0 and f"from {count} files" in everything.output
    assert query(settings, "select count(*) as n from nba_raw.bigdataball_play_by_play")[0]["n"] == rows
    nothing = cli(settings, "load", files)
    assert nothing.exit_code == 0 and f"Nothing new to load: {count} files unchanged" in nothing.output


def test_a_schedule_load_schedule_loaded_is_not_loaded_again_while_unchanged(played, tmp_path):
    """The first `update` after `load-schedule` leaves the schedule it loaded alone."""
    files = Path(shutil.copytree(played, tmp_path / "files"))
    settings = replace(Settings(), duckdb_path=tmp_path / "w.duckdb")
    assert load_schedule(settings, [files]).exit_code == 0
    assert changed_files(settings, schedule_files([files])).changed == []
    rewrite(files / "schedule.csv", lambda rows: rows[-1].__setitem__(-1, rows[-1][-2]))
    assert changed_files(settings, schedule_files([files])).changed == [(files / "schedule.csv").resolve()]


# --- a busy warehouse --------------------------------------------------------------------------


def test_a_process_holding_the_file_gets_a_refusal_not_a_traceback(played, tmp_path, monkeypatch):
    """A process that opened the DuckDB file without announcing itself (a `dbt build`, say),
    met by dbt's compile too (which opens the file): nothing compiled is cached here."""
    settings = replace(Settings(), duckdb_path=tmp_path / "w.duckdb")
    load(settings, [game_files(played)[0]])
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(settings.duckdb_path)!r}); print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        refused = cli(settings, "load", "--wait", "0.5", "--all", game_files(played)[0])
        assert refused.exit_code == 2, refused.output
        assert f"process {holder.pid}" in refused.output and "--wait" in refused.output
        assert "Traceback" not in refused.output
        status = cli(settings, "status")
        assert status.exit_code == 4 and f"process {holder.pid}" in status.output  # busy
        assert "--wait" not in status.output, "status answers at once: it has no --wait"
        planned = cli(settings, "plan", "--wait", "0.5")
        assert planned.exit_code == 2 and f"process {holder.pid}" in planned.output, planned.output
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture(scope="module")
def busy_then_updated(played, tmp_path_factory):
    """A warehouse a real backfill (in another process) is building, one batch a wave, and what
    each command said meanwhile; then that backfill's outcome."""
    directory = tmp_path_factory.mktemp("busy")
    files = Path(shutil.copytree(played, directory / "files"))
    (files / "schedule.csv").rename(directory / "schedule.csv")  # no schedule yet
    # a shot with a junk coordinate: the shot stays, classified by its distance
    junk = game_files(files)[0]
    x = RAW_COLUMNS.index("original_x")
    with junk.open(newline="", encoding="utf-8") as handle:
        junk_row = next(i for i, r in enumerate(csv.reader(handle)) if i and r[x] not in ("", "unknown"))
    rewrite(junk, lambda rows: rows[junk_row].__setitem__(x, "n/a"))
    settings = replace(Settings(), duckdb_path=directory / "w.duckdb")
    loaded = cli(settings, "load", files)
    env = os.environ | {"SHOTZONES_DUCKDB": str(settings.duckdb_path)}
    backfill = subprocess.Popen(
        [str(SHOTZONES), "backfill", "--batch-days", "1", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    said = {}
    try:
        deadline = time.monotonic() + 300
        while True:
            activity = busy.read_activity(settings)
            if activity and activity.progress.get("wave", 0) >= 1:
                break
            assert backfill.poll() is None, backfill.stdout.read()
            assert time.monotonic() < deadline, "the backfill did not start its first wave"
            time.sleep(0.2)
        said["status"] = cli(settings, "status")
        said["status --json"] = cli(settings, "status", "--json")
        for command in (["load", files], ["update", files], ["backfill"], ["report"]):
            said[command[0]] = cli(settings, *command, "--wait", "1")
        said["still running"] = backfill.poll() is None
    finally:
        output, _ = backfill.communicate(timeout=600)
    return settings, files, directory, loaded, said, backfill.returncode, output, activity, (junk, junk_row)


def test_status_shows_the_running_backfill_and_other_commands_refuse_naming_it(busy_then_updated):
    settings, _, _, loaded, said, returncode, output, activity, _ = busy_then_updated
    assert loaded.exit_code == 1 and "set aside 1 value" in loaded.output  # the junk coordinate
    assert said["still running"], "the backfill ended before every command was tried"
    run_id = activity.run_id
    status = said["status"]
    assert status.exit_code == 4, status.output  # busy: nothing checked
    assert f"run {run_id}" in status.output and f"pid {activity.pid}" in status.output
    assert "shotzones backfill --batch-days 1 --workers 1" in status.output
    assert "partitions done" in status.output and "left" in status.output and "wave" in status.output
    assert said["status --json"].exit_code == 4
    [running] = [json.loads(line) for line in said["status --json"].stdout.splitlines()]
    assert running["event"] == "busy" and running["at"].endswith("Z") and running["exit_code"] == 4
    assert running["holder"]["run_id"] == run_id
    progress = running["holder"]["progress"]
    assert progress["partitions_total"] == 16 and progress["partitions_left"] > 0 and progress["wave"] >= 1
    assert running["holder"]["elapsed_seconds"] > 0
    for command in ("load", "update", "backfill", "report"):
        refused = said[command]
        assert refused.exit_code == 2, (command, refused.output)
        for named in (run_id, f"pid {activity.pid}", socket.gethostname(), "shotzones backfill", "--wait"):
            assert named in refused.output, (command, named, refused.output)
        assert "Traceback" not in refused.output
    # nothing disturbed the backfill
    assert returncode == 0, output


def test_update_loads_what_is_new_backfills_and_serves_the_next_slate(busy_then_updated):
    settings, files, directory, _, _, _, _, _, (junk, junk_row) = busy_then_updated
    # the shot with a junk coordinate kept its attempt, zoned by its distance
    shot = query(
        settings,
        "select shots.zone_source from int_shots_classified as shots"
        " inner join stg_bigdataball__play_by_play as plays using (game_id, event_order)"
        " where plays.source_file = ? and plays.source_row = ?",
        [str(junk.resolve()), junk_row],
    )
    assert shot == [{"zone_source": "distance"}]

    # no schedule anywhere: nothing to serve, and still a success
    unscheduled = cli(settings, "update", files)
    assert unscheduled.exit_code == 0, unscheduled.output
    assert "Nothing new to load" in unscheduled.output and "nothing pending" in unscheduled.output
    assert "nothing served: no schedule loaded" in unscheduled.output

    # the schedule arrives in the folder, with tomorrow's games; one game is re-delivered changed
    shutil.copy(directory / "schedule.csv", files / "schedule.csv")
    corrected = game_files(files)[-1]
    rewrite(corrected, lambda rows: rows[3].__setitem__(RAW_COLUMNS.index("description"), "corrected"))
    slate = directory / "slate.csv"
    updated = cli(settings, "update", files, "--serve-out", slate)
    assert updated.exit_code == 0, updated.output
    [schedule] = [line for line in updated.stdout.splitlines() if line.startswith("Schedule: loaded")]
    assert schedule.endswith(" scheduled games from 1 file"), schedule
    assert "Backfill: 2 partitions built, 0 failed" in updated.output  # its date, both models
    served = next(line for line in updated.output.splitlines() if line.startswith("Served the slate of"))
    with slate.open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and f"{len(rows):,} players to {slate}" in served

    quiet = cli(settings, "update", files, "--json")
    assert quiet.exit_code == 0, quiet.output
    events = [json.loads(line) for line in quiet.output.splitlines()]
    assert [e["event"] for e in events] == ["loaded", "backfilled", "served", "finished"]
    assert events[0]["files"] == 0 and events[1]["done"] == 0 and events[-1]["exit_code"] == 0
    assert all(e["at"].endswith("Z") for e in events)  # ISO-8601 UTC, as every --json event


# --- BigQuery: loads under the lock ------------------------------------------------------------


def test_bigquery_loads_of_the_same_games_at_once_do_not_duplicate_rows(bigquery_emulator, played, tmp_path):
    settings = bigquery_emulator.settings(tmp_path / "unused.duckdb")
    files = game_files(played)[:3]
    delivered = sum(len(path.read_text(encoding="utf-8").splitlines()) - 1 for path in files)
    env = os.environ | {
        "SHOTZONES_TARGET": "bigquery",
        "SHOTZONES_BQ_PROJECT": settings.bq_project,
        "SHOTZONES_BQ_API_ENDPOINT": settings.bq_api_endpoint,
        "SHOTZONES_BQ_TOKEN": settings.bq_token,
    }
    # --all: both read and ship every file, one after the other
    loads = [
        subprocess.Popen(
            [str(SHOTZONES), "load", "--all", "--wait", "300", *map(str, files)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=600)[0] for process in loads]
    assert [process.returncode for process in loads] == [0, 0], outputs
    assert all(f"Loaded {delivered:,} rows" in output for output in outputs), outputs
    with open_warehouse(settings) as wh:
        rows, distinct = wh.rows(
            f"select count(*), count(distinct concat(source_file, ':', cast(source_row as string)))"
            f" from {settings.raw_relation} where {EVERY_DATE}"
        )[0]
    assert rows == distinct == delivered


def test_bigquery_a_load_waits_for_a_backfill_then_refuses_naming_it(bigquery_emulator, played, tmp_path):
    settings = bigquery_emulator.settings(tmp_path / "unused.duckdb")
    with open_warehouse(settings) as wh:
        ledger.create_tables(wh)
        ledger.start_run(wh, "otherhost001", datetime.now(), "backfill")
        assert ledger.swap_holder(wh, None, ledger.Holder("otherhost001", "elsewhere", 4321, datetime.now()))
    env = {
        "SHOTZONES_TARGET": "bigquery",
        "SHOTZONES_BQ_PROJECT": settings.bq_project,
        "SHOTZONES_BQ_API_ENDPOINT": settings.bq_api_endpoint,
        "SHOTZONES_BQ_TOKEN": settings.bq_token,
    }
    started = time.monotonic()
    refused = CliRunner().invoke(main, ["load", "--wait", "2", str(game_files(played)[0])], env=env)
    assert refused.exit_code == 2, refused.output
    assert time.monotonic() - started >= 2
    for named in ("otherhost001", "elsewhere", "pid 4321", "shotzones unlock otherhost001"):
        assert named in refused.output
    with open_warehouse(settings) as wh:
        assert not wh.table_exists(settings.raw_table, settings.raw_schema)  # nothing loaded


# --- a code or var change in the nightly run ---------------------------------------------------


def test_update_says_every_rebuild_for_a_var_change_and_why(played, tmp_path):
    """A var switched for one run and back: each update says what it rebuilds, per model, why
    (the var's old and new value) and how many partitions, in text and in --json."""
    settings = replace(Settings(), duckdb_path=tmp_path / "w.duckdb")
    assert cli(settings, "update", played).exit_code == 0
    partitions = query(settings, "select count(*) as n from shotzones_ledger")[0]["n"] // 2

    legacy = cli(settings, "update", played, "--vars", "{zone_scheme: legacy_distance}")
    assert legacy.exit_code == 0, legacy.output
    for model in ("int_player_game_shot_zones", "player_shot_zone_features"):
        said = [line for line in legacy.output.splitlines() if line.startswith(f"Rebuild: code changed: {model} (")]
        assert len(said) == 1, legacy.output
        assert "var zone_scheme 'official' -> 'legacy_distance'" in said[0] or "reads int_player" in said[0]
        assert said[0].endswith(f": {partitions} partitions, beside the live table"), said[0]

    back = cli(settings, "update", played, "--json")
    assert back.exit_code == 0, back.output
    rebuilds = [e for e in map(json.loads, back.stdout.splitlines()) if e["event"] == "rebuild"]
    assert [e["model"] for e in rebuilds] == ["int_player_game_shot_zones", "player_shot_zone_features"]
    assert "var zone_scheme 'legacy_distance' -> 'official'" in rebuilds[0]["reason"]
    assert {e["partitions"] for e in rebuilds} == {partitions} and all(e["allowed"] for e in rebuilds)
    assert "Rebuild" not in cli(settings, "update", played).output, "nothing changed: nothing rebuilt"
