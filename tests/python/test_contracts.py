"""What the props model reads is a contract: the three served models are public, their columns
are those of var `model_features` in its order, a build that changes a served column's type
fails, and the slate and the training set type every shared column alike."""

from __future__ import annotations

from dataclasses import replace

import pyarrow.parquet as pq
from click.testing import CliRunner
from conftest import edit, query

from shotzones import dbt
from shotzones.cli import main
from shotzones.load import load_schedule
from shotzones.settings import MODEL_READY, PREGAME, TRAINING, Settings

SERVED = (MODEL_READY, PREGAME, TRAINING)
IDENTITY = ["game_id", "player_lookup", "game_date", "season", "team_abbr", "opponent_abbr", "is_home"]


def served_columns(settings: Settings) -> dict[str, list[str]]:
    """The served models' columns as the feature list makes them: the identity, each feature,
    each feature's `_is_filled` flag, games_in_window; the training examples add a label per
    count the features read, denominators first, each once (macro feature_counts)."""
    features = settings.model_features
    model_ready = [
        *IDENTITY,
        *(f.name for f in features),
        *(f"{f.name}_is_filled" for f in features),
        "games_in_window",
    ]
    counts = dict.fromkeys([f.denominator for f in features] + [f.numerator for f in features])
    return {
        MODEL_READY: model_ready,
        PREGAME: model_ready,
        TRAINING: model_ready + [f"actual_{count}" for count in counts],
    }


def test_the_served_models_are_public_with_enforced_contracts_of_the_feature_list():
    settings = Settings()
    manifest = dbt.invoke(settings, ["parse"], quiet=True).result
    expected = served_columns(settings)
    assert len(expected[MODEL_READY]) == len(IDENTITY) + 2 * len(settings.model_features) + 1
    for name in SERVED:
        node = manifest.nodes[f"model.shotzones.{name}"]
        assert str(node.access) == "public", name
        assert node.contract.enforced, name
        assert list(node.columns) == expected[name], name
        untyped = [column.name for column in node.columns.values() if not column.data_type]
        assert untyped == [], name


def test_a_served_column_whose_type_changes_fails_its_build_and_leaves_the_served_view(built, project):  # noqa: F811
    """games_in_window becomes a double in the macro both views read: neither builds, with
    dbt's contract error naming the column, and what is served stays as it was."""
    edit(
        project / "macros" / "point_in_time.sql",
        "coalesce({{ features }}.games_in_window, 0) as games_in_window",
        "cast(coalesce({{ features }}.games_in_window, 0) as double) as games_in_window",
    )
    changed = replace(built, project_dir=project)
    results = dbt.invoke(changed, ["run", "--select", MODEL_READY, PREGAME], quiet=True).result.results
    by_model = {r.node.name: r for r in results if r.node.resource_type == "model"}
    assert set(by_model) == {MODEL_READY, PREGAME}
    for name, result in by_model.items():
        assert str(result.status) == "error", name
        assert "This model has an enforced contract that failed" in result.message, result.message
        assert "games_in_window" in result.message and "data type mismatch" in result.message, result.message
    for name in (MODEL_READY, PREGAME):
        [column] = query(
            built,
            "select data_type from information_schema.columns where table_name = ? and column_name = ?",
            [name, "games_in_window"],
        )
        assert column["data_type"] == "BIGINT", name


def test_the_slate_and_the_training_set_type_every_column_alike(built, generated, tmp_path, monkeypatch):  # noqa: F811
    """`features` and `export` write the same columns with the same types (season an INTEGER in
    the loader's schedule, a BIGINT in the player-games), the training set adding its labels."""
    load_schedule(built, [generated / "schedule.csv"])
    day = query(built, "select max(game_date) as d from nba_raw.bigdataball_play_by_play")[0]["d"]
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(built.duckdb_path))
    monkeypatch.delenv("SHOTZONES_TARGET", raising=False)
    slate, training = tmp_path / "slate.parquet", tmp_path / "train.parquet"
    for args in (
        ["features", "--date", day.isoformat(), "--out", str(slate)],
        ["export", "--start", day.isoformat(), "--end", day.isoformat(), "--out", str(training)],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    slate_schema, training_schema = pq.read_schema(slate), pq.read_schema(training)
    assert slate_schema.field("season").type == training_schema.field("season").type
    features = [f for f in training_schema if not f.name.startswith("actual_")]
    assert [(f.name, f.type) for f in slate_schema] == [(f.name, f.type) for f in features]


def test_the_served_views_give_the_contract_columns_in_its_order(warehouse):
    """A contract checks names and types, not their order: the views give the columns in the
    order of the feature list, as the contract lists them."""
    for name, expected in served_columns(warehouse).items():
        columns = query(
            warehouse,
            "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
            [name],
        )
        assert [c["column_name"] for c in columns] == expected, name
