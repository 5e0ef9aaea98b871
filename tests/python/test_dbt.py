"""dbt on its own: the YAML unit tests, `dbt build` as a full refresh, source freshness and docs."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import timedelta

from conftest import query

from shotzones import code, dbt
from shotzones.backfill import Options, backfill
from shotzones.load import load
from shotzones.status import PLAY_BY_PLAY_SOURCE, play_by_play_freshness
from shotzones.warehouse import EVERY_DATE, connect, open_warehouse

TABLES = ("int_player_game_shot_zones", "player_shot_zone_features")


def table_rows(settings, table: str) -> list[tuple]:
    return [tuple(row.values()) for row in query(settings, f"select * from {table} order by all")]


def test_dbt_unit_tests_pass(warehouse):
    result = dbt.invoke(warehouse, ["test", "--select", "test_type:unit"], quiet=True)
    unit_tests = [r for r in result.result.results if r.node.resource_type == "unit_test"]  # not the on-run-end hook
    failed = [r.node.name for r in unit_tests if r.status != "pass"]
    assert len(unit_tests) >= 20
    assert failed == []


def test_dbt_build_on_its_own_equals_the_backfill(warehouse, generated, tmp_path):
    settings = replace(warehouse, duckdb_path=tmp_path / "dbt-build.duckdb")
    load(settings, [generated])
    for command in (["build"], ["build", "--full-refresh"]):
        result = dbt.invoke(settings, [*command, "--exclude", "test_type:unit"], quiet=True)
        assert result.success
        for table in TABLES:
            assert table_rows(settings, table) == table_rows(warehouse, table), (command, table)


def test_a_backfill_in_two_ranges_equals_one_over_everything(warehouse, generated, tmp_path):
    settings = replace(warehouse, duckdb_path=tmp_path / "halves.duckdb")
    load(settings, [generated])
    dates = [
        row["game_date"]
        for row in query(settings, "select distinct game_date from nba_raw.bigdataball_play_by_play order by 1")
    ]
    middle = dates[len(dates) // 2]
    assert backfill(settings, Options(start=dates[0], end=middle)).success
    assert backfill(settings, Options(start=middle + timedelta(days=1), end=dates[-1])).success
    for table in TABLES:
        assert table_rows(settings, table) == table_rows(warehouse, table), table


def source_freshness(settings) -> str:
    result = dbt.invoke(settings, ["source", "freshness", "--select", "source:bigdataball.play_by_play"], quiet=True)
    [checked] = [r for r in result.result.results if r.node.unique_id == PLAY_BY_PLAY_SOURCE]  # not the hook
    return str(checked.status)


def test_source_freshness_and_status_agree_the_data_is_late_only_when_it_is(warehouse, tmp_path):
    with open_warehouse(warehouse) as wh:
        assert play_by_play_freshness(wh).status == "pass"
    assert source_freshness(warehouse) == "pass", "just loaded"
    # a delivery missed for a night and a half: older than the YAML's warn_after, not its error_after
    late = replace(warehouse, duckdb_path=tmp_path / "late.duckdb")
    shutil.copy(warehouse.duckdb_path, late.duckdb_path)
    with connect(late) as con:
        con.execute(f"update {late.raw_relation} set loaded_at = loaded_at - interval 40 hour")
    assert source_freshness(late) == "warn"
    with open_warehouse(late) as wh:
        freshness = play_by_play_freshness(wh)
    assert (freshness.status, freshness.warn_after, freshness.error_after) == (
        "warn",
        timedelta(hours=36),
        timedelta(hours=72),
    ), "the thresholds dbt parsed from the YAML"

    # a dbt killed while writing its manifest leaves it cut short: status does not read it
    manifest = code.target_dir(late) / "manifest.json"
    whole = manifest.read_bytes()
    try:
        manifest.write_bytes(whole[: len(whole) // 2])
        with open_warehouse(late) as wh:
            again = play_by_play_freshness(wh)
        assert (again.status, again.warn_after, again.error_after) == ("warn", timedelta(hours=36), timedelta(hours=72))
    finally:
        manifest.write_bytes(whole)


def test_docs_generate_catalogs_every_model_and_the_props_model_exposure(warehouse):
    """Also what it compiles: the data tests, filtered to the batches through game_date."""
    result = dbt.invoke(warehouse, ["docs", "generate"], quiet=True)
    assert result.success
    catalogued = {node.split(".")[-1] for node in result.result.nodes}
    assert {
        "stg_bigdataball__play_by_play",
        "int_shots_classified",
        "stg_bigdataball__shots",
        "int_player_game_shot_zones",
        "player_shot_zone_features",
        "player_pregame_features",
        "player_shot_zone_features_model_ready",
    } <= catalogued
    assert "source.shotzones.bigdataball.play_by_play" in result.result.sources
    manifest = json.loads((code.target_dir(warehouse) / "manifest.json").read_text())
    exposure = manifest["exposures"]["exposure.shotzones.player_props_v3"]
    assert exposure["type"] == "ml"
    # every relation tested here declares a game_date: each test reads it through the batch filter
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    filtered = re.compile(rf"where {re.escape(EVERY_DATE)}[^;]*as dbt_subquery")
    unfiltered = [test["name"] for test in tests if not filtered.search(test["compiled_code"])]
    assert tests and unfiltered == []
    assert {"model.shotzones.player_shot_zone_features_model_ready", "model.shotzones.player_pregame_features"} <= set(
        exposure["depends_on"]["nodes"]
    )
