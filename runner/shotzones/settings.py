"""Where things are: the dbt project, the profile, the warehouse, the raw table. The dbt profile
reads the same environment variables, so the runner and dbt always see one warehouse."""

from __future__ import annotations

import difflib
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
TARGETS = ("duckdb", "bigquery")

_PROJECT_VARS = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
# The 44 columns of a BigDataBall play-by-play file, in delivered order (SPEC section 2): dbt's
# var `delivered_columns`, which the game fingerprint (int_games_fingerprinted) hashes too
RAW_COLUMNS = tuple(_PROJECT_VARS["delivered_columns"])
# The first NBA game's date (YYYY-MM-DD): dbt's var `first_game_date`, which the macro
# every_game_date filters game_date from
FIRST_GAME_DATE = str(_PROJECT_VARS["first_game_date"])

# The incremental models, partitioned by game_date, whose partitions the ledger tracks: the
# one list of them (the code fingerprints, the planner, the waves, status and report read it)
PLAYER_GAMES = "int_player_game_shot_zones"
FEATURES = "player_shot_zone_features"
MODELS = (PLAYER_GAMES, FEATURES)  # in dependency order
# The views the props model reads (public, with contracts): the slate before a game, and the
# features (and labels) training reads after it
PREGAME = "player_pregame_features"
MODEL_READY = "player_shot_zone_features_model_ready"
TRAINING = "player_shot_zone_training_examples"
# BigQuery holds at most 10,000 partitions a table; warn from nine in ten
BQ_MAX_PARTITIONS_PER_TABLE = 10_000


@dataclass(frozen=True)
class Feature:
    """One feature the props model reads, as dbt_project.yml's var `model_features` lists it
    (macros/model_features.sql reads the same list for the models)."""

    name: str
    numerator: str
    denominator: str

    @property
    def label(self) -> str:
        """A short name for tables: `paint_rate_last_10` -> `paint`."""
        return re.sub(r"(_rate)?_last_\d+$", "", self.name)


class BadSetting(ValueError):
    """An environment variable the runner cannot use."""


class BadVar(BadSetting):
    """A dbt var the project does not declare (a typo in `--vars`), or a value its rule refuses
    (macros/vars.sql): one line naming the var and what it takes."""


@dataclass(frozen=True)
class Settings:
    """One warehouse target, as the dbt profile sees it."""

    target: str = "duckdb"
    duckdb_path: Path = Path("warehouse/shotzones.duckdb")
    # DuckDB spills to disk past this: a ten-season build stays well inside a small machine
    duckdb_memory_limit: str = "1GB"
    bq_project: str = ""
    bq_dataset: str = "shotzones"
    bq_location: str = "US"
    bq_keyfile: str = ""
    bq_api_endpoint: str = ""
    bq_token: str = ""
    # on-demand price per TiB scanned, for `plan`'s estimate
    bq_price_per_tib: float = 6.25
    # how long a command waits for a warehouse another process holds (busy.py)
    wait_seconds: float = 5.0
    # the dbt project (a copy elsewhere runs other code on the same warehouse)
    project_dir: Path = PROJECT_DIR
    # dbt vars for every dbt invocation (`--vars`, as dbt takes it: a YAML mapping)
    dbt_vars: str = ""
    # No job may modify more than 4,000 partitions (SPEC 8). The runner counts what its model
    # statements write exactly; the margin of 100 is for what a load's MERGE into raw learns only
    # after grouping its files by date: the old dates of re-delivered or moved games it deletes.
    bq_max_partitions_per_job: int = 3_900

    @classmethod
    def from_env(cls, target: str | None = None) -> Settings:
        env = os.environ.get
        target = target or env("SHOTZONES_TARGET", "duckdb")
        if target not in TARGETS:
            raise BadSetting(f"SHOTZONES_TARGET={target} is not a target: choose {' or '.join(TARGETS)}")

        def number(name: str, default, kind, what: str):
            value = env(name, str(default))
            try:
                return kind(value)
            except ValueError:
                raise BadSetting(f"{name}={value} is not {what}") from None

        return cls(
            target=target,
            duckdb_path=Path(env("SHOTZONES_DUCKDB", "warehouse/shotzones.duckdb")).resolve(),
            duckdb_memory_limit=env("SHOTZONES_DUCKDB_MEMORY_LIMIT", cls.duckdb_memory_limit),
            bq_project=env("SHOTZONES_BQ_PROJECT", ""),
            bq_dataset=env("SHOTZONES_BQ_DATASET", cls.bq_dataset),
            bq_location=env("SHOTZONES_BQ_LOCATION", cls.bq_location),
            bq_keyfile=env("SHOTZONES_BQ_KEYFILE", ""),
            bq_api_endpoint=env("SHOTZONES_BQ_API_ENDPOINT", ""),
            bq_token=env("SHOTZONES_BQ_TOKEN", ""),
            bq_price_per_tib=number("SHOTZONES_BQ_PRICE_PER_TIB", cls.bq_price_per_tib, float, "a number of dollars"),
            bq_max_partitions_per_job=number(
                "SHOTZONES_BQ_MAX_PARTITIONS_PER_JOB", cls.bq_max_partitions_per_job, int, "a whole number"
            ),
            project_dir=_project_dir(env("SHOTZONES_PROJECT_DIR", "")),
        )

    @property
    def max_partitions_per_statement(self) -> int | None:
        """What one statement may modify: BigQuery's per-job limit; DuckDB has none."""
        return self.bq_max_partitions_per_job if self.target == "bigquery" else None

    def partition_warning(self, dates: int) -> str | None:
        """Before a date-partitioned table (raw or a model) nears BigQuery's 10,000 partitions."""
        if self.target != "bigquery" or dates < 0.9 * BQ_MAX_PARTITIONS_PER_TABLE:
            return None
        return (
            f"{dates:,} game dates: a table partitioned by game_date holds at most"
            f" {BQ_MAX_PARTITIONS_PER_TABLE:,} partitions on BigQuery (some 45 seasons with playoffs)."
            " Before it fills, partition the raw table by month (a coarser partition) or keep each"
            " era in a dataset of its own (SHOTZONES_BQ_DATASET, var raw_schema)."
        )

    @property
    def models_schema(self) -> str:
        """Where dbt builds the models, and the runner keeps its ledger."""
        return self.bq_dataset if self.target == "bigquery" else "main"

    @property
    def vars(self) -> dict:
        """Every dbt var as dbt sees it: dbt_project.yml's, overridden by `dbt_vars`."""
        return {**self.project_vars, **parse_vars(self.dbt_vars)}

    @property
    def project_vars(self) -> dict:
        """The vars dbt_project.yml declares, with their defaults."""
        project = self.project_dir / "dbt_project.yml"
        stat = project.stat()
        return _project_vars(project, stat.st_mtime_ns, stat.st_size)

    def check_var_names(self) -> None:
        """Refuse a `--vars` name dbt_project.yml does not declare: dbt would ignore it, and a
        typo (zone_schem) would run the default. What a var's value may be is dbt's to say
        (macros/vars.sql): the project's compile refuses a bad one (code.compile_project)."""
        known = self.project_vars
        for name in parse_vars(self.dbt_vars):
            if name not in known:
                close = difflib.get_close_matches(str(name), list(known), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise BadVar(f"--vars: {name} is not a var of this project{hint}; its vars: {', '.join(known)}")

    @property
    def model_features(self) -> list[Feature]:
        """The features the props model reads, in its order: var `model_features`."""
        return [Feature(e["name"], e["numerator"], e["denominator"]) for e in self.vars["model_features"]]

    @property
    def window_games(self) -> int:
        """The player-games in a full window (var `window_games`)."""
        return int(self.vars["window_games"])

    @property
    def raw_schema(self) -> str:
        """Where the loader writes: the dbt vars raw_schema and raw_table the source reads."""
        return str(self.vars["raw_schema"])

    @property
    def raw_table(self) -> str:
        return str(self.vars["raw_table"])

    @property
    def raw_relation(self) -> str:
        return f"{self.raw_schema}.{self.raw_table}"

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt, so the profile opens the same warehouse the runner does."""
        env = {
            "SHOTZONES_DUCKDB": str(self.duckdb_path),
            "SHOTZONES_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "SHOTZONES_TARGET": self.target,
        }
        if self.target == "bigquery":
            env |= {
                "SHOTZONES_BQ_PROJECT": self.bq_project,
                "SHOTZONES_BQ_DATASET": self.bq_dataset,
                "SHOTZONES_BQ_LOCATION": self.bq_location,
                "SHOTZONES_BQ_KEYFILE": self.bq_keyfile,
                "SHOTZONES_BQ_API_ENDPOINT": self.bq_api_endpoint,
                "SHOTZONES_BQ_TOKEN": self.bq_token,
            }
        return env


def _project_dir(value: str) -> Path:
    """The dbt project the runner builds: the one it is installed with, or (SHOTZONES_PROJECT_DIR)
    another copy of it, e.g. a branch's models tried on a copy of the warehouse."""
    if not value:
        return PROJECT_DIR
    path = Path(value).resolve()
    if not (path / "dbt_project.yml").is_file():
        raise BadSetting(f"SHOTZONES_PROJECT_DIR={value} holds no dbt_project.yml")
    return path


@functools.lru_cache(maxsize=8)
def _project_vars(project: Path, mtime_ns: int, size: int) -> dict:
    """dbt_project.yml's vars, read again when the file changes (its mtime and size)."""
    return yaml.safe_load(project.read_text()).get("vars") or {}


def parse_vars(text: str | None) -> dict:
    """`--vars` as dbt takes it: a YAML (or JSON) mapping. ValueError when it is not one."""
    if not text:
        return {}
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"not YAML: {error}") from error
    if not isinstance(value, dict):
        raise ValueError(f"a mapping like '{{zone_scheme: legacy_distance}}', got {text!r}")
    return value
