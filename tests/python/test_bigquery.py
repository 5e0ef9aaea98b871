"""The runner on BigQuery, through the real dbt-bigquery adapter against the local emulator:
the same commands with `--target bigquery` plan with a cost estimate, backfill a generated
month in several batches and waves, keep the ledger in the dataset, and give the features
DuckDB gives for the same files."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from shotzones import code, ledger
from shotzones.cli import main
from shotzones.planning import MODELS
from shotzones.settings import Settings
from shotzones.survey import current_states
from shotzones.warehouse import EVERY_DATE, open_warehouse

TABLES = ("int_player_game_shot_zones", "player_shot_zone_features")


def cli(settings: Settings, *args: str):
    env = {
        "SHOTZONES_DUCKDB": str(settings.duckdb_path),
        "SHOTZONES_BQ_MAX_PARTITIONS_PER_JOB": str(settings.bq_max_partitions_per_job),
        "SHOTZONES_BQ_PROJECT": settings.bq_project,
        "SHOTZONES_BQ_API_ENDPOINT": settings.bq_api_endpoint,
        "SHOTZONES_BQ_TOKEN": settings.bq_token,
    }
    return CliRunner().invoke(main, [*args, "--target", settings.target], env=env, catch_exceptions=False)


def table_rows(settings: Settings, table: str) -> dict[tuple, dict]:
    """A model's rows by its key (game, player), as {column: value}."""
    with open_warehouse(settings) as wh:
        columns = wh.columns(wh.relation(table))
        rows = wh.rows(f"select {', '.join(columns)} from {wh.relation(table)} where {EVERY_DATE}")
    return {
        (row[columns.index("game_id")], row[columns.index("player_lookup")]): dict(zip(columns, row)) for row in rows
    }


def assert_same_rows(bigquery: dict, duckdb: dict) -> None:
    """The same keys and values; floats within 1e-9 (the warehouses sum in different orders)."""
    assert bigquery.keys() == duckdb.keys()
    for key, expected in duckdb.items():
        for column, value in expected.items():
            got = bigquery[key][column]
            if isinstance(value, float) or isinstance(got, float):
                assert (value is None) == (got is None) and (
                    value is None or math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-9)
                ), (key, column, got, value)
            else:
                assert got == value, (key, column, got, value)


@dataclass(frozen=True)
class Built:
    """The month loaded (with its schedule) and backfilled by the same commands on the emulator
    and on DuckDB, with what `plan` and `backfill` said on BigQuery."""

    bigquery: Settings
    duckdb: Settings
    planned: Result
    built: Result


@pytest.fixture(scope="module")
def built_month(bigquery_emulator, month, tmp_path_factory) -> Built:
    directory = tmp_path_factory.mktemp("built-month")
    duckdb = Settings(duckdb_path=directory / "duckdb.duckdb")
    bigquery = bigquery_emulator.settings(directory / "warehouse.duckdb")
    for settings in (duckdb, bigquery):
        for command in (["load", str(month)], ["load-schedule", str(month)]):
            done = cli(settings, *command)
            assert done.exit_code == 0, (settings.target, command, done.output)
    assert cli(duckdb, "backfill").exit_code == 0
    planned = cli(bigquery, "plan", "--batch-days", "4", "--workers", "2", "--json")
    built = cli(bigquery, "backfill", "--batch-days", "4", "--workers", "2")
    return Built(bigquery, duckdb, planned, built)


def test_the_same_commands_on_bigquery_give_the_duckdb_features(built_month):
    bigquery, planned, built = built_month.bigquery, built_month.planned, built_month.built
    assert planned.exit_code == 0, planned.output
    batches = [event for event in map(json.loads, planned.stdout.splitlines()) if event["event"] == "batch"]
    assert len(batches) == 3 and {b["wave"] for b in batches} == {1, 2}
    # every statement of each wave was compiled and dry-run: both models' and every data test's
    # the waves run, all but those tagged every_slate (the emulator plans no bytes: the count is
    # what can be checked here)
    manifest = json.loads((code.target_dir(bigquery) / "manifest.json").read_text())
    data_tests = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and "every_slate" not in node["tags"]
    ]
    assert all(b["wave_statements"] == len(MODELS) + len(data_tests) for b in batches), batches

    assert built.exit_code == 0, built.output
    assert "24 partitions built, 0 failed" in built.output

    for table in TABLES:
        assert_same_rows(table_rows(bigquery, table), table_rows(built_month.duckdb, table))

    # the ledger lives in the dataset and proves every partition against the tables
    status = json.loads(cli(bigquery, "status", "--json").stdout.splitlines()[-1])
    assert status["models"] == {model: {"done": 12, "pending": 0, "failed": 0, "stale": 0} for model in MODELS}
    assert status["last_run"]["outcome"] == "success"
    assert status["freshness"]["status"] == "pass" and status["freshness"]["warn_after_hours"] == 36, "just loaded"
    with open_warehouse(bigquery) as wh:
        assert wh.table_exists(ledger.LEDGER, bigquery.bq_dataset)
        assert wh.rows(f"select count(*) from {wh.relation(ledger.LOCK)} where run_id is not null") == [(0,)]

    again = cli(bigquery, "backfill")
    assert again.exit_code == 0 and "Nothing pending" in again.output
    report = cli(bigquery, "report")
    assert report.exit_code == 0 and "12 game-date partitions" in report.output, report.output


def exported(path: Path) -> dict[tuple, dict]:
    rows = duckdb.sql(f"select * from '{path}'")
    columns = rows.columns
    return {(row[0], row[1]): dict(zip(columns, row)) for row in rows.fetchall()}


def test_serving_on_bigquery_gives_the_duckdb_rows(built_month, month, tmp_path):
    """The slate, the training set and the historical read, on the emulator and on DuckDB."""
    targets = {"duckdb": built_month.duckdb, "bigquery": built_month.bigquery}
    last = max(date.fromisoformat(path.name[1:11]) for path in month.rglob("[[]*.csv"))
    entities = tmp_path / "entities.csv"
    files: dict[str, dict[str, dict]] = {}
    for name, settings in targets.items():
        files[name] = {
            "slate": tmp_path / f"{name}-slate.csv",
            "training": tmp_path / f"{name}-training.parquet",
            "entities": tmp_path / f"{name}-entities.parquet",
        }
        slate = cli(settings, "features", "--date", last.isoformat(), "--out", str(files[name]["slate"]))
        assert slate.exit_code == 0, (name, slate.output)
        training = cli(settings, "export", "--out", str(files[name]["training"]))
        assert training.exit_code == 0, (name, training.output)
        if not entities.exists():
            players = sorted({key[1] for key in exported(files[name]["slate"])})[:20]
            entities.write_text(
                "player_lookup,as_of_date\n"
                + "".join(f"{p},{last.isoformat()}\n" for p in players)
                + "nobody,2022-10-25\n"
            )
        historical = cli(settings, "export", "--entities", str(entities), "--out", str(files[name]["entities"]))
        assert historical.exit_code == 0, (name, historical.output)
    for kind in ("slate", "training", "entities"):
        bigquery, duckdb_rows = exported(files["bigquery"][kind]), exported(files["duckdb"][kind])
        assert len(duckdb_rows) > 20, kind
        assert_same_rows(bigquery, duckdb_rows)


def test_a_redelivered_game_rebuilds_exactly_its_partitions_on_bigquery(bigquery_settings, month, tmp_path):
    """Change-aware backfill on BigQuery: the fingerprints and the window reach run there too."""
    bigquery = bigquery_settings
    assert cli(bigquery, "load", str(month)).exit_code == 0
    assert cli(bigquery, "backfill").exit_code == 0
    game = sorted(p for p in month.rglob("*.csv") if p.name != "schedule.csv")[-1]
    changed = tmp_path / game.name
    lines = game.read_text().splitlines(keepends=True)
    changed.write_text("".join(lines[:-1]))  # the last event of the last game withdrawn
    assert cli(bigquery, "load", str(changed)).exit_code == 0

    states = current_states(bigquery).states
    stale = {(model, day) for (model, day), state in states.items() if state.state == "stale"}
    last = max(day for _, day in states)
    assert stale == {(model, last) for model in MODELS}
    assert cli(bigquery, "backfill").exit_code == 0
    assert all(state.state == "done" for state in current_states(bigquery).states.values())

    duckdb = Settings(duckdb_path=tmp_path / "duckdb.duckdb")
    cli(duckdb, "load", str(month))
    cli(duckdb, "load", str(changed))
    assert cli(duckdb, "backfill").exit_code == 0
    for table in TABLES:
        assert_same_rows(table_rows(bigquery, table), table_rows(duckdb, table))
