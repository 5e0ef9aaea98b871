"""Shared fixtures: generated BigDataBall files and warehouses built from them by the real
loader and the real dbt models."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from shotzones.backfill import backfill
from shotzones.generate import generate
from shotzones.load import load
from shotzones.settings import PROJECT_DIR, Settings
from shotzones.warehouse import connect

# Each pytest-xdist worker keeps its own dbt target/ (the saved parse, the caches) and logs/:
# two dbt processes writing one partial-parse file corrupt it.
if "PYTEST_XDIST_WORKER" in os.environ:
    for variable, folder in (("DBT_TARGET_PATH", "target"), ("DBT_LOG_PATH", "logs")):
        os.environ[variable] = str(PROJECT_DIR / folder / f"pytest-{os.environ['PYTEST_XDIST_WORKER']}")

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


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Path:
    """Twelve game dates of one season (the BigQuery tests' data)."""
    out = tmp_path_factory.mktemp("month")
    generate(out, 2022, seasons=1, seed=SEED, max_dates_per_season=12)
    return out


@pytest.fixture(scope="session")
def warehouse(generated, tmp_path_factory) -> Settings:
    return build_warehouse(tmp_path_factory.mktemp("warehouse"), generated)


PROJECT_FILES = ("models", "macros", "tests", "profiles", "dbt_project.yml")


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the dbt project a test may edit (`Settings(project_dir=...)` runs it)."""
    copy = tmp_path / "project"
    for name in PROJECT_FILES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "python"))
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy(source, copy / name)
    return copy


@pytest.fixture
def built(warehouse, tmp_path) -> Settings:
    """A copy of the session's fully built warehouse."""
    with connect(warehouse) as con:
        con.execute("checkpoint")  # everything in the file, nothing left in its WAL
    (tmp_path / "built").mkdir()
    copy = shutil.copy(warehouse.duckdb_path, tmp_path / "built" / "warehouse.duckdb")
    return replace(warehouse, duckdb_path=Path(copy))


def edit(path: Path, old: str, new: str) -> None:
    """Replace `old` (which must be there) by `new` in a file."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture
def generated_copy(generated, tmp_path) -> Path:
    """A copy of the generated files a test may change."""
    return Path(shutil.copytree(generated, tmp_path / "files"))


# --- BigQuery: a local emulator ----------------------------------------------------------------

EMULATOR_PYTHON = PROJECT_DIR / ".venv-emulator" / "bin" / "python"
EMULATOR_LAUNCHER = Path(__file__).parent / "bigquery_emulator" / "launch.py"
EMULATOR_START_SECONDS = 60


@dataclass(frozen=True)
class BigQueryEmulator:
    """A running emulator (crucible-emulator, with the shims of bigquery_emulator/launch.py)."""

    endpoint: str

    def settings(self, duckdb_path: Path) -> Settings:
        """A BigQuery target of its own: each project id is a separate catalog on the emulator,
        so datasets and tables of one test are invisible to every other."""
        return Settings(
            target="bigquery",
            bq_project=f"test-{uuid.uuid4().hex[:12]}",
            bq_api_endpoint=self.endpoint,
            bq_token="emulator",
            duckdb_path=duckdb_path,
        )


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory) -> BigQueryEmulator:
    """The BigQuery emulator on a free loopback port, for the whole session. Not installed is a
    failure, not a skip: `make test` installs it (`make emulator`)."""
    if not EMULATOR_PYTHON.exists():
        pytest.fail(
            f"the BigQuery emulator is not installed ({EMULATOR_PYTHON} is missing): run `make emulator`",
            pytrace=False,
        )
    log_path = tmp_path_factory.mktemp("bigquery-emulator") / "emulator.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(EMULATOR_PYTHON), str(EMULATOR_LAUNCHER), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=PROJECT_DIR,
        )
    try:
        endpoint = _wait_for_emulator(process, log_path)
        yield BigQueryEmulator(endpoint)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _wait_for_emulator(process: subprocess.Popen, log_path: Path) -> str:
    """The endpoint, once the launcher said its port and the health check answers."""
    deadline = time.monotonic() + EMULATOR_START_SECONDS

    def failed(why: str) -> None:
        pytest.fail(f"the BigQuery emulator {why}; its log:\n{log_path.read_text()}", pytrace=False)

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    line = ""
    while not line.startswith("port "):
        if process.poll() is not None:
            failed(f"exited with {process.returncode} before listening")
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            failed(f"did not say its port within {EMULATOR_START_SECONDS} s")
        line = process.stdout.readline()
    selector.close()
    endpoint = f"http://127.0.0.1:{int(line.split()[1])}"
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/_crucible/health", timeout=2) as response:
                if json.load(response).get("status") == "ok":
                    return endpoint
        except OSError:
            pass
        if process.poll() is not None:
            failed(f"exited with {process.returncode}")
        if time.monotonic() > deadline:
            failed(f"did not answer {endpoint}/_crucible/health within {EMULATOR_START_SECONDS} s")
        time.sleep(0.1)


@pytest.fixture
def bigquery_settings(bigquery_emulator, tmp_path) -> Settings:
    """A fresh, isolated BigQuery target on the emulator (its own project), and a DuckDB file of
    the test's own for anything local."""
    return bigquery_emulator.settings(tmp_path / "warehouse.duckdb")
