"""The zone macro against NBA.com's own labels: a sample of 2023-24's field-goal attempts,
committed with the tests, and the whole season's 218,701 where NBA.com's shot log is found
(specification, section 4)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import duckdb
import pytest

from shotzones import dbt
from shotzones.settings import PROJECT_DIR

# 4,000 attempts drawn at random (DuckDB's reservoir sample, seed 2324) from NBA.com's 2023-24
# shot log: LOC_X, LOC_Y, SHOT_DISTANCE, SHOT_TYPE, BASIC_ZONE
SAMPLE = Path(__file__).parent / "fixtures" / "nba_shots_2023_24_sample.csv"
# the whole log, where a developer has it: SHOTZONES_NBA_SHOTS, or the shared data beside the checkout
NBA_SHOTS = Path(
    os.environ.get("SHOTZONES_NBA_SHOTS", PROJECT_DIR.parent / "shared" / "data" / "nba_shots_2023_24.csv.zip")
)


def compiled_zone_expression(settings) -> str:
    """The official scheme's zone expression exactly as dbt compiles it for the models."""
    result = dbt.invoke(
        settings,
        ["compile", "--inline", "select {{ shot_zone('x', 'y', 'distance', 'is_three') }}"],
        quiet=True,
    )
    return result.result.results[0].node.compiled_code.strip().removeprefix("select")


def agreement(zone: str, csv: Path) -> tuple[int, int]:
    """(shots, shots whose zone is NBA.com's) over a shot log in NBA.com's units."""
    with duckdb.connect() as con:
        con.execute(
            f"""
            create table nba as
            select
                -"LOC_X" * 10 as x,
                ("LOC_Y" - 5.25) * 10 as y,
                "SHOT_DISTANCE" as distance,
                "SHOT_TYPE" = '3PT Field Goal' as is_three,
                "BASIC_ZONE" as nba_zone
            from read_csv('{csv}')
            """
        )
        return con.execute(
            f"select count(*), count(*) filter (where zone = nba_zone) from (select {zone} as zone, nba_zone from nba)"
        ).fetchone()


def test_zones_agree_with_nba_com_on_a_sample_of_2023_24(warehouse):
    shots, agreeing = agreement(compiled_zone_expression(warehouse), SAMPLE)
    assert shots == 4_000
    assert agreeing / shots >= 0.995, f"zones agree on {agreeing / shots:.3%} of {shots:,} shots"


@pytest.mark.skipif(not NBA_SHOTS.exists(), reason="NBA.com's whole 2023-24 shot log is not here (SHOTZONES_NBA_SHOTS)")
def test_zones_agree_with_nba_com_on_99_9_percent_of_2023_24(warehouse, tmp_path):
    with zipfile.ZipFile(NBA_SHOTS) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv") and "MACOSX" not in n)
        archive.extract(name, tmp_path)
    shots, agreeing = agreement(compiled_zone_expression(warehouse), tmp_path / name)
    assert shots == 218_701
    assert agreeing / shots >= 0.999, f"zones agree on {agreeing / shots:.3%} of {shots:,} shots"
