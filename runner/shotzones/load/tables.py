"""The loader's tables, declared once: every column of the raw play-by-play, its quarantine, the
schedule, the manifest of loaded files and (BigQuery only) the games index lives in `TABLES`,
which writes the DuckDB and BigQuery `create table` statements and the columns shipped to
BigQuery's staging tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from shotzones.settings import RAW_COLUMNS, Settings
from shotzones.warehouse import BigQueryWarehouse, DuckDBWarehouse

RAW = "raw"
GAMES_INDEX = "games_index"
QUARANTINE = "quarantine"
SCHEDULE = "schedule"
MANIFEST = "manifest"

QUARANTINE_TABLE = "bigdataball_play_by_play_quarantine"
SCHEDULE_TABLE = "schedule"
# beside the raw table: the manifest of loaded files, and the games index (see shipping.py)
MANIFEST_SUFFIX = "_files"
GAMES_INDEX_SUFFIX = "_games"

# portable type -> the warehouse's: the runner's (Warehouse.types) and the two only the loader uses
TYPES = {
    "duckdb": {**DuckDBWarehouse.types, "int32": "integer", "json": "json"},
    "bigquery": {**BigQueryWarehouse.types, "int32": "int64", "json": "json"},
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "string"  # a key of TYPES[...]
    required: bool = False  # not null


@dataclass(frozen=True)
class Table:
    relation: Callable[[Settings], str]
    columns: tuple[Column, ...]
    bigquery_layout: str = ""  # partitioning, clustering and options on BigQuery

    @property
    def shipped(self) -> tuple[Column, ...]:
        """The columns a load writes; `loaded_at` is stamped by the statement that inserts."""
        return tuple(column for column in self.columns if column.name != "loaded_at")


LOADED_AT = Column("loaded_at", "timestamp", required=True)

TABLES = {
    RAW: Table(
        lambda settings: settings.raw_relation,
        (
            *(Column(name) for name in RAW_COLUMNS),  # as delivered; staging casts them
            Column("game_date", "date", required=True),
            Column("source_file", required=True),
            Column("source_row", "int", required=True),  # the row's line in its file, minus one
            LOADED_AT,
        ),
        "partition by game_date cluster by game_id options (require_partition_filter = true)",
    ),
    # BigQuery only: one row per (canonical game, file, date) of the raw table (see shipping.py)
    GAMES_INDEX: Table(
        lambda settings: settings.raw_relation + GAMES_INDEX_SUFFIX,
        (
            Column("game_id", required=True),  # canonical, 10 digits
            Column("game_date", "date", required=True),
            Column("source_file", required=True),
            Column("row_count", "int", required=True),
            LOADED_AT,
        ),
        "cluster by game_id",
    ),
    QUARANTINE: Table(
        lambda settings: f"{settings.raw_schema}.{QUARANTINE_TABLE}",
        (
            Column("source_file", required=True),  # the file, as loaded
            Column("line", "int", required=True),  # its line (CSV record), the header being line 1
            Column("column_name"),  # the column at fault, when there is one
            Column("value"),  # the value at fault, as delivered
            Column("problem", required=True),  # missing_value, bad_value, wrong_field_count, ...
            Column("reason", required=True),  # in words
            Column("raw_line"),  # the line as read, when the reader refused it
            Column("row_values", "json"),  # the row's 44 values, when it was read
            LOADED_AT,
        ),
        "cluster by source_file",
    ),
    SCHEDULE: Table(
        lambda settings: f"{settings.raw_schema}.{SCHEDULE_TABLE}",
        (
            Column("game_id", required=True),  # canonical
            Column("game_date", "date", required=True),
            Column("season", "int32", required=True),
            Column("away_team"),
            Column("home_team"),
            Column("source_file", required=True),
            LOADED_AT,
        ),
        "cluster by game_id",
    ),
    # what was loaded, so that an unchanged file is not read again (files.changed_files)
    MANIFEST: Table(
        lambda settings: settings.raw_relation + MANIFEST_SUFFIX,
        (
            Column("source_file"),
            Column("size_bytes", "int"),
            Column("mtime_ns", "int"),
            Column("content_hash"),
            Column("loaded_at", "timestamp"),
        ),
    ),
}


def quarantine_relation(settings: Settings) -> str:
    return TABLES[QUARANTINE].relation(settings)


def schedule_relation(settings: Settings) -> str:
    return TABLES[SCHEDULE].relation(settings)


def manifest_relation(settings: Settings) -> str:
    return TABLES[MANIFEST].relation(settings)


def games_index_relation(settings: Settings) -> str:
    return TABLES[GAMES_INDEX].relation(settings)


def quote(name: str) -> str:
    """A DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def column_types(table: str, dialect: str) -> dict[str, str]:
    """Column -> the dialect's type name."""
    return {column.name: TYPES[dialect][column.kind] for column in TABLES[table].columns}


def create_table_sql(table: str, settings: Settings, dialect: str) -> str:
    """`create table if not exists` for one of TABLES on "duckdb" or "bigquery"."""
    spec = TABLES[table]
    quote_mark = '"' if dialect == "duckdb" else "`"
    body = ",\n    ".join(
        f"{quote_mark}{column.name}{quote_mark} {TYPES[dialect][column.kind]}"
        + (" not null" if column.required else "")
        for column in spec.columns
    )
    layout = spec.bigquery_layout if dialect == "bigquery" else ""
    return f"create table if not exists {spec.relation(settings)} (\n    {body}\n) {layout}"


def create_tables(con: duckdb.DuckDBPyConnection, settings: Settings, *tables: str) -> None:
    """The raw schema and the tables named, on DuckDB, created when missing."""
    con.execute(f"create schema if not exists {settings.raw_schema}")
    for table in tables:
        con.execute(create_table_sql(table, settings, "duckdb"))


def bigquery_table_ddl(settings: Settings) -> dict[str, str]:
    """`create table if not exists` for the loader's BigQuery tables, by relation: the same
    columns as on DuckDB, partitioned and clustered for the reads they serve."""
    return {
        TABLES[table].relation(settings): create_table_sql(table, settings, "bigquery")
        for table in (RAW, GAMES_INDEX, QUARANTINE, SCHEDULE)
    }


def staging_columns(table: str) -> tuple[tuple[str, str], ...]:
    """(column, BigQuery type) of what a load job ships into a staging table for `table`: JSON
    travels as its text (a CSV load job fills no JSON column), parsed by the MERGE."""
    types = TYPES["bigquery"]
    return tuple(
        (column.name, types["string" if column.kind == "json" else column.kind].upper())
        for column in TABLES[table].shipped
    )
