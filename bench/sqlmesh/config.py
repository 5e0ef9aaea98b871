"""SQLMesh project for the benchmark's side-by-side comparison (bench/sqlmesh_compare.py).

The warehouse is the DuckDB file $SHOTZONES_DUCKDB, as for the runner; SQLMesh keeps its state
(snapshots, intervals) in that same file. The first date to backfill is $SHOTZONES_SQLMESH_START;
$SHOTZONES_SQLMESH_BATCH_SIZE sets the incremental models' batch_size in days. Unset, it is
larger than any range, which schedules exactly as SQLMesh's default (no batch_size): its scheduler
cuts a batch only at batch_size or at a gap, so every contiguous missing range is one batch.
"""

import os

from sqlmesh.core.config import (
    Config,
    DuckDBConnectionConfig,
    GatewayConfig,
    ModelDefaultsConfig,
)

config = Config(
    gateways={
        "duckdb": GatewayConfig(
            connection=DuckDBConnectionConfig(
                database=os.environ.get("SHOTZONES_DUCKDB", "warehouse/shotzones.duckdb"),
                # as the runner (SHOTZONES_DUCKDB_MEMORY_LIMIT)
                connector_config={"memory_limit": os.environ.get("SHOTZONES_DUCKDB_MEMORY_LIMIT", "1GB")},
            ),
        ),
    },
    default_gateway="duckdb",
    model_defaults=ModelDefaultsConfig(
        dialect="duckdb",
        start=os.environ.get("SHOTZONES_SQLMESH_START", "2021-10-19"),
        cron="@daily",
    ),
    variables={"batch_size": int(os.environ.get("SHOTZONES_SQLMESH_BATCH_SIZE", "1000000"))},
)
