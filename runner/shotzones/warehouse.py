"""Connections to the warehouse outside dbt (loading, reports)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import duckdb

from shotzones.settings import Settings


@contextmanager
def connect(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection, closed on exit: DuckDB allows one writing process per file, and dbt
    needs the file next. Always read-write: within one process DuckDB shares the database with
    dbt's connection, which refuses a second one of another configuration."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.duckdb_path))
    con.execute("set enable_progress_bar = false")
    try:
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )
