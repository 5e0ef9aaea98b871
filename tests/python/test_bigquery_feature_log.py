"""The feature log on BigQuery, through the real dbt-bigquery adapter against the local emulator:
slates logged as served, a training set read back from the log as served, and `skew` naming the
rows a corrected re-delivery and a var change make differ, as on DuckDB."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SEED

from shotzones import feature_log
from shotzones.backfill import backfill
from shotzones.generate import generate
from shotzones.load import load, load_schedule
from shotzones.serving import pregame_features, served_training_set, training_set
from shotzones.skew import BOTH, CODE, DATA, skew
from shotzones.warehouse import open_warehouse

KEY = ("game_id", "player_lookup")


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("week")
    generate(out, 2022, seasons=1, seed=SEED, max_dates_per_season=7)
    return out


def keyed(rows: list[dict]) -> dict[tuple, dict]:
    return {tuple(row[k] for k in KEY): row for row in rows}


def test_the_log_the_served_training_set_and_skew_on_bigquery(bigquery_settings, week, tmp_path):
    settings = bigquery_settings
    load(settings, [week])
    load_schedule(settings, [week / "schedule.csv"])
    assert backfill(settings).success
    with open_warehouse(settings) as wh:
        days = [
            row[0]
            for row in wh.rows(f"select distinct game_date from {wh.relation('player_shot_zone_features')} order by 1")
        ]
    served: dict[tuple, dict] = {}
    for day in days[2:]:  # `features --date D --log`, as each night would have served it
        slate = pregame_features(settings, day).table
        feature_log.append(settings, slate, "features")
        served |= keyed(slate.to_pylist())
    assert skew(settings).differences == []
    exported = keyed(served_training_set(settings, days[2]).table.to_pylist())
    assert exported and all({c: row[c] for c in served[key]} == served[key] for key, row in exported.items())

    # BigDataBall re-delivers a game of the third date: every unassisted make now assisted
    corrected = sorted(week.rglob(f"[[]{days[2]}]*.csv"))[0]
    game_id = "00" + corrected.name.split("-00")[1][:8]
    rows = list(csv.DictReader(corrected.open(newline="", encoding="utf-8")))
    for row in rows:
        if row["event_type"].lower() == "shot" and (row["result"] or "").lower() == "made" and not row["assist"]:
            row["assist"] = next(row[c] for c in ("a1", "a2", "h1", "h2") if row[c] and row[c] != row["player"])
    redelivered = tmp_path / corrected.name
    with redelivered.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    load(settings, [redelivered])
    assert backfill(settings).success

    report = skew(settings)
    affected = {(d.game_id, d.player_lookup) for d in report.differences}
    assert affected and report.counts()[DATA] == len(affected)
    assert all((game_id, days[2]) in d.games or d.league_games for d in report.differences)
    plain = keyed(training_set(settings, days[2]).table.to_pylist())
    as_served = keyed(served_training_set(settings, days[2]).table.to_pylist())
    assert {k for k, row in as_served.items() if any(row[c] != plain[k][c] for c in served[k])} == affected
    assert all({c: row[c] for c in served[key]} == served[key] for key, row in as_served.items())

    per_game = replace(settings, dbt_vars="{rate_method: per_game_mean}")
    assert backfill(per_game).success
    causes = {(d.game_id, d.player_lookup): d.cause for d in skew(per_game).differences}
    assert affected <= causes.keys() and {causes[key] for key in affected} == {BOTH}
    assert CODE in causes.values()
