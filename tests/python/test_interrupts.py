"""Ctrl-C (SIGINT) and SIGTERM during a real `shotzones backfill` process: one line saying so,
exit 130 / 143, the run recorded `interrupted`, the lock released, and the ledger as true as
after a kill -9: nothing done becomes failed, what the interrupted wave had not recorded is
left as it was, and no wave starts after the signal. And Ctrl-C during a load's reading."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import query

from shotzones.generate import generate
from shotzones.load import load
from shotzones.settings import Settings
from shotzones.status import status

SHOTZONES = Path(sys.executable).parent / "shotzones"
WAIT_SECONDS = 300


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("interrupts")
    generate(out, 2022, seasons=1, seed=5, max_dates_per_season=8)
    return out


@pytest.fixture
def settings(files, tmp_path) -> Settings:
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    load(settings, [files])
    return settings


def interrupt_backfill(settings: Settings, signum: int, *args: str) -> tuple[int, list[dict], str]:
    """Run `shotzones backfill --json` one batch of two dates a wave; once the second wave has
    started, send `signum`. Returns the exit code, the JSON events and stderr."""
    process = subprocess.Popen(
        [str(SHOTZONES), "backfill", "--json", "--batch-days", "2", "--workers", "1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"SHOTZONES_DUCKDB": str(settings.duckdb_path), "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        for line in process.stdout:
            lines.append(line)
            if [json.loads(seen)["event"] for seen in lines].count("started") == 2:
                # inside the second wave's dbt run: in its setup (loading the saved parse and
                # the adapter, over a second), as a wave of two dates may take only a second
                time.sleep(0.2)
                process.send_signal(signum)
                break
            assert time.monotonic() < deadline, "the backfill never reached its second wave"
        stdout, stderr = process.communicate(timeout=WAIT_SECONDS)
    finally:
        process.kill()
    lines += stdout.splitlines()
    return process.returncode, [json.loads(line) for line in lines], stderr  # every line is JSON


def ledger(settings: Settings) -> dict[tuple[str, str], str]:
    rows = query(settings, "select model, game_date, state from shotzones_ledger")
    return {(row["model"], row["game_date"].isoformat()): row["state"] for row in rows}


def last_run_and_lock(settings: Settings) -> tuple[str, str | None]:
    outcome = query(settings, "select outcome from shotzones_runs order by started_at desc limit 1")[0]["outcome"]
    holder = query(settings, "select run_id from shotzones_lock")[0]["run_id"]
    return outcome, holder


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_backfill_and_keeps_what_it_recorded(settings, signum, exit_code):
    code, events, stderr = interrupt_backfill(settings, signum)

    assert code == exit_code, stderr
    name = signal.Signals(signum).name
    assert stderr.strip().splitlines() == [stderr.strip()] and f"interrupted ({name})" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    kinds = [event["event"] for event in events]
    # the first wave finished, the second started and stopped, no third one started
    assert kinds.count("done") == 1 and kinds.count("started") == 2 and "failed" not in kinds
    assert events[-1]["event"] == "finished" and events[-1]["outcome"] == "interrupted"
    assert events[-1]["signal"] == name and events[-1]["done"] == 4

    first = next(event for event in events if event["event"] == "done")
    recorded = ledger(settings)
    assert set(recorded.values()) == {"done"}
    assert {day for _, day in recorded} == {first["start"], first["end"]}
    assert last_run_and_lock(settings) == ("interrupted", None)
    by_state = {}
    for partition in status(settings).partitions:
        by_state.setdefault(partition.state, set()).add(partition.game_date.isoformat())
    assert by_state["done"] == {first["start"], first["end"]}
    assert set(by_state) == {"done", "pending"}  # the interrupted wave's dates too

    # and the next run finishes the rest
    assert backfill_all(settings).returncode == 0
    assert {p.state for p in status(settings).partitions} == {"done"}


def backfill_all(settings: Settings) -> subprocess.CompletedProcess:
    """In another process: dbt keeps the DuckDB file open in this one."""
    env = os.environ | {"SHOTZONES_DUCKDB": str(settings.duckdb_path)}
    return subprocess.run([str(SHOTZONES), "backfill"], capture_output=True, text=True, env=env)


def test_an_interrupted_forced_rebuild_leaves_done_partitions_done(settings):
    assert backfill_all(settings).returncode == 0
    before = ledger(settings)

    code, events, stderr = interrupt_backfill(settings, signal.SIGINT, "--force")

    assert code == 130, stderr
    assert ledger(settings) == before  # nothing done became failed
    assert {p.state for p in status(settings).partitions} == {"done"}  # nor stale
    assert last_run_and_lock(settings) == ("interrupted", None)
    # the hint names the command that resumes it: a plain backfill finds nothing to do
    recorded = [e["start"] for e in events if e["event"] == "done"]
    dates = sorted({day for (_, day) in before})
    left = dates[dates.index(recorded[-1]) + 2 :] if recorded else dates
    hint = f"`shotzones backfill --start {left[0]} --end {left[-1]} --force` builds the rest"
    assert hint in stderr, stderr


def test_ctrl_c_while_a_load_reads_its_bundles_says_interrupted_and_loads_nothing(tmp_path):
    """SIGINT while `shotzones load` has its second bundle of files open (load/bundles.py: 64 MB
    each, while the next is written): exit 130, one line, no traceback or ignored exception, and
    the load's transaction rolled back."""
    files = tmp_path / "files"
    generate(files, 2022, seasons=1, seed=5, max_dates_per_season=80)  # about 90 MB
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    process = subprocess.Popen(
        [str(SHOTZONES), "load", str(files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"SHOTZONES_DUCKDB": str(settings.duckdb_path)},
    )
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while "bundle-1.csv" not in _open_files(process.pid):
            assert process.poll() is None, "the load finished before its second bundle was seen open"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=WAIT_SECONDS)[0]
    finally:
        process.kill()
    assert process.returncode == 130, output
    assert output.strip() == "interrupted", output
    assert query(settings, "select count(*) as n from nba_raw.bigdataball_play_by_play")[0]["n"] == 0


def _open_files(pid: int) -> list[str]:
    """The files a process has open, those still open while they are read."""
    names = []
    for entry in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            names.append(os.path.basename(os.readlink(entry)))
        except OSError:
            pass
    return names
