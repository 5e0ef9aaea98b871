"""The runner: any order, batch size, worker count or crash ends in the tables of one clean
full build, and `status` tells the truth about every partition."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, query

from shotzones import ledger, retry
from shotzones.backfill import Options, backfill
from shotzones.cli import main
from shotzones.generate import generate
from shotzones.load import load
from shotzones.planning import FEATURES, MODELS, PLAYER_GAMES
from shotzones.settings import Settings
from shotzones.status import status
from shotzones.warehouse import connect, open_warehouse
from shotzones.waves import WaveOutcome

SHOTZONES = Path(sys.executable).parent / "shotzones"


def table_rows(settings: Settings, table: str) -> list[tuple]:
    return [tuple(row.values()) for row in query(settings, f"select * from {table} order by all")]


def assert_same_tables(settings: Settings, clean: Settings) -> None:
    for table in MODELS:
        assert table_rows(settings, table) == table_rows(clean, table), table
        duplicates = query(
            settings,
            f"select count(*) - count(distinct (game_id, player_lookup)) as n from {table}",
        )[0]["n"]
        assert duplicates == 0, table


@pytest.fixture(scope="module")
def small_files(tmp_path_factory) -> Path:
    """Six dates of each of two seasons: windows cross the season and the format change."""
    out = tmp_path_factory.mktemp("small")
    generate(out, 2018, seasons=2, seed=11, max_dates_per_season=6)
    return out


def loaded(directory: Path, files: Path) -> Settings:
    settings = replace(Settings(), duckdb_path=directory / "warehouse.duckdb")
    load(settings, [files])
    return settings


@pytest.fixture(scope="module")
def clean(small_files, tmp_path_factory) -> Settings:
    settings = loaded(tmp_path_factory.mktemp("clean"), small_files)
    result = backfill(settings)
    assert result.success and len(result.planned) == 1, "everything pending runs as one batch"
    return settings


def dates_of(settings: Settings) -> list:
    return [
        r["d"]
        for r in query(settings, "select distinct game_date as d from nba_raw.bigdataball_play_by_play order by 1")
    ]


@pytest.mark.parametrize(("batch_days", "workers"), [(1, 4), (7, 1), (7, 4), (None, 1)])
def test_batch_sizes_and_workers_give_identical_tables(small_files, clean, tmp_path, batch_days, workers):
    settings = loaded(tmp_path, small_files)
    result = backfill(settings, Options(batch_days=batch_days, workers=workers))
    assert result.success
    assert_same_tables(settings, clean)


def test_second_half_first_gives_identical_tables(small_files, clean, tmp_path):
    settings = loaded(tmp_path, small_files)
    dates = dates_of(settings)
    middle = dates[len(dates) // 2]
    second = backfill(settings, Options(start=middle, batch_days=3, workers=2))
    assert second.success
    # the features of the second half needed the first half's player-games: built first
    assert any(b.models == (PLAYER_GAMES,) and b.end < middle for b in second.planned)
    first = backfill(settings, Options(end=middle, batch_days=3, workers=2))
    assert first.success
    assert_same_tables(settings, clean)
    assert backfill(settings).planned == []


def test_kill_9_at_random_moments_then_resume(small_files, clean, tmp_path):
    settings = loaded(tmp_path, small_files)
    env = {**os.environ, "SHOTZONES_DUCKDB": str(settings.duckdb_path)}
    command = [str(SHOTZONES), "backfill", "--batch-days", "2", "--workers", "1"]
    moments = random.Random(20261129)
    kills = 0
    for _ in range(6):
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(moments.uniform(1.0, 6.0))
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    assert kills >= 2, "the backfill should have been killed mid-way at least twice"
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert_same_tables(settings, clean)
    counts = status(settings).counts()
    assert all(counts[m]["done"] == len(dates_of(settings)) for m in MODELS), counts


def test_status_is_exact_after_a_partial_backfill(small_files, tmp_path):
    settings = loaded(tmp_path, small_files)
    dates = dates_of(settings)
    assert backfill(settings, Options(end=dates[3])).success
    result = CliRunner().invoke(main, ["status", "--json"], env={"SHOTZONES_DUCKDB": str(settings.duckdb_path)})
    assert result.exit_code == 3, result.output  # some partitions pending
    *partitions, summary = [json.loads(line) for line in result.stdout.splitlines()]
    for model in MODELS:
        assert summary["models"][model] == {"done": 4, "pending": len(dates) - 4, "failed": 0, "stale": 0}
    states = {(p["model"], p["date"]): p["state"] for p in partitions}
    assert states[(FEATURES, dates[3].isoformat())] == "done"
    assert states[(FEATURES, dates[4].isoformat())] == "pending"

    # finished is proven by the warehouse: rows deleted behind the ledger's back are not done
    with connect(settings) as con:
        con.execute(f"delete from {FEATURES} where game_date = ?", [dates[1]])
    partition = next(p for p in status(settings).partitions if p.model == FEATURES and p.game_date == dates[1])
    assert partition.state == "pending" and "the table holds 0" in partition.reason


def test_a_second_backfill_is_refused_naming_the_holder(clean):
    with open_warehouse(clean) as wh:
        ledger.acquire_lock(wh, "othersrun001", ledger.datetime.now())  # held by this live process
    try:
        result = CliRunner().invoke(main, ["backfill", "--force"], env={"SHOTZONES_DUCKDB": str(clean.duckdb_path)})
    finally:
        with open_warehouse(clean) as wh:
            ledger.release_lock(wh, "othersrun001")
    assert result.exit_code == 2
    assert f"pid {os.getpid()}" in result.output and "othersrun001" in result.output


def test_a_lock_left_by_a_dead_process_is_recovered(small_files, tmp_path):
    settings = loaded(tmp_path, small_files)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with open_warehouse(settings) as wh:
        ledger.create_tables(wh)
        dead_holder = ledger.Holder("deadrun00001", os.uname().nodename, int(dead.stdout), ledger.datetime.now())
        assert ledger.swap_holder(wh, None, dead_holder)
    result = backfill(settings)
    assert result.success and result.recovered_lock.run_id == "deadrun00001"


def test_a_lock_held_from_another_host_is_released_by_unlock(small_files, tmp_path):
    """Another host's holder cannot be checked from here: refused, until the user says it is
    dead with `shotzones unlock`, which records that run as abandoned."""
    settings = loaded(tmp_path, small_files)
    env = {"SHOTZONES_DUCKDB": str(settings.duckdb_path)}
    with open_warehouse(settings) as wh:
        ledger.create_tables(wh)
        ledger.start_run(wh, "otherhost001", ledger.datetime.now(), "backfill")
        assert ledger.swap_holder(wh, None, ledger.Holder("otherhost001", "elsewhere", 1, ledger.datetime.now()))

    refused = CliRunner().invoke(main, ["backfill"], env=env)
    assert refused.exit_code == 2
    assert "elsewhere" in refused.output and "shotzones unlock otherhost001" in refused.output

    wrong = CliRunner().invoke(main, ["unlock", "notthisrun00"], env=env)
    assert wrong.exit_code == 2 and "run otherhost001 holds it" in wrong.output

    released = CliRunner().invoke(main, ["unlock", "otherhost001"], env=env)
    assert released.exit_code == 0, released.output
    assert "released the lock of run otherhost001 on elsewhere" in released.output
    with open_warehouse(settings) as wh:
        assert wh.rows(f"select outcome from {ledger.RUNS} where run_id = 'otherhost001'") == [("abandoned",)]
    assert backfill(settings).success


def test_a_transient_error_is_retried_to_success(clean):
    """A competing transaction holds the rows the batch replaces: DuckDB reports a write
    conflict, the runner backs off, drops its concurrency and tries again."""
    dates = dates_of(clean)
    released, retried = threading.Event(), threading.Event()

    def hold_rows(event):
        if event.kind == "retry":
            retried.set()
        if event.kind == "started" and not released.is_set():
            released.set()

            def hold():
                # held until the runner has met the conflict and backs off, however long dbt
                # takes to reach the model
                with connect(clean) as con:
                    con.execute("begin transaction")
                    con.execute(f"delete from {PLAYER_GAMES} where game_date = ?", [dates[0]])
                    retried.wait(timeout=300)
                    con.execute("rollback")

            threading.Thread(target=hold, daemon=True).start()
            time.sleep(0.3)

    events = []
    result = backfill(
        clean,
        Options(start=dates[0], end=dates[0], force=True, backoff_seconds=1.0),
        on_event=lambda event: (events.append(event), hold_rows(event)),
    )
    assert [e.kind for e in events].count("retry") >= 1, [(e.kind, e.error) for e in events]
    assert result.success


def test_only_an_error_is_transient_never_a_test_that_found_rows():
    """A data test that returned 503 rows says `503` too: it failed, and a retry would find the
    same rows. A warehouse that answered 503 raised an error: that is worth a retry."""
    found_rows = WaveOutcome(
        {PLAYER_GAMES: {None: ["shots_without_shooter fail: Got 503 results, configured to fail if != 0"]}}, {}
    )
    assert found_rows.failure_text() and not found_rows.transient
    unavailable = "int_player_game_shot_zones error: 503 Service Unavailable"
    assert WaveOutcome({PLAYER_GAMES: {None: [unavailable]}}, {}, errors=[unavailable]).transient
    assert WaveOutcome({}, {}, error="dbt run failed: Could not set lock on file").transient


def test_one_retry_policy_doubles_a_waves_delay_and_waits_for_a_lock_row_until_its_deadline(monkeypatch):
    waits = [retry.Backoff(2.0).delay(attempt) for attempt in (1, 2, 3)]
    assert all(low <= wait <= high for wait, (low, high) in zip(waits, ((1, 3), (2, 6), (4, 12))))
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    tries = []

    def conflicting(times: int):
        """A write that meets another command's write `times` times, then succeeds."""
        tries.append(None)
        if len(tries) <= times:
            raise RuntimeError("Transaction conflict")
        return "written"

    assert retry.until(time.monotonic() + 60, lambda: conflicting(2)) == "written"
    assert slept == [1.0, 1.0]
    tries.clear()
    with pytest.raises(RuntimeError, match="conflict"):  # past the deadline: what it raised
        retry.until(time.monotonic() - 1, lambda: conflicting(1))
    with pytest.raises(ValueError):  # not transient: raised at once
        retry.until(time.monotonic() + 60, lambda: int("not a number"))
    assert slept == [1.0, 1.0]


def test_a_permanent_error_fails_its_partitions_while_other_batches_finish(small_files, clean, tmp_path):
    settings = loaded(tmp_path, small_files)
    dates = dates_of(settings)
    broken = dates[7]
    with connect(settings) as con:  # the delivered date now disagrees with the game's date
        con.execute("update nba_raw.bigdataball_play_by_play set date = '1/1/1999' where game_date = ?", [broken])
    result = backfill(settings, Options(batch_days=2, workers=4))
    assert not result.success
    # the failing test names the date: its batch partner still finishes
    assert {(e.model, e.game_date) for e in result.failed} == {(m, broken) for m in MODELS}
    assert all("expression_is_true_stg_bigdataball__play_by_play" in e.error for e in result.failed)
    counts = status(settings).counts()
    assert counts[PLAYER_GAMES]["done"] == len(dates) - 1
    assert counts[FEATURES]["done"] == 7
    # later features were built, but read a failed partition: stale until it is fixed
    assert counts[FEATURES]["stale"] == 4 and counts[FEATURES]["failed"] == 1

    cli = CliRunner().invoke(main, ["backfill"], env={"SHOTZONES_DUCKDB": str(settings.duckdb_path)})
    assert cli.exit_code == 1


def test_a_failing_model_never_fails_the_partitions_it_reads(clean, project, tmp_path):
    """The features model fails in a wave that builds the player-games of its dates: what is
    downstream of the features is skipped, which fails nothing, and the player-games are done."""
    with connect(clean) as con:
        con.execute("checkpoint")  # everything in the file, nothing left in its WAL
    settings = replace(clean, duckdb_path=Path(shutil.copy(clean.duckdb_path, tmp_path / "warehouse.duckdb")))
    edit(
        project / "models" / "marts" / "player_shot_zone_features.sql",
        "    where {{ in_batch('game_date') }}\n",
        "    where {{ in_batch('game_date') }}\n        and error('the features are broken') is null\n",
    )
    dates = dates_of(settings)
    wave = dates[3:7]
    result = backfill(replace(settings, project_dir=project), Options(start=wave[0], end=wave[-1], force=True))
    assert not result.success
    assert len(result.planned) == 1, "one wave"
    now = {(p.model, p.game_date): p for p in status(settings).partitions}  # under the working code
    failed = {key for key, p in now.items() if p.state == "failed"}
    assert failed == {(FEATURES, day) for day in wave}
    assert all("the features are broken" in now[key].reason for key in failed)
    assert {key for key, p in now.items() if p.state == "done"} == {(m, d) for m in MODELS for d in dates} - failed
