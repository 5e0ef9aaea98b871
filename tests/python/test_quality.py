"""Data-quality gates: a partition whose tests fail is recorded failed, by name, and the
healthy ones still finish."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from conftest import query

from shotzones.backfill import Options, backfill
from shotzones.cli import main
from shotzones.generate import generate
from shotzones.load import load
from shotzones.planning import MODELS
from shotzones.settings import Settings
from shotzones.status import status
from shotzones.warehouse import connect
from shotzones.waves import _measured, failures_by_date


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("quality")
    generate(out, 2022, seasons=1, seed=5, max_dates_per_season=12)
    return out


@pytest.fixture
def settings(files, tmp_path) -> Settings:
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    load(settings, [files])
    return settings


def dates_of(settings: Settings) -> list:
    return [
        r["d"]
        for r in query(settings, "select distinct game_date as d from nba_raw.bigdataball_play_by_play order by 1")
    ]


def lose_coordinates(settings: Settings, day, share: float = 1.0) -> None:
    """The day's shots lose their locations, as when a tracking feed fails."""
    with connect(settings) as con:
        con.execute(
            """
            update nba_raw.bigdataball_play_by_play
            set original_x = 'unknown', original_y = 'unknown'
            where game_date = ? and event_type in ('shot', 'miss') and hash(source_file, source_row) % 1000 < ?
            """,
            [day, int(share * 1000)],
        )


def test_dates_whose_shots_lose_coordinates_fail_by_name_and_the_rest_complete(settings):
    dates = dates_of(settings)
    broken = [dates[3], dates[6], dates[9]]
    for day in broken:
        lose_coordinates(settings, day)

    result = CliRunner().invoke(main, ["backfill"], env={"SHOTZONES_DUCKDB": str(settings.duckdb_path)})
    assert result.exit_code == 1, result.output
    for day in broken:
        assert str(day) in result.output
    assert "shots_without_coordinates" in result.output

    partitions = status(settings).partitions
    failed = {(p.model, p.game_date) for p in partitions if p.state == "failed"}
    assert failed == {(model, day) for model in MODELS for day in broken}
    assert all("shots_without_coordinates" in p.reason for p in partitions if p.state == "failed")
    # every other date completes; the features after the first failure read it, so they are
    # stale until it is fixed
    player_games_done = {p.game_date for p in partitions if p.model == MODELS[0] and p.state == "done"}
    assert player_games_done == set(dates) - set(broken)
    features = {p.game_date: p.state for p in partitions if p.model == MODELS[1] and p.game_date not in broken}
    assert features == {d: "done" if d < broken[0] else "stale" for d in features}


def test_a_share_in_the_warn_band_warns_and_the_date_is_done(settings):
    dates = dates_of(settings)
    lose_coordinates(settings, dates[4], share=0.10)  # above 5 % (warn), below 25 % (error)
    events = []
    result = backfill(settings, Options(), on_event=events.append)
    assert result.success
    warnings = [e.error for e in events if e.kind == "warning"]
    assert len(warnings) == 1, warnings
    assert re.fullmatch(
        rf"{dates[4]}: shots_without_coordinates: original_x is NULL in [\d,]+ of [\d,]+ rows \((\d+\.\d)%\),"
        r" above the 5\.0% warning bound \(25\.0% allowed\) \(rows in \S+\.shots_without_coordinates\)",
        warnings[0],
    ), warnings
    assert {p.state for p in status(settings).partitions} == {"done"}


def test_one_test_fails_the_dates_in_its_error_band_and_warns_of_those_in_its_warn_band(settings):
    """One wave, one data test over both bands: the error-band date fails alone (a failure,
    not also a warning), the warn-band date warns and is done, like every other date."""
    dates = dates_of(settings)
    warned, broken = dates[4], dates[7]
    lose_coordinates(settings, warned, share=0.10)
    lose_coordinates(settings, broken)
    events = []
    result = backfill(settings, Options(batch_days=len(dates)), on_event=events.append)
    assert not result.success
    assert len({e.batch.start for e in events if e.kind in ("done", "failed")}) == 1, "one wave, one batch"
    warnings = [e.error for e in events if e.kind == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith(f"{warned}: shots_without_coordinates: "), warnings
    assert "warning bound" in warnings[0]

    partitions = status(settings).partitions
    failed = {(p.model, p.game_date) for p in partitions if p.state == "failed"}
    assert failed == {(MODELS[0], broken), (MODELS[1], broken)}
    reasons = {p.reason for p in partitions if p.state == "failed"}
    assert len(reasons) == 1, reasons
    assert re.fullmatch(
        r"shots_without_coordinates: original_x is NULL in [\d,]+ of [\d,]+ rows \(100\.0%\),"
        r" above the 25\.0% allowed \(rows in \S+\.shots_without_coordinates\)",
        reasons.pop(),
    )
    done = {p.game_date for p in partitions if p.model == MODELS[0] and p.state == "done"}
    assert done == set(dates) - {broken}


def test_scheduled_games_without_play_by_play_fail_their_dates(files, tmp_path):
    """The schedule lists every game; two games of one date and all games of another never
    arrive. Those dates fail by name, every other date completes. One game of ten missing on a
    third date is a warning (90 % is not below the 90 % required), and that date completes."""
    game_files = sorted(p for p in files.rglob("*.csv") if p.name != "schedule.csv")
    dates = sorted({p.name[1:11] for p in game_files})
    partly, wholly = dates[5], dates[8]
    of_date = {day: [p for p in game_files if p.name.startswith(f"[{day}]")] for day in dates}
    warned = next(day for day in dates if len(of_date[day]) == 10 and day not in (partly, wholly))
    missing = of_date[partly][:2] + of_date[wholly] + of_date[warned][:1]
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    env = {"SHOTZONES_DUCKDB": str(settings.duckdb_path)}
    runner = CliRunner()
    assert runner.invoke(main, ["load", *map(str, (p for p in game_files if p not in missing))], env=env).exit_code == 0
    assert runner.invoke(main, ["load-schedule", str(files / "schedule.csv")], env=env).exit_code == 0

    result = runner.invoke(main, ["backfill"], env=env)
    assert result.exit_code == 1, result.output
    assert "scheduled_games_with_play_by_play" in result.output
    failed = {p.game_date.isoformat() for p in status(settings).partitions if p.state == "failed"}
    assert failed == {partly, wholly}
    warnings = [line for line in result.output.splitlines() if " warning " in line]
    assert (
        len(warnings) == 1 and f": {warned}: scheduled_games_with_play_by_play: 9 of 10 scheduled games" in warnings[0]
    )
    assert "(90%), below the 100% warning bound (90% required); without any: " in warnings[0], warnings


@pytest.mark.parametrize(
    ("row", "said"),
    [
        (
            {
                "band": "error",
                "null_rate": 0.5,
                "max_rate": 0.25,
                "min_rate": None,
                "warn_max_rate": 0.05,
                "warn_min_rate": None,
            },
            "above the 25.0% allowed",
        ),
        (
            {
                "band": "warn",
                "null_rate": 0.1,
                "max_rate": 0.25,
                "min_rate": None,
                "warn_max_rate": 0.05,
                "warn_min_rate": None,
            },
            "above the 5.0% warning bound (25.0% allowed)",
        ),
        (
            {
                "band": "error",
                "null_rate": 0.001,
                "max_rate": 0.5,
                "min_rate": 0.01,
                "warn_max_rate": 0.4,
                "warn_min_rate": 0.02,
            },
            "below the 1.0% expected",
        ),
        (
            {
                "band": "warn",
                "null_rate": 0.015,
                "max_rate": 0.5,
                "min_rate": 0.01,
                "warn_max_rate": 0.4,
                "warn_min_rate": 0.02,
            },
            "below the 2.0% warning bound (1.0% expected)",
        ),
    ],
)
def test_a_null_rate_row_says_which_bound_of_which_band_it_breaks(row, said):
    """Stored failing rows of tests/generic/null_rate.sql, as the runner reports them."""
    node = SimpleNamespace(name="shots_without_coordinates", column_name="original_x")
    measured = _measured(
        node, [row | {"game_date": None, "row_count": 1000, "null_count": round(row["null_rate"] * 1000)}]
    )
    assert (
        measured
        == f"original_x is NULL in {round(row['null_rate'] * 1000):,} of 1,000 rows ({row['null_rate']:.1%}), {said}"
    )


def test_a_date_fails_where_a_stored_failure_is_outside_the_warn_band(tmp_path):
    """Which dates a failed test fails, as the runner reads its stored failures (the dbt macro
    stored_failure_bands): a banded test's dates with a row in the error band, not those whose
    rows are all in the warn band; every date a test without bands names."""
    settings = replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")
    days = [date(2022, 1, 1), date(2022, 1, 2), date(2022, 1, 3)]
    with connect(settings) as con:
        con.execute("create table banded (game_date date, band varchar)")
        con.executemany(
            "insert into banded values (?, ?)",
            [(days[0], "warn"), (days[0], "warn"), (days[1], "warn"), (days[1], "error"), (days[2], "error")],
        )
        con.execute("create table plain (game_date date, game_id varchar)")
        con.executemany("insert into plain values (?, ?)", [(days[0], "1"), (days[0], "2"), (days[2], "3")])
    bands = {
        table: {
            day: band
            for day, (band, _) in failures_by_date(
                settings, SimpleNamespace(name=table, relation_name=f"main.{table}")
            ).items()
        }
        for table in ("banded", "plain")
    }
    assert bands == {
        "banded": {days[0]: "warn", days[1]: "error", days[2]: "error"},
        "plain": {days[0]: "error", days[2]: "error"},
    }
