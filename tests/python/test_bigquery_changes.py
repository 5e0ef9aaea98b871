"""Changes on BigQuery, through the real dbt-bigquery adapter against the local emulator, in one
warehouse's life: slates logged as served; a corrected re-delivery that `skew` names row by row
while the training set as served stays as served; then a schema change and a var change, built
beside the live table in waves within the per-job partition limit and copied over it whole (its
partitioning kept, the ledger moved, the rows DuckDB's); and a nightly `update` that says what a
code change would rebuild, with its estimate, and builds nothing without --allow-rebuild."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SEED, edit
from test_bigquery import assert_same_rows, table_rows

from shotzones import feature_log
from shotzones.backfill import Options, backfill, plan, plan_waves
from shotzones.generate import generate
from shotzones.load import load, load_schedule
from shotzones.nightly import update
from shotzones.planning import FEATURES, partitions_named
from shotzones.serving import pregame_features, served_training_set, training_set
from shotzones.settings import MODEL_READY, Settings
from shotzones.skew import BOTH, CODE, DATA, skew
from shotzones.status import status
from shotzones.warehouse import open_warehouse

FEATURES_SQL = Path("models") / "marts" / "player_shot_zone_features.sql"
FINAL_CTE = """    select * from windowed
    where {{ in_batch('game_date') }}"""
LIMIT = 4  # partitions a job may modify: a rebuild takes several waves
KEY = ("game_id", "player_lookup")


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("week")
    generate(out, 2022, seasons=1, seed=SEED, max_dates_per_season=7)
    return out


def keyed(rows: list[dict]) -> dict[tuple, dict]:
    return {tuple(row[k] for k in KEY): row for row in rows}


def redelivered(original: Path, directory: Path) -> Path:
    """The game again, with every unassisted make assisted."""
    rows = list(csv.DictReader(original.open(newline="", encoding="utf-8")))
    for row in rows:
        if row["event_type"].lower() == "shot" and (row["result"] or "").lower() == "made" and not row["assist"]:
            row["assist"] = next(row[c] for c in ("a1", "a2", "h1", "h2") if row[c] and row[c] != row["player"])
    path = directory / original.name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_served_corrected_and_changed_on_bigquery(bigquery_emulator, week, project, tmp_path):
    settings = replace(bigquery_emulator.settings(tmp_path / "warehouse.duckdb"), bq_max_partitions_per_job=LIMIT)
    load(settings, [week])
    load_schedule(settings, [week / "schedule.csv"])
    assert backfill(settings).success
    days = sorted({p.game_date for p in status(settings).partitions})

    # the slates of the last three dates, logged as each night would have served them
    served: dict[tuple, dict] = {}
    for day in days[4:]:
        slate = pregame_features(settings, day).table
        feature_log.append(settings, slate, "features")
        served |= keyed(slate.to_pylist())
    assert skew(settings).differences == []
    exported = keyed(served_training_set(settings, days[2]).table.to_pylist())
    assert exported and all({c: row[c] for c in served[key]} == served[key] for key, row in exported.items())

    # BigDataBall re-delivers a game of the third date: named row by row, and the training set
    # as served stays as served
    corrected = sorted(week.rglob(f"[[]{days[2]}]*.csv"))[0]
    game_id = "00" + corrected.name.split("-00")[1][:8]
    load(settings, [redelivered(corrected, tmp_path)])
    assert backfill(settings).success
    report = skew(settings)
    affected = {(d.game_id, d.player_lookup) for d in report.differences}
    assert affected and report.counts()[DATA] == len(affected)
    assert all((game_id, days[2]) in d.games or d.league_games for d in report.differences)
    plain = keyed(training_set(settings, days[2]).table.to_pylist())
    as_served = keyed(served_training_set(settings, days[2]).table.to_pylist())
    assert {k for k, row in as_served.items() if any(row[c] != plain[k][c] for c in served[k])} == affected
    assert all({c: row[c] for c in served[key]} == served[key] for key, row in as_served.items())

    # a column added to the features and a var changed: rebuilt beside, swapped in
    edit(project / FEATURES_SQL, FINAL_CTE, FINAL_CTE.replace("select *", "select *, 1 as newcomer_marker"))
    changed = replace(settings, project_dir=project, dbt_vars="{rate_method: per_game_mean}")
    planned = plan(changed, Options())
    assert {(b.models, b.beside) for b in planned} == {((FEATURES,), True)}
    assert any("columns added newcomer_marker (INTEGER)" in r for b in planned for r in b.reasons)
    result = backfill(changed, Options(workers=1))
    assert result.success and result.swapped == [FEATURES]
    beside_waves = plan_waves(changed, result.planned, 1)
    assert max(map(partitions_named, beside_waves)) <= LIMIT and len(beside_waves) > 1
    with open_warehouse(changed) as wh:
        table = wh.client.get_table(wh.relation(FEATURES))
        assert not wh.table_exists(FEATURES + "__next")
        model_ready = wh.rows(f"select count(*) from {wh.relation(MODEL_READY)}")[0][0]
    assert "newcomer_marker" in [field.name for field in table.schema]
    assert (table.time_partitioning.field, table.clustering_fields) == ("game_date", ["player_lookup"])
    assert {p.state for p in status(changed).partitions} == {"done"}
    duckdb = replace(Settings(), duckdb_path=tmp_path / "duckdb.duckdb", project_dir=project, dbt_vars=changed.dbt_vars)
    load(duckdb, [week])
    load(duckdb, [redelivered(corrected, tmp_path)])
    assert backfill(duckdb).success
    expected = table_rows(duckdb, FEATURES)
    assert_same_rows(table_rows(changed, FEATURES), expected)
    assert model_ready == len(expected)
    causes = {(d.game_id, d.player_lookup): d for d in skew(changed).differences}
    assert affected <= causes.keys() and {causes[key].cause for key in affected} == {BOTH}
    assert CODE in {d.cause for d in causes.values()}
    assert all("var rate_method 'pooled' -> 'per_game_mean'" in " ".join(d.code) for d in causes.values())

    # the nightly run meets another var: said, estimated, and not built without --allow-rebuild
    experiment = replace(changed, dbt_vars="{rate_method: per_game_mean, window_scope: season}")
    declined = update(experiment, [week])
    assert declined.backfilled.declined and declined.exit_code == 1
    assert [(r.model, r.partitions) for r in declined.rebuilds] == [(FEATURES, len(days))]
    assert "var window_scope 'all' -> 'season'" in declined.rebuilds[0].why
    assert declined.rebuild_bytes is not None and not declined.rebuild_allowed  # the emulator plans 0 bytes
    assert_same_rows(table_rows(changed, FEATURES), expected)
    assert {p.state for p in status(experiment).partitions if p.model == FEATURES} == {"stale"}
