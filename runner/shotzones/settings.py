"""Where things are: the dbt project, the profile, the warehouse file, the raw table."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROFILES_DIR = PROJECT_DIR / "profiles"
TARGETS = ("duckdb", "bigquery")

# The 44 columns of a BigDataBall play-by-play file, in delivered order (SPEC section 2).
RAW_COLUMNS = (
    "game_id", "data_set", "date",
    "a1", "a2", "a3", "a4", "a5", "h1", "h2", "h3", "h4", "h5",
    "period", "away_score", "home_score", "remaining_time", "elapsed", "play_length", "play_id",
    "team", "event_type", "assist", "away", "home", "block", "entered", "left", "num",
    "opponent", "outof", "player", "points", "possession", "reason", "result", "steal", "type",
    "shot_distance", "original_x", "original_y", "converted_x", "converted_y", "description",
)  # fmt: skip

INCREMENTAL_MODELS = ("int_player_game_shot_zones", "player_shot_zone_features")


@dataclass(frozen=True)
class Settings:
    """One warehouse target, as the dbt profile sees it (the profile reads the same variables)."""

    target: str = "duckdb"
    duckdb_path: Path = Path("warehouse/shotzones.duckdb")
    raw_schema: str = "nba_raw"
    raw_table: str = "bigdataball_play_by_play"

    @classmethod
    def from_env(cls, target: str | None = None) -> Settings:
        return cls(
            target=target or os.environ.get("SHOTZONES_TARGET", "duckdb"),
            duckdb_path=Path(
                os.environ.get("SHOTZONES_DUCKDB", "warehouse/shotzones.duckdb")
            ).resolve(),
        )

    @property
    def raw_relation(self) -> str:
        return f"{self.raw_schema}.{self.raw_table}"

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt, so the profile opens the same file the runner does."""
        return {"SHOTZONES_DUCKDB": str(self.duckdb_path), "SHOTZONES_TARGET": self.target}
