"""dbt docs: every model's and source's columns described, counted against the columns each
one actually has (what its compiled SQL returns, as DuckDB binds it; what the loader's tables
hold), not only those its YAML lists, so a new column nobody described lowers the share; and
the descriptions written where readers of the warehouse see them (`persist_docs`)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shotzones import code, dbt
from shotzones.columns import inlined_sql
from shotzones.load import bigquery_table_ddl
from shotzones.load.tables import RAW, SCHEDULE, TABLES, create_tables
from shotzones.settings import FEATURES, MODEL_READY, Settings
from shotzones.warehouse import bigquery_client, connect

# what the issue asks for: at least this share of each model's and source's columns described
DESCRIBED_SHARE = 0.95
# each source and the loader's table behind it
SOURCE_TABLES = {"source.shotzones.bigdataball.play_by_play": RAW, "source.shotzones.bigdataball.schedule": SCHEDULE}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[dict, dict, Settings]:
    """The project compiled (the runner's one `dbt compile`) against an empty warehouse holding
    only the loader's tables, and the manifest that compile wrote."""
    settings = replace(Settings(), duckdb_path=tmp_path_factory.mktemp("docs") / "warehouse.duckdb")
    with connect(settings) as con:
        create_tables(con, settings, RAW, SCHEDULE)
    project = code.compile_project(settings)
    manifest = json.loads((code.target_dir(settings) / "manifest.json").read_text())
    return project, manifest, settings


def model_columns(project: dict, models: list[str], settings: Settings) -> dict[str, list[str]]:
    """Each model's columns as its compiled SQL returns them (DuckDB binds it and runs nothing),
    with every model it reads inlined, so that nothing needs to be built."""
    with connect(settings) as con:
        return {
            model: [
                row[0]
                for row in con.execute(
                    f"describe select * from (\n{inlined_sql(model, project['compiled'], project['relations'])}\n)"
                ).fetchall()
            ]
            for model in models
        }


def undescribed(node: dict, columns: list[str]) -> list[str]:
    described = {name for name, column in node["columns"].items() if column.get("description", "").strip()}
    return [name for name in columns if name not in described]


def test_at_least_95_percent_of_every_models_columns_are_described(compiled):
    project, manifest, settings = compiled
    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    columns = model_columns(project, sorted(models), settings)
    assert {FEATURES, MODEL_READY, "int_games_fingerprinted", "stg_bigdataball__shots"} <= set(columns)
    assert sum(len(names) for names in columns.values()) > 200, "every model's columns, not its YAML's list"
    missing = {model: undescribed(models[model], names) for model, names in columns.items()}
    short = {
        model: names for model, names in missing.items() if len(names) > (1 - DESCRIBED_SHARE) * len(columns[model])
    }
    assert short == {}, "columns without a description"
    # no description of a column the model does not have (renamed or dropped, the YAML not)
    stray = {model: sorted(set(models[model]["columns"]) - set(names)) for model, names in columns.items()}
    assert {model: names for model, names in stray.items() if names} == {}
    assert [model for model, node in models.items() if not node["description"].strip()] == []


def test_at_least_95_percent_of_every_sources_columns_are_described(compiled):
    _, manifest, _ = compiled
    for unique_id, table in SOURCE_TABLES.items():
        source = manifest["sources"][unique_id]
        names = [column.name for column in TABLES[table].columns]
        missing = undescribed(source, names)
        assert len(missing) <= (1 - DESCRIBED_SHARE) * len(names), (unique_id, missing)
        assert sorted(set(source["columns"]) - set(names)) == [], unique_id
        assert source["description"].strip(), unique_id


def test_the_descriptions_reach_the_warehouse_a_reader_sees(compiled):
    """persist_docs: the table's and each column's description, on DuckDB's catalog."""
    _, _, settings = compiled
    result = dbt.invoke(settings, ["run", "--select", f"+{MODEL_READY}"], quiet=True)
    assert result.success
    nodes = {r.node.name: r.node for r in result.result.results if r.node.resource_type == "model"}
    with connect(settings) as con:
        for model in (FEATURES, MODEL_READY):  # an incremental table, a view
            node = nodes[model]
            [(comment,)] = con.execute(
                "select comment from duckdb_tables() where table_name = $1"
                " union all select comment from duckdb_views() where view_name = $1",
                [model],
            ).fetchall()
            assert comment == node.description, model
            comments = dict(
                con.execute(
                    "select column_name, comment from duckdb_columns() where table_name = ?", [model]
                ).fetchall()
            )
            assert comments == {name: column.description for name, column in node.columns.items()}, model


def test_bigquery_shows_the_descriptions(bigquery_settings):
    """persist_docs on BigQuery: the console and INFORMATION_SCHEMA show each model's and
    column's description (on the emulator, which keeps what dbt-bigquery sends: launch.py)."""
    from google.cloud import bigquery

    settings = bigquery_settings
    client = bigquery_client(settings)
    client.create_dataset(bigquery.Dataset(f"{settings.bq_project}.{settings.raw_schema}"))
    for ddl in bigquery_table_ddl(settings).values():
        client.query(ddl).result()
    result = dbt.invoke(settings, ["run", "--select", f"+{MODEL_READY}"], quiet=True)
    assert result.success
    nodes = {r.node.name: r.node for r in result.result.results if r.node.resource_type == "model"}
    for model in (FEATURES, MODEL_READY):  # an incremental table, a view
        node = nodes[model]
        table = client.get_table(f"{settings.bq_project}.{settings.bq_dataset}.{model}")
        assert table.description == node.description, model
        assert {field.name: field.description for field in table.schema} == {
            name: column.description for name, column in node.columns.items()
        }, model
