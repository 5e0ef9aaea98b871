"""The old pipeline's way, for `make bench`: each game date's features recomputed from ALL the
play-by-play up to that date, in one query, one date at a time.

The query is the project's own SQL, compiled by dbt (bench/run.py compiles the two incremental
models with sentinel batch bounds): `int_player_game_shot_zones` over every date from the first
up to the day (through the staging views, over the raw table), inlined as a subquery where
`player_shot_zone_features` reads it, then the windows, keeping that day's rows.

Usage: python bench/old_approach.py WAREHOUSE INT_SQL FEATURES_SQL DATE [DATE ...]
Prints one JSON object: per date, the seconds of the query and whether its rows equal the
incremental features table's rows for that date.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import duckdb

# the sentinel bounds bench/run.py compiles the models with
FIRST, LAST = "1901-01-01", "2999-12-31"
PLAYER_GAMES = re.compile(r'"[^"]+"\."main"\."int_player_game_shot_zones"')


def query_for(int_sql: str, features_sql: str, day: str) -> str:
    history = int_sql.replace(f"date '{LAST}'", f"date '{day}'")  # every date up to the day
    features = features_sql.replace(f"date '{FIRST}'", f"date '{day}'").replace(
        f"date '{LAST}'", f"date '{day}'"
    )  # the day's rows, windows reading everything up to it
    features, count = PLAYER_GAMES.subn(lambda _: f"(\n{history}\n)", features)
    if count != 1:
        raise SystemExit(f"expected one reference to int_player_game_shot_zones, found {count}")
    return features


def main() -> None:
    warehouse, int_path, features_path, *days = sys.argv[1:]
    int_sql, features_sql = Path(int_path).read_text(), Path(features_path).read_text()
    results = []
    for day in days:
        query = query_for(int_sql, features_sql, day)
        con = duckdb.connect(warehouse, read_only=True)  # a fresh job per day, as the old pipeline
        con.execute("set enable_progress_bar = false")
        started = time.perf_counter()
        con.execute(f"create temp table old_features as {query}")
        seconds = time.perf_counter() - started
        rows = con.execute("select count(*) from old_features").fetchone()[0]
        differing = con.execute(
            "select count(*) from ("
            f" (select * from old_features except all select * from player_shot_zone_features where game_date = date '{day}')"
            " union all"
            f" (select * from player_shot_zone_features where game_date = date '{day}' except all select * from old_features)"
            ")"
        ).fetchone()[0]
        raw_rows = con.execute(
            f"select count(*) from nba_raw.bigdataball_play_by_play where game_date <= date '{day}'"
        ).fetchone()[0]
        con.close()
        results.append(
            {
                "date": day,
                "seconds": round(seconds, 3),
                "rows": rows,
                "raw_rows_read": raw_rows,
                "differing_rows": differing,
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
