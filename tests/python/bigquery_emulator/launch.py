"""Start the BigQuery emulator (crucible-emulator, `crucible serve --dialect bigquery`) for the
tests, with the shims this project needs. Test set-up only: production SQL and the runner never
know about any of this.

Runs in its own venv (`make emulator` builds `.venv-emulator`; the emulator pins duckdb 1.5.6,
the project has duckdb 2.x):

    .venv-emulator/bin/python tests/python/bigquery_emulator/launch.py [--port P] [--database F]

It binds the port itself (port 0, the default, lets the OS choose a free one), prints
`port <P>` on stdout once bound, then serves until killed: a caller reads that line, then polls
`GET /_crucible/health`.

The shims, each for one thing BigQuery has and the emulator (0.1.0a2) lacks:

* `NORMALIZE(x, NFKD)` (used by `bigquery__strip_accents`): no such DuckDB function; a Python UDF
  wrapping `unicodedata.normalize` is registered in the emulator's DuckDB, and SQLGlot's
  `exp.Normalize` is generated as a call to it.
* Comment-only statements: dbt-bigquery's static `insert_overwrite` sends
  `merge ...;-- 2. clean up the temp table\\ndrop table ...`. SQLGlot parses the comment after
  the `;` as an empty statement, which the emulator refuses after the MERGE already ran: such
  statements are dropped when a script is split.
* `OPTIONS(require_partition_filter = true)`: refused (the emulator cannot enforce it). It is
  accepted and recorded, not enforced: tests check the runner's own filters themselves.
* Load jobs: the emulator refuses every configuration key it does not know. The loader sets
  `allowQuotedNewlines` (BigQuery needs it for a value holding a line break) and
  `preserveAsciiControlCharacters`; they are accepted and ignored. The emulator's CSV reader
  keeps control characters already, and fails loudly on a quoted line break (tests have none).

* Dry runs: refused. A dry run of a query (what `shotzones plan` sends, the compiled SELECT of
  each model and test) runs it instead, which checks it as BigQuery's planner would; the
  emulator reports 0 bytes processed, where BigQuery reports the bytes it would scan.

* `CREATE OR REPLACE TABLE t COPY s` (how the runner swaps a model's new version in): no copy
  DDL; it is created as `SELECT * FROM s`, with `s`'s partitioning and clustering recorded.
* Dry runs report no schema: a dry run that the shim runs (above) reports the schema of the rows
  it returned, as BigQuery's dry run reports the schema a query would return.

* Descriptions (dbt's `persist_docs`): dbt-bigquery writes a model's description into its
  `OPTIONS(description = ...)`, which the emulator records, then again with a tables.patch of
  `description`, which it refuses; and its columns' descriptions with a tables.patch of the
  schema, each field with its `description`, which it accepts and forgets. Both patches are
  recorded with the table's properties (a `CREATE OR REPLACE` forgets them, as BigQuery's does
  unless the DDL restates them, and `COPY` carries them), and tables.get returns them as
  BigQuery's does: a test reads the descriptions BigQuery would show.

And one for speed: a load job inserts its parsed rows with DuckDB's `executemany`, one row at a
time (~1.5 ms a row: 30 s for two weeks of games). The same rows go in as one statement from
a pandas frame.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import threading
import unicodedata
import uuid
from contextlib import contextmanager

import pandas
import uvicorn
from crucible.dialects.bigquery import ddl, statements
from crucible.dialects.bigquery.generator import BigQueryToDuckDB
from crucible.engine import Engine
from crucible.server.app import create_app
from crucible.server.bigquery import app as bigquery_app
from crucible.server.bigquery import encoding, jobs
from sqlglot import exp
from starlette.concurrency import run_in_threadpool

FORMS = ("NFC", "NFKC", "NFD", "NFKD")


def _normalize_sql(generator, expression: exp.Normalize) -> str:
    form = expression.args.get("form")
    name = (form.name if form is not None else "NFC").upper()
    if name not in FORMS:
        raise ValueError(f"NORMALIZE: unknown form {name}")
    return generator.func(f"shim_normalize_{name.lower()}", expression.this)


def _split_without_comment_statements(sql: str, _split=statements.split) -> list:
    return [statement for statement in _split(sql) if not isinstance(statement.tree, exp.Semicolon)]


def _options_accepting_partition_filter(properties: list, _options=ddl._options) -> dict:
    wanted = [
        prop
        for prop in properties
        if not (isinstance(prop, exp.Property) and prop.name.lower() == "require_partition_filter")
    ]
    options = _options(wanted)
    if len(wanted) < len(properties):
        options["require_partition_filter"] = "accepted by the test shim, not enforced"
    return options


_READ_QUERY = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(select|with|\()", re.IGNORECASE | re.DOTALL)


def _obj_running_dry_runs(value, _obj=jobs.obj) -> dict:
    """A job configuration, with `dryRun` taken off a read query: it then runs, and fails as a
    dry run would on a query BigQuery cannot plan. A dry run of anything else stays refused."""
    configuration = _obj(value)
    query = _obj(configuration.get("query")).get("query", "")
    if configuration.get("dryRun") and _READ_QUERY.match(query):
        return {key: item for key, item in configuration.items() if key != "dryRun"} | {_RAN_DRY_RUN: True}
    return configuration


def _create_table_copying(tree: exp.Create, ctx, _create=ddl._create_table):
    """`CREATE [OR REPLACE] TABLE t COPY s` as `... AS SELECT * FROM s`, keeping `s`'s recorded
    partitioning and clustering."""
    clone = tree.args.get("clone")
    if clone is None or not clone.args.get("copy"):
        return _create(tree, ctx)
    as_select = tree.copy()
    as_select.set("clone", None)
    as_select.set("expression", exp.select("*").from_(clone.this.copy()))
    plan = _create(as_select, ctx)
    target, source = ddl.metadata.name_of(tree.this, ctx), ddl.metadata.name_of(clone.this, ctx)

    def run(c):
        result = plan.run(c)
        properties = c.catalog.properties(source.project, source.dataset, source.table)
        c.catalog.set_properties(target.project, target.dataset, target.table, properties)
        return result

    return type(plan)(run, plan.statement_type)


# marks the configuration of a dry run the shim runs (the emulator ignores keys it does not know)
_RAN_DRY_RUN = "shimRanDryRun"


def _job_resource_with_dry_run_schema(self, job, base, _resource=bigquery_app.BigQueryServer.job_resource):
    """A dry run the shim ran: its statistics carry the schema of the rows, as BigQuery's do."""
    resource = _resource(self, job, base)
    if job.configuration.get(_RAN_DRY_RUN) and job.columns is not None:
        schema = encoding.schema([(column.name, column.type) for column in job.columns])
        resource["statistics"].setdefault("query", {})["schema"] = schema
    return resource


# where the shim keeps the columns' descriptions among a table's properties
_COLUMN_DESCRIPTIONS = "shim_column_descriptions"


def _check_fields_accepting_a_description(body, allowed, call, _check=bigquery_app._check_fields) -> None:
    _check(body, (*allowed, "description") if call == "tables.patch" else allowed, call)


async def _tables_patch_recording_descriptions(self, request, _patch=bigquery_app.BigQueryServer.tables_patch):
    """tables.patch as the emulator does it, then the table's and its fields' descriptions
    recorded with its properties; the table as tables.get returns it."""
    body = await request.json()  # Starlette keeps it: the emulator's handler reads it again
    response = await _patch(self, request)
    fields = (body.get("schema") or {}).get("fields")
    if response.status_code != 200 or ("description" not in body and fields is None):
        return response
    project, dataset, table = (request.path_params[key] for key in ("project", "dataset", "table"))

    def record(ctx) -> None:
        properties = ctx.catalog.properties(project, dataset, table)
        if "description" in body:
            properties["options"] = properties.get("options", {}) | {"description": body["description"]}
        if fields is not None:
            properties[_COLUMN_DESCRIPTIONS] = {
                field["name"]: field["description"] for field in fields if field.get("description")
            }
        ctx.catalog.set_properties(project, dataset, table, properties)

    await run_in_threadpool(self._context_run, project, record)
    return await self.tables_get(request)


def _table_resource_with_descriptions(self, info, *args, _resource=bigquery_app.BigQueryServer._table_resource):
    """A table resource (tables.get, tables.patch) with the descriptions recorded."""
    resource = _resource(self, info, *args)
    description = info.properties.get("options", {}).get("description")
    if description is not None:
        resource["description"] = description
    columns = info.properties.get(_COLUMN_DESCRIPTIONS, {})
    for field in resource["schema"]["fields"]:
        if field["name"] in columns:
            field["description"] = columns[field["name"]]
    return resource


_INSERT_VALUES = re.compile(r"INSERT INTO (\S+) VALUES \((\?(?:, \?)*)\)")
_in_load_job = threading.local()


class _BatchInsertCursor:
    """A DuckDB cursor whose `executemany` of `INSERT INTO t VALUES (?, ...)` inserts all the
    rows in one statement from a pandas frame of their text (DuckDB casts the text to each
    column's type as it would cast the parameters); everything else goes to the cursor itself."""

    def __init__(self, cursor):
        self._cursor = cursor

    def __getattr__(self, name: str):
        return getattr(self._cursor, name)

    def executemany(self, sql: str, rows):
        match = _INSERT_VALUES.fullmatch(sql.strip())
        rows = list(rows)
        if match is None or not rows:
            return self._cursor.executemany(sql, rows)
        frame = pandas.DataFrame(
            [[None if value is None else str(value) for value in row] for row in rows],
            columns=[f"c{number}" for number in range(len(rows[0]))],
            dtype=object,
        )
        name = f"shim_rows_{uuid.uuid4().hex}"
        self._cursor.register(name, frame)
        try:
            self._cursor.execute(f"INSERT INTO {match.group(1)} SELECT * FROM {name}")
        finally:
            self._cursor.unregister(name)
        return self._cursor


def _load_with_batch_inserts(self, *args, _load=jobs.Runner._load, **kwargs):
    _in_load_job.active = True
    try:
        return _load(self, *args, **kwargs)
    finally:
        _in_load_job.active = False


@contextmanager
def _cursor(self, session, _cursor=Engine.cursor):
    with _cursor(self, session) as cursor:
        yield _BatchInsertCursor(cursor) if getattr(_in_load_job, "active", False) else cursor


def _normalizer(form: str):
    def normalize(value: str) -> str:
        return unicodedata.normalize(form, value)

    return normalize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--database", help="a DuckDB file for the state (default: in memory)")
    args = parser.parse_args()

    BigQueryToDuckDB.Generator.TRANSFORMS[exp.Normalize] = _normalize_sql
    statements.split = _split_without_comment_statements
    ddl._options = _options_accepting_partition_filter
    jobs._IGNORED_LOAD_KEYS = jobs._IGNORED_LOAD_KEYS | {
        "allowQuotedNewlines",
        "preserveAsciiControlCharacters",
    }
    jobs.Runner._load = _load_with_batch_inserts
    bigquery_app.obj = _obj_running_dry_runs
    bigquery_app.BigQueryServer.job_resource = _job_resource_with_dry_run_schema
    ddl._create_table = _create_table_copying
    bigquery_app._check_fields = _check_fields_accepting_a_description
    bigquery_app.BigQueryServer.tables_patch = _tables_patch_recording_descriptions
    bigquery_app.BigQueryServer._table_resource = _table_resource_with_descriptions
    Engine.cursor = _cursor

    engine = Engine(args.database)
    for form in FORMS:
        engine._con.create_function(  # the engine's one connection: every request's cursor sees it
            f"shim_normalize_{form.lower()}",
            _normalizer(form),
            ["VARCHAR"],
            "VARCHAR",
            null_handling="default",
        )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    print(f"port {sock.getsockname()[1]}", flush=True)
    # Access logs off: noise, as in `crucible serve`.
    config = uvicorn.Config(
        create_app("bigquery", engine),
        host=args.host,
        port=sock.getsockname()[1],
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
