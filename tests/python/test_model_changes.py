"""Changing the model through the runner: a column added, removed or retyped is named by `plan`
and carried out by `backfill`, which builds the new version beside the live table and swaps it
in whole; until then the live table stays the previous, complete version."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import edit, query

from shotzones.backfill import Options, backfill, plan
from shotzones.load import load_schedule
from shotzones.planning import FEATURES, MODELS, PLAYER_GAMES
from shotzones.serving import NotReady, pregame_features, training_set
from shotzones.settings import Settings
from shotzones.status import status

FEATURES_SQL = Path("models") / "marts" / "player_shot_zone_features.sql"
FINAL_CTE = """    select * from windowed
    where {{ in_batch('game_date') }}"""


def columns(settings: Settings, table: str) -> dict[str, str]:
    return {row["column_name"]: row["column_type"] for row in query(settings, f"describe {table}")}


def table_rows(settings: Settings, table: str) -> list[tuple]:
    return [tuple(row.values()) for row in query(settings, f"select * from {table} order by all")]


def tables(settings: Settings) -> set[str]:
    return {row["table_name"] for row in query(settings, "select table_name from information_schema.tables")}


def states(settings: Settings) -> set[str]:
    return {p.state for p in status(settings).partitions}


def test_a_column_added_then_removed_goes_through_the_runner(built, project, generated, tmp_path):
    before = table_rows(built, FEATURES)
    edit(project / FEATURES_SQL, FINAL_CTE, FINAL_CTE.replace("select *", "select *, 1 as newcomer_marker"))
    settings = replace(built, project_dir=project)

    planned = plan(settings, Options())
    assert {(b.models, b.beside) for b in planned} == {((FEATURES,), True)}
    assert len({d for b in planned for d in b.dates}) == len({p.game_date for p in status(built).partitions})
    reasons = {r for b in planned for r in b.reasons}
    assert any(
        "schema changed: player_shot_zone_features (columns added newcomer_marker (INTEGER))" in r for r in reasons
    )

    result = backfill(settings)
    assert result.success and result.swapped == [FEATURES]
    assert columns(settings, FEATURES)["newcomer_marker"] == "INTEGER"
    assert f"{FEATURES}__next" not in tables(settings), "the new version became the live table"
    assert states(settings) == {"done"}
    # the ledger is true: every features partition recorded by this run, with the rows it holds
    ledger = query(settings, f"select run_id, game_date, rows_written from shotzones_ledger where model = '{FEATURES}'")
    assert {row["run_id"] for row in ledger} == {result.run_id}
    counts = {
        r["game_date"]: r["n"] for r in query(settings, f"select game_date, count(*) as n from {FEATURES} group by 1")
    }
    assert {r["game_date"]: r["rows_written"] for r in ledger} == counts
    assert [row[:-1] for row in table_rows(settings, FEATURES)] == before
    # the serving views read the new table
    assert query(settings, "select count(*) as n from player_shot_zone_features_model_ready")[0]["n"] == len(before)

    # reverting is a schema change the other way
    edit(project / FEATURES_SQL, "select *, 1 as newcomer_marker", "select *")
    planned = plan(settings, Options())
    assert any("columns removed newcomer_marker" in r for b in planned for r in b.reasons)
    assert backfill(settings).success
    assert "newcomer_marker" not in columns(settings, FEATURES)
    assert table_rows(settings, FEATURES) == before
    assert states(settings) == {"done"}


def test_a_retyped_column_and_a_new_player_game_count_rebuild_both_models_beside(built, project):
    edit(
        project / FEATURES_SQL,
        "coalesce(sum(fga) over {{ last_10 }}, 0) as fga_in_window",
        "1.0 * coalesce(sum(fga) over {{ last_10 }}, 0) as fga_in_window",
    )
    edit(
        project / "models" / "intermediate" / "int_player_game_shot_zones.sql",
        "coalesce(and_ones.and1_count, 0) as and1_count,",
        "coalesce(and_ones.and1_count, 0) as and1_count,\n        0 as technical_count,",
    )
    settings = replace(built, project_dir=project)
    reasons = {r for b in plan(settings, Options()) for r in b.reasons}
    assert any("columns added technical_count (INTEGER)" in r for r in reasons), reasons
    assert any("columns retyped fga_in_window HUGEINT -> DECIMAL" in r for r in reasons), reasons
    result = backfill(settings)
    assert result.success and result.swapped == list(MODELS)
    assert columns(settings, PLAYER_GAMES)["technical_count"] == "INTEGER"
    assert columns(settings, FEATURES)["fga_in_window"].startswith("DECIMAL")
    assert states(settings) == {"done"}


def test_the_live_tables_stay_whole_until_the_new_version_is_swapped_in(built, project):
    """A rebuild stopped half way (here: the process dies after its first wave) leaves the live
    table as it was, whole; serving refuses the stale partitions, naming the change and the
    rebuild under way, and with --allow-stale serves the previous complete version; the next
    backfill resumes the new version and swaps it in."""
    before = table_rows(built, FEATURES)
    edit(project / FEATURES_SQL, FINAL_CTE, FINAL_CTE.replace("select *", "select *, 1 as newcomer_marker"))
    settings = replace(built, project_dir=project)

    def dies_after_the_first_wave(event) -> None:
        if event.kind == "done":
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        backfill(settings, Options(batch_days=5, workers=1), on_event=dies_after_the_first_wave)
    assert table_rows(settings, FEATURES) == before
    assert f"{FEATURES}__next" in tables(settings)
    stale = [p for p in status(settings).partitions if p.model == FEATURES]
    assert {p.state for p in stale} == {"stale"}
    assert "new version under way beside the live table: 5 of" in stale[0].reason, stale[0].reason

    with pytest.raises(NotReady, match="new version under way beside the live table"):
        training_set(settings)
    served = training_set(settings, allow_stale=True)
    assert served.table.num_rows == len(before) and "newcomer_marker" not in served.table.column_names

    result = backfill(settings, Options(batch_days=5, workers=1))
    assert result.success and result.swapped == [FEATURES]
    assert result.done == len(stale) - 5, "the first wave's partitions were not built again"
    assert [row[:-1] for row in table_rows(settings, FEATURES)] == before


def test_a_full_refresh_rebuilds_a_model_beside_and_keeps_the_ledger_true(built):
    before = {model: table_rows(built, model) for model in MODELS}
    result = backfill(built, Options(models=(FEATURES,), full_refresh=True))
    assert result.success and result.swapped == [FEATURES]
    assert {b.models for b in result.planned} == {(FEATURES,)}
    runs = {
        r["model"]: r["runs"]
        for r in query(built, "select model, list(distinct run_id) as runs from shotzones_ledger group by 1")
    }
    assert runs[FEATURES] == [result.run_id] and result.run_id not in runs[PLAYER_GAMES]
    assert {model: table_rows(built, model) for model in MODELS} == before
    assert states(built) == {"done"}
    assert plan(built, Options()) == []


def add_served_feature(project: Path, name: str, numerator: str, denominator: str, window: int) -> None:
    """What a user writes to serve a new feature: its entry in var model_features, and its
    columns in the served models' contracts (a deliberate change of what is served)."""
    edit(
        project / "dbt_project.yml",
        "    - {name: assisted_rate_last_10, numerator: assisted_fgm, denominator: fgm}\n",
        "    - {name: assisted_rate_last_10, numerator: assisted_fgm, denominator: fgm}\n"
        f"    - {{name: {name}, numerator: {numerator}, denominator: {denominator}, window: {window}}}\n",
    )
    contracts = project / "models" / "marts" / "player_shot_zone_features.yml"
    for after, column, data_type in (
        ("assisted_rate_last_10", name, "*double"),
        ("assisted_rate_last_10_is_filled", f"{name}_is_filled", "bool"),
        ("actual_assisted_fgm", f"actual_{numerator}", "int64"),
    ):
        # after the column in each contract (the model-ready list the pre-game view shares, and
        # the training examples')
        text = contracts.read_text()
        entry = re.compile(rf"\n( +)- name: {after}\n\1  data_type: .*\n(\1  .*\n)*")
        assert entry.search(text), after
        added = f"- name: {column}\n{{indent}}  data_type: {data_type}\n"
        text = entry.sub(lambda m, added=added: m.group(0) + m.group(1) + added.format(indent=m.group(1)), text)
        contracts.write_text(text)


def test_a_fifth_feature_is_one_entry_and_is_served_and_exported(built, project, generated):
    """corner_three_rate_last_5: corner threes over attempts, over the previous 5 games."""
    add_served_feature(project, "corner_three_rate_last_5", "corner_three_fga", "fga", 5)
    settings = replace(built, project_dir=project)
    load_schedule(settings, [generated / "schedule.csv"])
    planned = plan(settings, Options())
    assert any("columns added corner_three_rate_last_5 (DOUBLE)" in r for b in planned for r in b.reasons)
    assert backfill(settings).success

    games = query(settings, "select * from int_player_game_shot_zones order by player_lookup, game_date, game_id")
    history: dict[str, list[dict]] = {}
    for game in games:
        history.setdefault(game["player_lookup"], []).append(game)

    def by_hand(player: str, day) -> float | None:
        before = [g for g in history.get(player, []) if g["game_date"] < day][-5:]
        fga = sum(g["fga"] for g in before)
        return 100.0 * sum(g["corner_three_fga"] for g in before) / fga if fga else None

    def league_before(day) -> float | None:
        before = [g for g in games if g["game_date"] < day]
        fga = sum(g["fga"] for g in before)
        return 100.0 * sum(g["corner_three_fga"] for g in before) / fga if fga else None

    def assert_by_hand(rows: list[dict]) -> None:
        for row in rows:
            own, league = by_hand(row["player_lookup"], row["game_date"]), league_before(row["game_date"])
            expected = own if own is not None else league
            assert row["corner_three_rate_last_5_is_filled"] == (own is None and league is not None)
            assert (expected is None) == (row["corner_three_rate_last_5"] is None)
            if expected is not None:
                assert math.isclose(row["corner_three_rate_last_5"], expected, rel_tol=1e-12), row

    exported = training_set(settings).table.to_pylist()
    assert len(exported) == len(games)
    assert sum(row["actual_corner_three_fga"] for row in exported) == sum(g["corner_three_fga"] for g in games)
    assert_by_hand(exported[::13])
    # the slate of the last date, as it was served the night before
    served = pregame_features(settings, max(g["game_date"] for g in games)).table.to_pylist()
    assert served and all("corner_three_rate_last_5" in row for row in served)
    assert_by_hand(served)
    assert sum(row["corner_three_rate_last_5"] is not None for row in served) > len(served) / 2
