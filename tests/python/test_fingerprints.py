"""The game fingerprint and the canonical game id live in dbt (int_games_fingerprinted,
macros/identifiers.sql): the survey and the loader read them from there, on a fresh warehouse
too, and the fingerprints are the ones the ledgers already hold."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from shotzones import code, ledger
from shotzones.generate import generate
from shotzones.load import CANONICAL_GAME_ID_SQL, GAME_DATE_SQL, load
from shotzones.planning import PLAYER_GAMES
from shotzones.settings import PROJECT_DIR, Settings
from shotzones.survey import FINGERPRINTED, _fingerprints, current_states, source_fingerprints
from shotzones.warehouse import EVERY_DATE, open_warehouse

# What the survey's SQL strings (survey.FINGERPRINT_SQL with Warehouse.row_hash, before the
# fingerprint moved to dbt) computed for the files of `files` below: the ledgers hold these.
FIRST_GAME = ("2018-10-23", "0021800001")
KNOWN = {
    "duckdb": (17, "484b434d93847682e40135ba62932cfc920bde82c2e71ab9044447e15f211040", (464, "4187146679304788717593")),
    "bigquery": (17, "a872fc7369572a16fb854e68508b804b200812ecce667b10aff97a369f037473", (464, "65370884945344891")),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("fingerprinted")
    generate(out, 2018, seasons=1, seed=7, max_dates_per_season=3)
    return sorted(p for p in out.rglob("*.csv") if p.name != "schedule.csv")


def digest(fingerprints: ledger.Fingerprints) -> str:
    rows = sorted([str(day), game, count, content] for (day, game), (count, content) in fingerprints.items())
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def assert_known(fingerprints: ledger.Fingerprints, target: str) -> None:
    games, fingerprint_digest, first = KNOWN[target]
    day, game = FIRST_GAME
    assert fingerprints[(datetime.fromisoformat(day).date(), game)] == first
    assert (len(fingerprints), digest(fingerprints)) == (games, fingerprint_digest)


def shortened(path: Path, tmp_path: Path) -> Path:
    """The game's file, delivered again without its last row."""
    lines = path.read_text().splitlines(keepends=True)
    copy = tmp_path / path.name
    copy.write_text("".join(lines[:-1]))
    return copy


def assert_only_the_reloaded_game_is_hashed_again(settings: Settings, files: list[Path], tmp_path: Path) -> None:
    with open_warehouse(settings) as wh:
        before = source_fingerprints(wh)  # cached
        loaded = wh.rows(f"select max(loaded_at) from {settings.raw_relation} where {EVERY_DATE}")[0][0]
    load(settings, [shortened(files[0], tmp_path)])
    with open_warehouse(settings) as wh:
        since = _fingerprints(wh, loaded)
        assert list(since) == [next(key for key in before if key[1] == FIRST_GAME[1])]
        assert list(since.values())[0][0] == before[list(since)[0]][0] - 1
        assert source_fingerprints(wh) == before | since == _fingerprints(wh, None)


def test_a_fresh_warehouse_is_surveyed_with_the_fingerprints_the_ledgers_hold(files, tmp_path):
    """Nothing built yet (only loaded): the survey runs the model's compiled SQL itself."""
    settings = replace(Settings(), duckdb_path=tmp_path / "fresh.duckdb")
    load(settings, files)
    survey = current_states(settings)
    assert_known(survey.fingerprints, "duckdb")
    assert {state.state for (model, _), state in survey.states.items() if model == PLAYER_GAMES} == {"pending"}
    with open_warehouse(settings) as wh:
        assert not wh.table_exists(FINGERPRINTED)  # ephemeral: nothing to build, nothing to go stale
        assert wh.rows("select count(*) from information_schema.tables where table_schema = 'main'")[0][0] == 0
    assert_only_the_reloaded_game_is_hashed_again(settings, files, tmp_path)


def test_the_canonical_game_id_is_the_macro_the_loader_and_the_survey_read(files, tmp_path, monkeypatch):
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))  # one survey cache for both projects
    settings = replace(Settings(), duckdb_path=tmp_path / "edited.duckdb")
    load(settings, files[:2])
    with open_warehouse(settings) as wh:
        assert {game for _, game in source_fingerprints(wh)} == {FIRST_GAME[1], "0021800002"}
    project = tmp_path / "project"
    for name in ("models", "macros", "tests/generic", "profiles", "dbt_project.yml"):
        (shutil.copytree if (PROJECT_DIR / name).is_dir() else shutil.copy)(PROJECT_DIR / name, project / name)
    identifiers = project / "macros" / "identifiers.sql"
    identifiers.write_text(identifiers.read_text().replace("10, '0')", "12, '0')"))
    edited = replace(settings, project_dir=project)
    # the loader compiles its DuckDB spelling for the project it loads with: here, the copy
    assert (
        CANONICAL_GAME_ID_SQL.sql(edited).format("game_id")
        == "lpad(regexp_replace(game_id, '[^0-9]', '', 'g'), 12, '0')"
    )
    assert "try_strptime(trim(x), '%m/%d/%Y')" in GAME_DATE_SQL.sql(edited).format("x")
    # the survey's cached fingerprints were taken by other code: every game hashed again
    with open_warehouse(edited) as wh:
        assert {game for _, game in source_fingerprints(wh)} == {"00" + FIRST_GAME[1], "000021800002"}


def test_the_loader_compiles_the_macros_once_per_version_of_them(tmp_path, monkeypatch):
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    settings = Settings(target="duckdb")
    calls = ("canonical_game_id('{0}')",)
    assert code.macro_sql(settings, calls) == {calls[0]: "lpad(regexp_replace({0}, '[^0-9]', '', 'g'), 10, '0')"}
    monkeypatch.setattr(code.dbt, "invoke", lambda *args, **kwargs: pytest.fail("compiled again"))
    assert code.macro_sql(settings, calls)[calls[0]].endswith("10, '0')")


def test_bigquery_fingerprints_are_the_ones_the_ledgers_hold(bigquery_settings, files, tmp_path):
    load(bigquery_settings, files)
    with open_warehouse(bigquery_settings) as wh:
        assert wh.canonical_game_id("game_id") == "lpad(regexp_replace(game_id, r'[^0-9]', ''), 10, '0')"
        assert_known(source_fingerprints(wh), "bigquery")
    assert_only_the_reloaded_game_is_hashed_again(bigquery_settings, files, tmp_path)


def test_compiled_sql_is_cached_per_bigquery_dataset():
    """The SQL dbt compiles for BigQuery names the project and dataset: the cache of one
    warehouse's compile must not answer for another's (it did, and the window reach of one
    dataset read another's tables)."""
    one = Settings(target="bigquery", bq_project="one", bq_dataset="features")
    assert len({code._cache_key(s) for s in (one, replace(one, bq_project="two"), replace(one, bq_dataset="x"))}) == 3
