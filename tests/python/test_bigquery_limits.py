"""BigQuery's limits, on the local emulator: no job modifies more date partitions than allowed
(the loader ships in date groups, the backfill in waves), a table warned of before it fills, a
wave's bytes priced."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from test_bigquery import TABLES, assert_same_rows, cli, table_rows

from shotzones.cost import TIB, WaveCost
from shotzones.planning import MODELS
from shotzones.settings import Settings

# a statement writing the raw table or a model (or dbt's temporary copy of one), after dbt's
# leading comments (its query comment, and `-- back compat...` before an insert_overwrite MERGE)
PARTITIONED_TARGET = re.compile(
    r"^\s*(?:(?:/\*.*?\*/|--[^\n]*)\s*)*(?:merge(?:\s+into)?|insert\s+into|create\s+(?:or\s+replace\s+)?table)\s+"
    r"[`\w.-]*?(bigdataball_play_by_play|int_player_game_shot_zones|player_shot_zone_features)(?:__dbt_tmp)?\b",
    re.I | re.S,
)


def partitions_named_in(sql: str) -> set[date]:
    """The game dates a statement names: its `date 'D'` literals, and every day of its
    `between date 'A' and date 'B'` ranges. The runner's and dbt's statements into the
    date-partitioned tables write only on dates they name (their batches, or the dates of the
    games a load replaces), so this is every partition such a statement can modify."""
    days = {date.fromisoformat(d) for d in re.findall(r"date\s*'(\d{4}-\d{2}-\d{2})'", sql, re.I)}
    for first, last in re.findall(r"between date '([\d-]+)' and date '([\d-]+)'", sql, re.I):
        start, end = date.fromisoformat(first), date.fromisoformat(last)
        days |= {start + timedelta(n) for n in range((end - start).days + 1)}
    return days


def test_no_job_modifies_more_partitions_than_the_limit(bigquery_emulator, month, tmp_path, monkeypatch):
    """SHOTZONES_BQ_MAX_PARTITIONS_PER_JOB at 3 over twelve game dates: the loader ships
    in date groups and the backfill in waves of at most 3 days, every statement into a
    date-partitioned table names at most 3 partitions, and the tables equal DuckDB's."""
    from google.cloud import bigquery as bq

    limit = 3
    settings = replace(bigquery_emulator.settings(tmp_path / "warehouse.duckdb"), bq_max_partitions_per_job=limit)
    jobs: list[str] = []
    query = bq.Client.query

    def recording_query(client, *args, **kwargs):
        jobs.append(args[0] if args else kwargs["query"])
        return query(client, *args, **kwargs)

    monkeypatch.setattr(bq.Client, "query", recording_query)
    loaded = cli(settings, "load", str(month))
    assert loaded.exit_code == 0, loaded.output
    load_jobs = len(jobs)
    planned = cli(settings, "plan", "--json")
    assert planned.exit_code == 0, planned.output
    batches = [event for event in map(json.loads, planned.stdout.splitlines()) if event["event"] == "batch"]
    assert max(b["wave_partitions"] for b in batches) <= limit
    assert sum(b["dates"] for b in batches if b["models"] == list(MODELS)) == 12
    built = cli(settings, "backfill")
    assert built.exit_code == 0, built.output
    assert "24 partitions built, 0 failed" in built.output

    writes = [(match[1], sql) for sql in jobs if (match := PARTITIONED_TARGET.match(sql))]
    named = {(table, len(partitions_named_in(sql))) for table, sql in writes}
    assert max(count for _, count in named) <= limit, sorted(named)
    # several statements per table: the limit split the work
    for table in ("bigdataball_play_by_play", "int_player_game_shot_zones", "player_shot_zone_features"):
        assert sum(1 for t, _ in writes if t == table) >= 4, table
    assert sum(1 for t, sql in writes[:load_jobs] if t == "bigdataball_play_by_play") >= 4

    duckdb = Settings(duckdb_path=tmp_path / "duckdb.duckdb")
    assert cli(duckdb, "load", str(month)).exit_code == 0
    assert cli(duckdb, "backfill").exit_code == 0
    for table in TABLES:
        assert_same_rows(table_rows(settings, table), table_rows(duckdb, table))


def test_a_warning_before_a_table_fills_its_10000_partitions():
    bigquery = Settings(target="bigquery")
    assert bigquery.partition_warning(8_000) is None
    warning = bigquery.partition_warning(9_200)
    assert "9,200 game dates" in warning and "10,000" in warning and "by month" in warning
    assert Settings().partition_warning(20_000) is None  # DuckDB has no such limit


def test_a_wave_costs_its_bytes_at_the_price_per_tib():
    wave = WaveCost([], {"int_player_game_shot_zones": 3 * TIB // 4, "shots_without_shooter": TIB // 4})
    assert wave.bytes == TIB and wave.dollars(6.25) == pytest.approx(6.25)
