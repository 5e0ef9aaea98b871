"""The zone macro against NBA.com's own labels for every field-goal attempt of 2023-24."""

from __future__ import annotations

import zipfile

import duckdb
import pytest

from shotzones import dbt
from shotzones.settings import PROJECT_DIR

NBA_SHOTS = PROJECT_DIR.parent / "shared" / "data" / "nba_shots_2023_24.csv.zip"


def compiled_zone_expression(settings) -> str:
    """The official scheme's zone expression exactly as dbt compiles it for the models."""
    result = dbt.invoke(
        settings,
        ["compile", "--inline", "select {{ shot_zone('x', 'y', 'distance', 'is_three') }}"],
        quiet=True,
    )
    return result.result.results[0].node.compiled_code.strip().removeprefix("select")


@pytest.mark.skipif(not NBA_SHOTS.exists(), reason=f"NBA.com shot log not present at {NBA_SHOTS}")
def test_zones_agree_with_nba_com_on_at_least_99_5_percent(warehouse, tmp_path):
    with zipfile.ZipFile(NBA_SHOTS) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv") and "MACOSX" not in n)
        archive.extract(name, tmp_path)
    zone = compiled_zone_expression(warehouse)
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
            from read_csv('{tmp_path / name}')
            """
        )
        shots, agreeing = con.execute(
            f"""
            select count(*), count(*) filter (where zone = nba_zone)
            from (select {zone} as zone, nba_zone from nba)
            """
        ).fetchone()
    assert shots == 218_701
    assert agreeing / shots >= 0.995, f"zones agree on {agreeing / shots:.3%} of {shots:,} shots"
