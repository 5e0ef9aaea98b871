"""dbt on its own: the YAML unit tests, and `dbt build` as a full refresh."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from conftest import query
from shotzones import dbt
from shotzones.backfill import Options, backfill
from shotzones.load import load

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
