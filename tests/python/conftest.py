"""Shared fixtures: generated BigDataBall files and warehouses built from them by the real
loader and the real dbt models."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from shotzones.backfill import backfill
from shotzones.generate import generate
from shotzones.load import load
from shotzones.settings import Settings
from shotzones.warehouse import connect

# Two short seasons across the 2017-era -> 2021-era format change, so windows cross seasons
# and both generations pass through the same models.
FIRST_SEASON = 2018
DATES_PER_SEASON = 20
SEED = 7


def build_warehouse(directory: Path, *sources: Path) -> Settings:
    """Load the files into a new DuckDB warehouse under `directory` and backfill everything."""
    settings = replace(Settings(), duckdb_path=directory / "warehouse.duckdb")
    load(settings, list(sources))
    result = backfill(settings)
    assert result.success, "the backfill of generated data failed"
    return settings


def query(settings: Settings, sql: str, parameters: list | None = None) -> list[dict]:
    with connect(settings) as con:
        cursor = con.execute(sql, parameters or [])
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(out, FIRST_SEASON, seasons=2, seed=SEED, max_dates_per_season=DATES_PER_SEASON)
    return out


@pytest.fixture(scope="session")
def warehouse(generated, tmp_path_factory) -> Settings:
    return build_warehouse(tmp_path_factory.mktemp("warehouse"), generated)


@pytest.fixture
def generated_copy(generated, tmp_path) -> Path:
    """A copy of the generated files a test may change."""
    return Path(shutil.copytree(generated, tmp_path / "files"))
