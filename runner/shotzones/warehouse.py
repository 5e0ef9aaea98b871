"""The warehouse outside dbt: the runner's own reads and writes (ledger, planning, status,
reports) on DuckDB or BigQuery, through one small interface.

The runner's SQL is written once, in the subset both warehouses share (MERGE, `union all`,
literal lists); the few differences (type names, unnesting) are methods here, and a rule the
models share (the canonical game id) is compiled from their dbt macro.
Values are inlined as literals: the BigQuery emulator has no query parameters, and every value
the runner sends is a date, a number or a string it quotes itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import duckdb

from shotzones import code
from shotzones.busy import POLL_SECONDS, held_file
from shotzones.settings import FIRST_GAME_DATE, Settings

if TYPE_CHECKING:
    import pyarrow
    from google.cloud import bigquery

CANONICAL_GAME_ID = "canonical_game_id('{0}')"  # the dbt macro (macros/identifiers.sql)
# A filter on game_date that keeps every date (from the first NBA game's, dbt's var
# first_game_date, as the macro every_game_date): BigQuery tables that require a partition
# filter accept a comparison, not `is not null`.
EVERY_DATE = f"game_date >= date '{FIRST_GAME_DATE}'"


class WarehouseUnavailable(Exception):
    """The warehouse cannot be reached as configured: no DuckDB file, no BigQuery credentials."""


@contextmanager
def connect(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection to the warehouse file, closed on exit: DuckDB allows one writing
    process per file, and dbt needs the file next. Always read-write: within one process DuckDB
    shares the database with dbt's connection, which refuses a second one of another
    configuration."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    con = _open_waiting(settings)
    con.execute("set enable_progress_bar = false")
    con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
    try:
        yield con
    finally:
        con.close()


def _open_waiting(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting up to `settings.wait_seconds` while another process holds it (one
    that did not announce itself through holding.hold, e.g. a `dbt build`), then WarehouseBusy."""
    deadline = time.monotonic() + settings.wait_seconds
    while True:
        try:
            return duckdb.connect(str(settings.duckdb_path))
        except duckdb.IOException as error:
            busy = held_file(settings, error)
            if busy is None:
                raise
            if time.monotonic() >= deadline:
                raise busy from None
            time.sleep(POLL_SECONDS)


def duckdb_string(text: str) -> str:
    """A DuckDB string literal (BigQuery escapes strings otherwise: Warehouse.string_literal)."""
    return "'" + text.replace("'", "''") + "'"


def literal(value: Any) -> str:
    """A SQL literal both warehouses read the same way: not strings (see Warehouse.literal)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return f"timestamp '{value.replace(tzinfo=None).isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, (int, float)):
        return repr(value)
    raise TypeError(f"no portable literal for {value!r}")


def date_list(days: Sequence[date]) -> str:
    """`(date 'a', date 'b')` for `game_date in ...`; never empty."""
    return "(" + ", ".join(literal(day) for day in days) + ")" if days else "(null)"


class Warehouse:
    """One target's runner-side connection. `schema` is where dbt builds the models (and the
    ledger lives): DuckDB's `main`, or the BigQuery dataset. Subclasses give the dialect: type
    names, identifier quoting, and the methods below that raise."""

    types: dict[str, str]  # portable type name -> the warehouse's
    quote_mark: str

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    def schema(self) -> str:
        return self.settings.models_schema

    def relation(self, name: str, schema: str | None = None) -> str:
        return f"{schema or self.schema}.{name}"

    def quote(self, name: str) -> str:
        return f"{self.quote_mark}{name}{self.quote_mark}"

    def canonical_game_id(self, column: str) -> str:
        """A game id as digits only, zero-padded to 10: the dbt macro, compiled for this target."""
        return code.macro_sql(self.settings, (CANONICAL_GAME_ID,))[CANONICAL_GAME_ID].format(column)

    def literal(self, value: Any) -> str:
        return self.string_literal(value) if isinstance(value, str) else literal(value)

    def _tuples(self, rows: Sequence[Sequence[Any]]) -> str:
        return ", ".join("(" + ", ".join(self.literal(value) for value in row) + ")" for row in rows)

    def rows(self, sql: str, variables: dict[str, Any] | None = None) -> list[tuple]:
        """The rows, with these session variables set (DuckDB's `getvariable`) while the query
        runs: views and ephemeral models read them to narrow what they compute. BigQuery has
        none: the query's own filter is all there is."""
        raise NotImplementedError

    def execute(self, sql: str) -> int:
        """Run one statement; the number of rows a DML statement touched."""
        raise NotImplementedError

    def table_exists(self, name: str, schema: str | None = None) -> bool:
        raise NotImplementedError

    def columns(self, relation: str) -> list[str]:
        return list(self.column_types(relation))

    def column_types(self, relation: str) -> dict[str, str]:
        """A table's or view's columns and their types, in order."""
        raise NotImplementedError

    def query_column_types(self, sql: str) -> dict[str, str]:
        """The columns and types a query would return, in order, without running it."""
        raise NotImplementedError

    def string_literal(self, text: str) -> str:
        raise NotImplementedError

    def rows_as_select(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], types: dict[str, str]) -> str:
        """Rows as a query, for a MERGE's source, each column of its type in `types`."""
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The statements of the block in one transaction where the warehouse has them."""
        yield

    def replace_tables(self, replacements: dict[str, str]) -> None:
        """Each table `new` replaces table `old` ({new: old}); `new` may be left behind."""
        raise NotImplementedError

    def create_table(
        self, name: str, columns: dict[str, str], partition: str | None = None, cluster: str | None = None
    ) -> None:
        """A table of these columns ({name: the warehouse's type}), unless it exists; BigQuery
        partitions it by the date column `partition` and clusters it by `cluster`."""
        body = ", ".join(f"{self.quote(column)} {kind}" for column, kind in columns.items())
        self.execute(f"create table if not exists {self.relation(name)} ({body}){self._layout(partition, cluster)}")

    def _layout(self, partition: str | None, cluster: str | None) -> str:
        return ""

    def drop_table(self, name: str) -> None:
        self.execute(f"drop table if exists {self.relation(name)}")

    def drop_view(self, name: str) -> None:
        self.execute(f"drop view if exists {self.relation(name)}")


class DuckDBWarehouse(Warehouse):
    types = {
        "string": "varchar",
        "int": "bigint",
        "float": "double",
        "timestamp": "timestamp",
        "date": "date",
        "bool": "boolean",
    }
    quote_mark = '"'

    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection):
        super().__init__(settings)
        self.con = con

    def rows(self, sql: str, variables: dict[str, Any] | None = None) -> list[tuple]:
        with self._variables(variables):
            return self.con.execute(sql).fetchall()

    def arrow(self, sql: str, variables: dict[str, Any] | None = None) -> pyarrow.Table:
        """The rows as an Arrow table, with these session variables set (see `rows`)."""
        with self._variables(variables):
            return self.con.sql(sql).to_arrow_table()

    @contextmanager
    def _variables(self, variables: dict[str, Any] | None) -> Iterator[None]:
        for name, value in (variables or {}).items():
            self.con.execute(f"set variable {name} = {self.literal(value)}")
        try:
            yield
        finally:
            for name in variables or {}:
                self.con.execute(f"reset variable {name}")

    def string_literal(self, text: str) -> str:
        return duckdb_string(text)

    def rows_as_select(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], types: dict[str, str]) -> str:
        # VALUES parses about four times faster than as many `select ... union all`
        casts = ", ".join(f"cast({c} as {types[c]}) as {c}" for c in columns)
        return f"select {casts} from (values {self._tuples(rows)}) as v({', '.join(columns)})"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")

    def replace_tables(self, replacements: dict[str, str]) -> None:
        # DuckDB tracks no view's dependencies: the views over `old` read the new table at once
        for new, old in replacements.items():
            self.execute(f"drop table if exists {self.relation(old)}")
            self.execute(f"alter table {self.relation(new)} rename to {self.quote(old)}")

    def execute(self, sql: str) -> int:
        result = self.con.execute(sql).fetchall()
        return result[0][0] if result and len(result[0]) == 1 and isinstance(result[0][0], int) else 0

    def table_exists(self, name: str, schema: str | None = None) -> bool:
        return bool(
            self.rows(
                "select count(*) from information_schema.tables"
                f" where table_schema = {self.literal(schema or self.schema)} and table_name = {self.literal(name)}"
            )[0][0]
        )

    def column_types(self, relation: str) -> dict[str, str]:
        return {row[0]: row[1] for row in self.rows(f"describe {relation}")}

    def query_column_types(self, sql: str) -> dict[str, str]:
        # DESCRIBE binds the query (names, types) and runs nothing
        return {row[0]: row[1] for row in self.rows(f"describe select * from (\n{sql}\n) as compiled")}


class BigQueryWarehouse(Warehouse):
    types = {
        "string": "string",
        "int": "int64",
        "float": "float64",
        "timestamp": "timestamp",
        "date": "date",
        "bool": "bool",
    }
    quote_mark = "`"

    def _layout(self, partition: str | None, cluster: str | None) -> str:
        return (f" partition by {partition}" if partition else "") + (f" cluster by {cluster}" if cluster else "")

    def __init__(self, settings: Settings, client: bigquery.Client):
        super().__init__(settings)
        self.client = client

    def rows(self, sql: str, variables: dict[str, Any] | None = None) -> list[tuple]:
        return [tuple(_naive(value) for value in row.values()) for row in self.client.query(sql).result()]

    def arrow(self, sql: str, variables: dict[str, Any] | None = None) -> pyarrow.Table:
        """The rows as an Arrow table. A BigQuery view reads no session variables: the
        query's own filter is all there is."""
        return self.client.query(sql).to_arrow()

    def string_literal(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"

    def rows_as_select(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], types: dict[str, str]) -> str:
        fields = ", ".join(f"{c} {types[c]}" for c in columns)
        return f"select {', '.join(columns)} from unnest(array<struct<{fields}>>[{self._tuples(rows)}])"

    def replace_tables(self, replacements: dict[str, str]) -> None:
        # a table copy: BigQuery swaps in the new table, its partitioning and clustering at once
        # (readers see the old table or the new one), and copying bills no bytes
        for new, old in replacements.items():
            self.execute(f"create or replace table {self.relation(old)} copy {self.relation(new)}")

    def execute(self, sql: str) -> int:
        job = self.client.query(sql)
        job.result()
        return job.num_dml_affected_rows or 0

    def dry_run(self, sql: str) -> int:
        """The bytes a query would process, from BigQuery's plan: nothing runs or is billed."""
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(dry_run=True, use_query_cache=False)
        return self.client.query(sql, job_config=config).total_bytes_processed or 0

    def table_exists(self, name: str, schema: str | None = None) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            self.client.get_table(self.relation(name, schema))
        except NotFound:
            return False
        return True

    def column_types(self, relation: str) -> dict[str, str]:
        return {field.name: field.field_type for field in self.client.get_table(relation.replace("`", "")).schema}

    def query_column_types(self, sql: str) -> dict[str, str]:
        from google.cloud import bigquery

        # a dry run: BigQuery plans the query and says its schema, running and billing nothing
        config = bigquery.QueryJobConfig(dry_run=True, use_query_cache=False)
        return {field.name: field.field_type for field in self.client.query(sql, job_config=config).schema}


def _naive(value: Any) -> Any:
    """BigQuery returns TIMESTAMPs as UTC; the runner writes and compares naive times."""
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def bigquery_client(settings: Settings) -> bigquery.Client:
    """A client for the target the dbt profile describes: a service-account keyfile, an OAuth
    token (any token reaches an emulator), or the application-default credentials."""
    from google.cloud import bigquery

    options = {"api_endpoint": settings.bq_api_endpoint} if settings.bq_api_endpoint else None
    if settings.bq_keyfile:
        from google.oauth2 import service_account

        try:
            credentials = service_account.Credentials.from_service_account_file(settings.bq_keyfile)
        except (OSError, ValueError) as error:
            raise WarehouseUnavailable(
                f"cannot read the service-account key file SHOTZONES_BQ_KEYFILE={settings.bq_keyfile}: {error}"
            ) from error
    elif settings.bq_token:
        from google.oauth2.credentials import Credentials

        credentials = Credentials(settings.bq_token)
    else:
        credentials = None  # application-default
    from google.auth.exceptions import DefaultCredentialsError

    try:
        return bigquery.Client(
            project=settings.bq_project or None,
            credentials=credentials,
            location=settings.bq_location,
            client_options=options,
        )
    except DefaultCredentialsError as error:
        raise WarehouseUnavailable(
            "no BigQuery credentials: looked for a service-account key file in SHOTZONES_BQ_KEYFILE"
            " (unset), an OAuth token in SHOTZONES_BQ_TOKEN (unset), and application-default"
            " credentials (GOOGLE_APPLICATION_CREDENTIALS"
            f" {'= ' + os.environ['GOOGLE_APPLICATION_CREDENTIALS'] if 'GOOGLE_APPLICATION_CREDENTIALS' in os.environ else 'unset'},"
            " then gcloud's application_default_credentials.json, then the metadata server): none found."
            " Set SHOTZONES_BQ_KEYFILE, or run `gcloud auth application-default login`"
        ) from error


def require_warehouse(settings: Settings) -> None:
    """Refuse a DuckDB file that does not exist, rather than create an empty one, and BigQuery
    without credentials, before anything (a dbt compile) meets it less clearly."""
    if settings.target == "bigquery":
        bigquery_client(settings)
    elif not settings.duckdb_path.exists():
        raise WarehouseUnavailable(
            f"no warehouse at {settings.duckdb_path} (SHOTZONES_DUCKDB): run `shotzones load` first"
        )


@contextmanager
def open_warehouse(settings: Settings) -> Iterator[Warehouse]:
    """The runner's connection to an existing warehouse (the loader's `connect` creates one)."""
    if settings.target == "duckdb":
        require_warehouse(settings)
    if settings.target == "bigquery":
        client = bigquery_client(settings)
        try:
            yield BigQueryWarehouse(settings, client)
        finally:
            client.close()
    else:
        with connect(settings) as con:
            yield DuckDBWarehouse(settings, con)
