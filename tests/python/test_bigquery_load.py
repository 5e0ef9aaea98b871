"""The BigQuery path on a local emulator (crucible-emulator, started by the `bigquery_emulator`
fixture): the loader ships what the DuckDB loader loads, replaces games and files as it does,
quarantines the same rows; dbt builds the same features through dbt-bigquery; the BigQuery
macros read values as the DuckDB ones do."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import jinja2
import pytest
from conftest import SEED
from test_bigquery import TABLES, assert_same_rows, table_rows
from test_load import read_rows, write_rows

from shotzones import dbt
from shotzones.generate import generate
from shotzones.load import (
    LITERAL_BUDGET,
    QUARANTINE_TABLE,
    SCHEDULE_FILE,
    games_index_relation,
    load,
    load_schedule,
    manifest_relation,
    quarantine_relation,
    schedule_relation,
    shipping,
)
from shotzones.settings import PROJECT_DIR, RAW_COLUMNS, Settings
from shotzones.warehouse import EVERY_DATE, connect, open_warehouse

RAW_VALUES = (*RAW_COLUMNS, "game_date", "source_file", "source_row")
QUARANTINE_VALUES = ("source_file", "line", "column_name", "value", "problem", "reason", "raw_line")


# --- data and warehouses -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Path:
    """A week of generated games: 47 games, about 21,500 rows."""
    out = tmp_path_factory.mktemp("week")
    generate(out, 2022, seasons=1, seed=SEED, max_dates_per_season=7)
    return out


def game_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.csv") if p.name != SCHEDULE_FILE)


@pytest.fixture(scope="module")
def on_duckdb(week, tmp_path_factory) -> tuple[Settings, object]:
    settings = Settings(duckdb_path=tmp_path_factory.mktemp("duckdb") / "warehouse.duckdb")
    return settings, load(settings, [week])


@pytest.fixture(scope="module")
def on_bigquery(bigquery_emulator, week, tmp_path_factory) -> tuple[Settings, object]:
    settings = bigquery_emulator.settings(tmp_path_factory.mktemp("bigquery") / "unused.duckdb")
    return settings, load(settings, [week])


def bigquery_rows(settings: Settings, sql: str) -> list[tuple]:
    with open_warehouse(settings) as warehouse:
        return warehouse.rows(sql)


def raw_on_bigquery(settings: Settings, where: str = "true") -> list[tuple]:
    columns = ", ".join(f"`{name}`" for name in RAW_VALUES)
    return bigquery_rows(
        settings,
        f"select {columns} from {settings.raw_relation} where {EVERY_DATE} and {where}"
        " order by source_file, source_row",
    )


def duckdb_rows(settings: Settings, sql: str) -> list[tuple]:
    with connect(settings) as con:
        return con.execute(sql).fetchall()


def raw_on_duckdb(settings: Settings) -> list[tuple]:
    columns = ", ".join(f'"{name}"' for name in RAW_VALUES)
    return duckdb_rows(settings, f"select {columns} from {settings.raw_relation} order by source_file, source_row")


def summary_fields(summary) -> tuple:
    return (
        summary.files,
        summary.rows,
        summary.games,
        summary.first_date,
        summary.last_date,
        summary.quarantined_rows,
        summary.problem_count,
        summary.problems,
        summary.quarantined_by_file,
        summary.rejected,
        summary.notes,
    )


def index_matches_raw(settings: Settings) -> None:
    """The loader's index of (game, file, date) holds exactly what the raw table holds."""
    index = bigquery_rows(
        settings,
        f"select game_id, game_date, source_file, row_count from {games_index_relation(settings)} order by 1, 2, 3",
    )
    raw = bigquery_rows(
        settings,
        f"""
        select lpad(regexp_replace(game_id, r'[^0-9]', ''), 10, '0') as canonical_id, game_date,
               source_file, count(*) as row_count
        from {settings.raw_relation} where {EVERY_DATE}
        group by canonical_id, game_date, source_file
        order by canonical_id, game_date, source_file
        """,
    )
    assert index == raw


# --- the loader --------------------------------------------------------------------------------


def test_the_raw_table_on_bigquery_equals_the_duckdb_load(on_bigquery, on_duckdb):
    (bigquery, shipped), (duckdb_settings, loaded) = on_bigquery, on_duckdb
    assert summary_fields(shipped) == summary_fields(loaded)
    assert loaded.rows > 20_000 and loaded.games > 40 and shipped.exit_code == 0
    assert raw_on_bigquery(bigquery) == raw_on_duckdb(duckdb_settings)
    index_matches_raw(bigquery)


# DuckDB's type name -> BigQuery's, as the tables API reports it
SAME_TYPE = {
    "VARCHAR": "STRING",
    "BIGINT": "INTEGER",
    "INTEGER": "INTEGER",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "JSON": "JSON",
}


def test_the_loaders_tables_have_the_same_columns_on_both_targets(on_bigquery, on_duckdb):
    """Raw play-by-play, quarantine, schedule and manifest: the same columns, in the same order,
    of the same types (both are written from one registry, tables.TABLES). The emulator reports
    every column NULLABLE, so NOT NULL is not compared."""
    (bigquery, _), (duckdb_settings, _) = on_bigquery, on_duckdb
    relations = (
        bigquery.raw_relation,
        quarantine_relation(bigquery),
        schedule_relation(bigquery),
        manifest_relation(bigquery),
    )
    with open_warehouse(bigquery) as warehouse:
        on_bigquery_tables = {
            relation: [
                (field.name, field.field_type.replace("INT64", "INTEGER"))
                for field in warehouse.client.get_table(relation).schema
            ]
            for relation in relations
        }
    for relation in relations:
        duckdb_columns = duckdb_rows(
            duckdb_settings,
            "select column_name, data_type from information_schema.columns"
            f" where table_schema || '.' || table_name = '{relation}' order by ordinal_position",
        )
        assert duckdb_columns, relation
        assert [(name, SAME_TYPE[kind]) for name, kind in duckdb_columns] == (on_bigquery_tables[relation]), relation


def test_reloading_the_same_files_changes_nothing(on_bigquery, on_duckdb, week):
    bigquery, shipped = on_bigquery
    assert load(bigquery, [week]).unchanged == shipped.files  # the manifest: nothing read
    again = load(bigquery, [week], reread=True)
    assert summary_fields(again) == summary_fields(shipped)
    assert raw_on_bigquery(bigquery) == raw_on_duckdb(on_duckdb[0])
    index_matches_raw(bigquery)


def test_a_redelivered_game_replaces_its_rows_even_from_another_date(bigquery_settings, week, tmp_path, monkeypatch):
    files = game_files(week)[:3]
    moved = files[1]
    # the game again, in a file of another name: postponed two days, its last rows cut, a
    # description corrected
    rows = read_rows(moved)
    date_column, description = RAW_COLUMNS.index("date"), RAW_COLUMNS.index("description")
    delivered = rows[1][date_column]
    if "/" in delivered:
        month, day, year = map(int, delivered.split("/"))
        old_date = date(year, month, day)
    else:
        old_date = date.fromisoformat(delivered)
    new_day = old_date + timedelta(days=2)
    for row in rows[1:]:
        row[date_column] = new_day.isoformat()
    rows[5][description] = "corrected"
    redelivered = write_rows(tmp_path / "redelivered.csv", rows[:-10])

    statements: list[str] = []
    from google.cloud.bigquery import Client

    original_query = Client.query

    def recording_query(self, sql, *args, **kwargs):
        statements.append(sql)
        return original_query(self, sql, *args, **kwargs)

    monkeypatch.setattr(Client, "query", recording_query)

    duckdb_settings = Settings(duckdb_path=tmp_path / "warehouse.duckdb")
    load(duckdb_settings, files)
    on_duckdb = load(duckdb_settings, [redelivered])
    # On BigQuery the first load is shipped in three groups (one a file: lists over the budget),
    # and the index is lost before the redelivery: rebuilt from the raw table, it still knows
    # the game's old date.
    monkeypatch.setattr(shipping, "LITERAL_BUDGET", 1)
    load(bigquery_settings, files)
    monkeypatch.setattr(shipping, "LITERAL_BUDGET", LITERAL_BUDGET)
    with open_warehouse(bigquery_settings) as warehouse:
        warehouse.client.delete_table(games_index_relation(bigquery_settings))
    on_bigquery = load(bigquery_settings, [redelivered])
    assert summary_fields(on_bigquery) == summary_fields(on_duckdb)
    assert on_bigquery.rows == len(rows) - 11 and on_bigquery.games == 1
    loader_statements = list(statements)
    assert raw_on_bigquery(bigquery_settings) == raw_on_duckdb(duckdb_settings)
    game = raw_on_bigquery(bigquery_settings, f"source_file = '{redelivered.resolve()}'")
    assert {row[RAW_VALUES.index("game_date")] for row in game} == {new_day}
    assert sum(row[description] == "corrected" for row in game) == 1
    assert bigquery_rows(
        bigquery_settings,
        f"select count(*) from {bigquery_settings.raw_relation}"
        f" where game_date = date '{old_date}' and source_file = '{moved.resolve()}'",
    ) == [(0,)]
    index_matches_raw(bigquery_settings)

    # every statement reading or changing the raw table names the dates it touches (BigQuery's
    # require_partition_filter; the emulator does not enforce it)
    raw = re.compile(re.escape(bigquery_settings.raw_relation) + r"(?![_\w])")
    ddl = f"create table if not exists {bigquery_settings.raw_relation} ("
    touching = [sql for sql in loader_statements if raw.search(sql) and ddl not in sql]
    merges = [sql for sql in touching if sql.lstrip().startswith("merge")]
    assert len(merges) == 4 and len(touching) == 5  # and the index rebuilt from the raw table
    for sql in merges:
        assert re.search(r"when not matched by source\s+and dest\.game_date in \(date '", sql), sql
    for sql in set(touching) - set(merges):
        assert f"where {EVERY_DATE}" in sql, sql
    assert f"date '{old_date}'" in merges[-1], "the game's old date is among those replaced"


def test_bad_rows_are_quarantined_with_file_and_line(bigquery_settings, week, tmp_path):
    source = game_files(week)[0]
    rows = read_rows(source)
    rows[3][RAW_COLUMNS.index("period")] = "first"  # line 4
    rows[7][RAW_COLUMNS.index("remaining_time")] = "12 minutes"  # line 8
    rows[9] = rows[9][:20]  # line 10: too few fields
    bad = write_rows(tmp_path / "bad.csv", rows)
    duckdb_settings = Settings(duckdb_path=tmp_path / "warehouse.duckdb")
    shipped, loaded = load(bigquery_settings, [bad]), load(duckdb_settings, [bad])
    assert summary_fields(shipped) == summary_fields(loaded)
    # the bad clock is set aside, its row loaded; the other two rows cannot be placed
    assert (shipped.quarantined_rows, shipped.set_aside_values, shipped.exit_code) == (2, 1, 1)
    assert raw_on_bigquery(bigquery_settings) == raw_on_duckdb(duckdb_settings)

    quarantine = f"{bigquery_settings.raw_schema}.{QUARANTINE_TABLE}"
    columns = ", ".join(QUARANTINE_VALUES)
    order = "order by source_file, line, column_name"
    on_bigquery = [
        (*row[:-1], json.loads(row[-1]))
        for row in bigquery_rows(
            bigquery_settings,
            f"select {columns}, to_json_string(row_values) from {quarantine} {order}",
        )
    ]
    on_duckdb = [
        (*row[:-1], json.loads(row[-1]) if row[-1] is not None else None)
        for row in duckdb_rows(duckdb_settings, f"select {columns}, row_values::varchar from {quarantine} {order}")
    ]
    assert [row[:2] for row in on_bigquery] == [(str(bad.resolve()), line) for line in (4, 8, 10)]
    assert on_bigquery == on_duckdb

    # the file corrected: its quarantined rows go, its rows are all loaded
    write_rows(bad, read_rows(source))
    fixed = load(bigquery_settings, [bad])
    assert fixed.quarantined_rows == 0 and fixed.rows == len(rows) - 1
    assert bigquery_rows(bigquery_settings, f"select count(*) from {quarantine}") == [(0,)]
    assert len(raw_on_bigquery(bigquery_settings)) == len(rows) - 1


def test_the_schedule_loads_as_on_duckdb(bigquery_settings, week, tmp_path):
    duckdb_settings = Settings(duckdb_path=tmp_path / "warehouse.duckdb")
    columns = "game_id, game_date, season, away_team, home_team, source_file"
    for _ in range(2):  # a reload replaces the games' rows
        shipped = load_schedule(bigquery_settings, [week])
        loaded = load_schedule(duckdb_settings, [week])
        fields = ("files", "games", "first_date", "last_date", "rejected")
        assert [getattr(shipped, f) for f in fields] == [getattr(loaded, f) for f in fields]
        assert shipped.games > 40
        relation = f"{bigquery_settings.raw_schema}.schedule"
        assert bigquery_rows(bigquery_settings, f"select {columns} from {relation} order by 1") == (
            duckdb_rows(duckdb_settings, f"select {columns} from {relation} order by 1")
        )


# --- dbt ---------------------------------------------------------------------------------------


def test_the_bigquery_macros_read_values_as_duckdb_does(bigquery_settings):
    source = (PROJECT_DIR / "macros" / "sql_functions.sql").read_text()
    macros = jinja2.Environment().from_string(source).module
    cases = {
        # every value the loader lets through, and some it refuses
        "try_to_integer": [
            "3",
            "3.0",
            "3.5",
            "2.5",
            "-2.5",
            "-3.5",
            " 7 ",
            "007",
            "+4",
            "1e3",
            "",
            "  ",
            "abc",
            "1,000",
            None,
        ],
        # the clocks the loader lets through (`[0-9]+:[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?`)
        "clock_to_seconds": [
            "0:12:00",
            " 0:11:45 ",
            "0:11:45.6",
            "0:11:45.5",
            "0:11:45.4",
            "0:00:00.5",
            "0:00:01.5",
            "0:00:02.5",
            "0:11:45.123456789",
            "0:00:00.4999999",
            "00:05:00",
            "25:00:00",
            "100:00:00",
            "",
            "abc",
            None,
        ],
    }
    for name, values in cases.items():

        def select(macro, values=values) -> str:
            return "\nunion all\n".join(
                f"select {number} as n, {macro('null' if value is None else repr(value))} as v"
                for number, value in enumerate(values)
            )

        on_bigquery = bigquery_rows(
            bigquery_settings,
            f"select v from ({select(getattr(macros, 'bigquery__' + name))}) order by n",
        )
        on_duckdb = duckdb.sql(f"select v from ({select(getattr(macros, 'duckdb__' + name))}) order by n").fetchall()
        assert dict(zip(values, on_bigquery)) == dict(zip(values, on_duckdb)), name


def test_dbt_build_on_bigquery_gives_the_features_duckdb_gives(on_bigquery, on_duckdb):
    (bigquery, _), (duckdb_settings, _) = on_bigquery, on_duckdb
    days = [
        day
        for (day,) in duckdb_rows(
            duckdb_settings, f"select distinct game_date from {duckdb_settings.raw_relation} order by 1"
        )
    ]
    assert len(days) == 7
    # two batches of one wave, as the runner passes them
    batches = [(days[0], days[3]), (days[4], days[-1])]
    for settings in (bigquery, duckdb_settings):
        result = dbt.invoke(settings, ["build", "--exclude", "test_type:unit"], batches=batches, quiet=True)
        failed = [
            (r.node.name, r.status)
            for r in result.result.results
            if r.status not in ("pass", "success") and r.node.resource_type != "exposure"  # no-op
        ]
        assert result.success and failed == [], (settings.target, failed)

    for table in TABLES:
        expected = table_rows(duckdb_settings, table)
        assert len(expected) > 500, table
        assert_same_rows(table_rows(bigquery, table), expected)
