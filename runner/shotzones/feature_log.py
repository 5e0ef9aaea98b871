"""What the props model was served: every slate, logged as served, and training sets read
back from the log ("train like you serve").

The log, `shotzones_served_features` in the models' schema, is the runner's table, not a dbt
model: no `--full-refresh` or schema change of the models touches it. Each serve appends its
rows exactly as served, with:

- `serve_id`: one per serve (serving a date twice keeps both, told apart by this and
  `served_at`), `served_at` (UTC), `run_id`
  (the `update` run that served it; NULL for `features --log`) and `command`;
- what the rows came from: `served_code` and `training_code`, the code fingerprints of the
  pre-game view that served them and of the model-ready view training reads, and
  `raw_rows`/`raw_loaded_at`, the play-by-play the windows read (its row count and latest load).

A new served column (a new feature) is added to the log by the serve that first has it; older
serves have it NULL. On BigQuery the log is partitioned by `game_date` (a serve writes one
partition) and clustered by `player_lookup`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from shotzones import code, ledger
from shotzones.settings import MODEL_READY, PREGAME, Settings
from shotzones.survey import code_components, raw_version
from shotzones.warehouse import Warehouse, open_warehouse

if TYPE_CHECKING:
    import pyarrow

LOG = "shotzones_served_features"
# who was served, and for which game: the log's grain with serve_id
KEY = ("game_id", "player_lookup")
METADATA = {
    "serve_id": "string",
    "served_at": "timestamp",
    "run_id": "string",
    "command": "string",
    "served_code": "string",
    "training_code": "string",
    "raw_rows": "int",
    "raw_loaded_at": "string",
}
# rows per INSERT: BigQuery caps a statement at 1 MB of SQL
CHUNK_ROWS = 500


@dataclass(frozen=True)
class Serve:
    serve_id: str
    rows: int
    seconds: float  # what logging it took


def utc_now() -> datetime:
    """Now, in UTC (naive, as the warehouses' TIMESTAMP columns hold it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_utc(local: datetime) -> datetime:
    """A time the runner recorded in the ledger (naive, local), in UTC."""
    return local.astimezone(UTC).replace(tzinfo=None)


def _portable_type(arrow_type) -> str:
    """The portable type (Warehouse.types) of a served column."""
    import pyarrow as pa

    for test, kind in (
        (pa.types.is_boolean, "bool"),
        (pa.types.is_integer, "int"),
        (pa.types.is_floating, "float"),
        (pa.types.is_date, "date"),
        (pa.types.is_timestamp, "timestamp"),
    ):
        if test(arrow_type):
            return kind
    return "string"


def _ensure_table(wh: Warehouse, served: dict[str, str]) -> None:
    """The log, with every column of `served` ({column: portable type}): created on the first
    serve, and a column added when a serve has one the log lacks."""
    columns = METADATA | served
    if not wh.table_exists(LOG):
        types = {name: wh.types[kind] for name, kind in columns.items()}
        wh.create_table(LOG, types, partition="game_date", cluster="player_lookup")
        return
    present = wh.columns(wh.relation(LOG))
    for name, kind in served.items():
        if name not in present:
            wh.execute(f"alter table {wh.relation(LOG)} add column {wh.quote(name)} {wh.types[kind]}")


def append(settings: Settings, table: pyarrow.Table, command: str, run_id: str | None = None) -> Serve:
    """Log a slate as served."""
    started = time.perf_counter()
    serve_id = uuid.uuid4().hex[:12]
    served = {field.name: _portable_type(field.type) for field in table.schema}
    versions = code.current_versions(settings)
    with open_warehouse(settings) as wh:
        ledger.create_tables(wh)
        # what the fingerprints were made of, for `skew` to say what changed since
        ledger.record_code_versions(wh, code_components(versions), datetime.now())
        rows, loaded_at = raw_version(wh)
        metadata = {
            "serve_id": serve_id,
            "served_at": utc_now(),
            "run_id": run_id,
            "command": command,
            "served_code": versions[PREGAME].fingerprint,
            "training_code": versions[MODEL_READY].fingerprint,
            "raw_rows": rows,
            "raw_loaded_at": loaded_at,
        }
        _ensure_table(wh, served)
        columns = list(METADATA) + list(served)
        types = {name: wh.types[kind] for name, kind in (METADATA | served).items()}
        records = [tuple(metadata.values()) + tuple(row.values()) for row in table.to_pylist()]
        quoted = ", ".join(wh.quote(c) for c in columns)
        for start in range(0, len(records), CHUNK_ROWS):
            source = wh.rows_as_select(columns, records[start : start + CHUNK_ROWS], types)
            wh.execute(f"insert into {wh.relation(LOG)} ({quoted}) {source}")
    return Serve(serve_id, table.num_rows, time.perf_counter() - started)


def exists(wh: Warehouse) -> bool:
    return wh.table_exists(LOG)


def last_serves_sql(wh: Warehouse, start: date | None, end: date | None) -> str:
    """Per (game, player) in the range, the last serve of his game's slate: what the props
    model last saw before the game."""
    bounds = [f"game_date >= {wh.literal(start)}"] if start else []
    bounds += [f"game_date <= {wh.literal(end)}"] if end else []
    where = " and ".join(bounds) or "true"
    return (
        f"select * from {wh.relation(LOG)} where {where}"
        f" qualify row_number() over (partition by {', '.join(KEY)} order by served_at desc, serve_id desc) = 1"
    )
