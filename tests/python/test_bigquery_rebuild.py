"""A schema change on BigQuery, through the real dbt-bigquery adapter against the local emulator:
the new version is built beside the live table in waves within the per-job partition limit,
then copied over it whole; the live table keeps its partitioning, the ledger moves with it, and
the rows are DuckDB's. And the nightly `update` there rebuilds for a code change only when
allowed, after saying what and at what estimate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SEED, edit
from test_bigquery import assert_same_rows, table_rows

from shotzones.backfill import Options, backfill, plan, plan_waves
from shotzones.generate import generate
from shotzones.load import load
from shotzones.nightly import update
from shotzones.planning import FEATURES, partitions_named
from shotzones.settings import Settings
from shotzones.status import status
from shotzones.warehouse import open_warehouse

FEATURES_SQL = Path("models") / "marts" / "player_shot_zone_features.sql"
FINAL_CTE = """    select * from windowed
    where {{ in_batch('game_date') }}"""
LIMIT = 4  # partitions a job may modify: the rebuild beside takes several waves


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("week")
    generate(out, 2022, seasons=1, seed=SEED, max_dates_per_season=6)
    return out


def test_a_schema_change_is_rebuilt_beside_and_swapped_in_on_bigquery(bigquery_emulator, week, project, tmp_path):
    settings = replace(bigquery_emulator.settings(tmp_path / "warehouse.duckdb"), bq_max_partitions_per_job=LIMIT)
    load(settings, [week])
    assert backfill(settings).success
    edit(project / FEATURES_SQL, FINAL_CTE, FINAL_CTE.replace("select *", "select *, 1 as newcomer_marker"))
    changed = replace(settings, project_dir=project)

    planned = plan(changed, Options())
    assert {(b.models, b.beside) for b in planned} == {((FEATURES,), True)}
    assert any("columns added newcomer_marker (INTEGER)" in r for b in planned for r in b.reasons)
    result = backfill(changed, Options(workers=1))
    assert result.success and result.swapped == [FEATURES]
    beside_waves = plan_waves(changed, result.planned, 1)
    assert max(map(partitions_named, beside_waves)) <= LIMIT and len(beside_waves) > 1

    with open_warehouse(changed) as wh:
        table = wh.client.get_table(wh.relation(FEATURES))
        assert "newcomer_marker" in [field.name for field in table.schema]
        assert not wh.table_exists(FEATURES + "__next")
        served = wh.rows(f"select count(*) from {wh.relation('player_shot_zone_features_model_ready')}")[0][0]
    assert (table.time_partitioning.field, table.clustering_fields) == ("game_date", ["player_lookup"])
    assert {p.state for p in status(changed).partitions} == {"done"}

    duckdb = replace(Settings(), duckdb_path=tmp_path / "duckdb.duckdb", project_dir=project)
    load(duckdb, [week])
    assert backfill(duckdb).success
    expected = table_rows(duckdb, FEATURES)
    assert_same_rows(table_rows(changed, FEATURES), expected)
    assert served == len(expected)

    # a var changed for the nightly run: said, estimated, and not built without --allow-rebuild
    experiment = replace(changed, dbt_vars="{rate_method: per_game_mean}")
    declined = update(experiment, [week])
    assert declined.backfilled.declined and declined.exit_code == 1
    assert [(r.model, r.partitions) for r in declined.rebuilds] == [(FEATURES, len(status(changed).partitions) // 2)]
    assert "var rate_method 'pooled' -> 'per_game_mean'" in declined.rebuilds[0].why
    assert declined.rebuild_bytes is not None and not declined.rebuild_allowed  # the emulator plans 0 bytes
    assert_same_rows(table_rows(changed, FEATURES), expected)
    assert {p.state for p in status(experiment).partitions if p.model == FEATURES} == {"stale"}
