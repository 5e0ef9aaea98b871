"""Side by side with SQLMesh (issue 17): the same two incremental tables, built by the runner and
by the SQLMesh project in bench/sqlmesh, from byte copies of one loaded warehouse, in one run.

SQLMesh 0.236 requires duckdb < 2 and this project runs duckdb 2.0, whose files duckdb 1.x cannot
open: SQLMesh runs from its own venv (.venv-bench, `make bench`), and the comparison starts from
a copy of the loaded warehouse written in storage version 1.5, which both engines open. Every
run below, the runner's and SQLMesh's, starts from a byte copy of that one file. The engines
still differ (duckdb 2.0.1 under the runner, 1.5.6 under SQLMesh); the report says so.

SQLMesh keeps its state in the warehouse file itself. Its plans and runs are given an explicit
end (`--execution-time` the day after the last game date, `run --end` that date), as if it were
run the morning after the games: left to `now`, it would also fill every empty day since.

Called from bench/run.py as `compare(bench, harness, loaded, dates, data_dir)`, where harness is
the run.py module (its measure, fresh_copy, parse and query), so every command lands in the
same report.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROJECT = BENCH / "sqlmesh"
SQLMESH = ROOT / ".venv-bench" / "bin" / "sqlmesh"
STORAGE_VERSION = "v1.5.0"  # the newest storage version SQLMesh's duckdb (1.5) reads
DAILY_SAMPLE_DAYS = 30  # daily batches measured on the first 30 calendar days, then scaled
MODELS = ("int_player_game_shot_zones", "player_shot_zone_features")


@contextmanager
def environment(**values: str):
    """Environment variables for the commands measured inside (the harness passes its own)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sqlmesh(*arguments: str, logs: Path) -> list[str]:
    return [str(SQLMESH), "--paths", str(PROJECT), "--log-file-dir", str(logs), *arguments]


def plan(execution_time: date, logs: Path, *extra: str) -> list[str]:
    return sqlmesh(
        "plan", "--auto-apply", "--no-prompts", "--execution-time", execution_time.isoformat(), *extra, logs=logs
    )


def downgrade(source: Path, target: Path) -> None:
    """A copy of a warehouse in a storage version duckdb 1.x opens."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, target.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach '{source}' as source (read_only)")
        con.execute(f"attach '{target}' as target (storage_version '{STORAGE_VERSION}')")
        con.execute("copy from database source to target")
    finally:
        con.close()


def differing_rows(ours: Path, theirs: Path, before: date | None = None) -> dict[str, int]:
    """Rows of each table in one warehouse and not the other (multiset difference, both ways),
    over our table's columns (and game dates before `before`); SQLMesh's views name their
    file's catalog, so it is attached as its own name."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{ours}' as ours (read_only)")
        con.execute(f"attach '{theirs}' as \"{theirs.stem}\" (read_only)")
        counts = {}
        for model in MODELS:
            columns = ", ".join(
                f'"{c}"'
                for (c,) in con.execute(
                    "select column_name from information_schema.columns"
                    " where table_catalog = 'ours' and table_schema = 'main' and table_name = ? order by ordinal_position",
                    [model],
                ).fetchall()
            )
            where = f"where game_date < date '{before}'" if before else ""
            a = f"select {columns} from ours.main.{model} {where}"
            b = f'select {columns} from "{theirs.stem}".shotzones.{model} {where}'
            counts[model] = con.execute(
                f"select (select count(*) from ({a} except all {b})) + (select count(*) from ({b} except all {a}))"
            ).fetchone()[0]
        return counts
    finally:
        con.close()


def corrected_file(data_dir: Path, day: date, out_dir: Path) -> tuple[Path, str]:
    """One game of `day` re-delivered with one mid-range two moved to the restricted area
    (coordinates 0, 10), as a corrected BigDataBall file would; under the original name."""
    source = sorted(p for p in data_dir.rglob("*.csv") if p.name.startswith(f"[{day.isoformat()}]"))[0]
    with open(source, newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    at = {name: header.index(name) for name in ("event_type", "type", "description", "original_x", "original_y")}
    for row in rows[1:]:
        try:
            x, y = float(row[at["original_x"]]), float(row[at["original_y"]])
        except ValueError:
            continue
        is_three = "3pt" in row[at["type"]].lower() or "3PT" in row[at["description"]].upper()
        if row[at["event_type"]].lower() in ("shot", "miss") and not is_three and y > 150:
            row[at["original_x"]], row[at["original_y"]] = "0", "10"
            break
    else:
        raise SystemExit(f"no mid-range two in {source} to correct")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / source.name
    with open(target, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    game = re.search(r"-(\d{10})-", source.name).group(1)
    return target, f"game {game} of {day}: one shot at ({x:g}, {y:g}) moved to (0, 10)"


def compare(bench, harness, loaded: Path, dates: list[date], data_dir: Path) -> None:
    """Measure each scenario with both tools; figures into bench.figures, the table's rows into
    bench.details['sqlmesh']."""
    if not SQLMESH.exists():
        raise SystemExit(f"{SQLMESH} is missing: `make bench` installs SQLMesh into .venv-bench")
    h, f = harness, bench.figures
    logs = h.CACHE / "sqlmesh-logs"
    first, newest = dates[0], dates[-1]
    previous = dates[-2]
    base = h.WAREHOUSES / "sqlmesh-base.duckdb"
    downgrade(loaded, base)
    measure = h.measure

    def copy(name: str, runner: bool = False) -> Path:
        return h.fresh_copy(base, name, parsed=runner)

    scenarios = []

    def scenario(what: str, ours, theirs, note: str = "", differing: dict | None = None) -> None:
        scenarios.append(
            {
                "scenario": what,
                "ours_s": ours.seconds if ours else None,
                "sqlmesh_s": theirs.seconds,
                "ours_command": ours.command if ours else "",
                "sqlmesh_command": theirs.command,
                "ours_cpu_s": ours.cpu_seconds if ours else None,
                "sqlmesh_cpu_s": theirs.cpu_seconds,
                "note": note,
                "differing_rows": differing,
            }
        )

    with environment(SHOTZONES_SQLMESH_START=first.isoformat()):
        # untimed: SQLMesh's project cache (its parse), as dbt's saved parse is warm for ours
        warm = copy("sqlmesh-warm-up")
        measure("SQLMesh warm-up: plan, first 2 days", plan(first + timedelta(days=2), logs), warm)
        warm.unlink()

        # 1. the three-season backfill
        ours_full = measure(
            "ours: backfill 3 seasons (storage v1.5 copy)", [h.SHOTZONES, "backfill"], copy("ours-full", runner=True)
        )
        theirs_full_warehouse = copy("sqlmesh-full")
        theirs_full = measure(
            "SQLMesh: plan, 3 seasons, default batching", plan(newest + timedelta(days=1), logs), theirs_full_warehouse
        )
        full_differing = differing_rows(h.WAREHOUSES / "ours-full.duckdb", theirs_full_warehouse)
        scenario(
            "backfill, 3 seasons",
            ours_full,
            theirs_full,
            "SQLMesh: one batch per model (its default: no batch_size)",
            full_differing,
        )

        # 1b. daily batches: the first calendar days measured, scaled to the whole range
        sample_end = first + timedelta(days=DAILY_SAMPLE_DAYS)
        daily_warehouse = copy("sqlmesh-daily")
        with environment(SHOTZONES_SQLMESH_BATCH_SIZE="1"):
            daily = measure(
                f"SQLMesh: plan, daily batch_size, first {DAILY_SAMPLE_DAYS} days",
                plan(sample_end, logs),
                daily_warehouse,
            )
        daily_differing = differing_rows(h.WAREHOUSES / "ours-full.duckdb", daily_warehouse, before=sample_end)
        calendar_days = (newest - first).days + 1

        # 2-4. a chain: everything but the newest date built, then the newest date, nothing, a correction
        ours_chain = copy("ours-chain", runner=True)
        theirs_chain = copy("sqlmesh-chain")
        for warehouse in (ours_chain, theirs_chain):
            h.query(
                warehouse, "delete from nba_raw.bigdataball_play_by_play where game_date = ?", [newest], read_only=False
            )
        measure("ours: setup, backfill but the newest date", [h.SHOTZONES, "backfill"], ours_chain)
        measure("SQLMesh: setup, plan but the newest date", plan(newest, logs), theirs_chain)
        files = [str(p) for p in h.files_of(data_dir, newest)]
        for name, warehouse in (("ours", ours_chain), ("SQLMesh", theirs_chain)):
            # --all: the manifest remembers these files from before their rows were deleted
            measure(f"{name}: setup, load the newest date", [h.SHOTZONES, "load", "--all", *files], warehouse)
        run_to_newest = sqlmesh("run", "--end", newest.isoformat(), logs=logs)
        ours_one = measure("ours: one new game date", [h.SHOTZONES, "backfill"], ours_chain)
        theirs_one = measure("SQLMesh: one new game date", run_to_newest, theirs_chain)
        scenario(
            "one new game date",
            ours_one,
            theirs_one,
            f"SQLMesh: `run` fills the {(newest - previous).days} calendar days since the last run",
            differing_rows(ours_chain, theirs_chain),
        )
        ours_nothing = measure("ours: nothing to do", [h.SHOTZONES, "backfill"], ours_chain)
        theirs_nothing = measure("SQLMesh: nothing to do", run_to_newest, theirs_chain)
        scenario("nothing to do", ours_nothing, theirs_nothing)

        # 5. a corrected game in the middle of the range
        corrected_day = dates[len(dates) // 2]
        path, what = corrected_file(data_dir, corrected_day, h.CACHE / "corrected")
        for name, warehouse in (("ours", ours_chain), ("SQLMesh", theirs_chain)):
            measure(f"{name}: setup, load the corrected game", [h.SHOTZONES, "load", str(path)], warehouse)
        ours_fix = measure("ours: corrected game", [h.SHOTZONES, "backfill"], ours_chain)
        # restating the corrected date alone: the features of the next games keep the old counts
        restate_day = measure(
            "SQLMesh: corrected game, restating its date only",
            plan(
                newest + timedelta(days=1),
                logs,
                "--restate-model",
                "shotzones.int_player_game_shot_zones",
                "--start",
                corrected_day.isoformat(),
                "--end",
                corrected_day.isoformat(),
            ),
            theirs_chain,
        )
        scenario(
            "corrected game, SQLMesh restating its date only",
            None,
            restate_day,
            "wrong: the later features in the players' windows are not rebuilt",
            differing_rows(ours_chain, theirs_chain),
        )
        naive = scenarios.pop() | {"expected_equal": False}
        # then the features alone from that date to the end: together, the least SQLMesh can restate
        restate_features = measure(
            "SQLMesh: corrected game, restating the features to the end",
            plan(
                newest + timedelta(days=1),
                logs,
                "--restate-model",
                "shotzones.player_shot_zone_features",
                "--start",
                corrected_day.isoformat(),
                "--end",
                newest.isoformat(),
            ),
            theirs_chain,
        )
        targeted = {
            "scenario": "corrected game, SQLMesh targeted (two restatements)",
            "ours_s": ours_fix.seconds,
            "sqlmesh_s": round(restate_day.seconds + restate_features.seconds, 2),
            "ours_command": ours_fix.command,
            "sqlmesh_command": f"{restate_day.command}; {restate_features.command}",
            "ours_cpu_s": ours_fix.cpu_seconds,
            "sqlmesh_cpu_s": round(restate_day.cpu_seconds + restate_features.cpu_seconds, 1),
            "note": "the date's player-games (and features), then the features from that date to the end",
            "differing_rows": differing_rows(ours_chain, theirs_chain),
        }
        theirs_fix = measure(
            "SQLMesh: corrected game, restatement",
            plan(
                newest + timedelta(days=1),
                logs,
                "--restate-model",
                "shotzones.int_player_game_shot_zones",
                "--start",
                corrected_day.isoformat(),
                "--end",
                newest.isoformat(),
            ),
            theirs_chain,
        )
        rebuilt = h.query(
            ours_chain,
            "select count(*) from shotzones_ledger where run_id = "
            "(select run_id from shotzones_ledger order by finished_at desc limit 1)",
        )[0][0]
        scenario(
            "corrected game",
            ours_fix,
            theirs_fix,
            f"{what}. Ours finds the change and rebuilds {rebuilt} partitions; SQLMesh is told the model and"
            f" range to restate: the corrected date to the end ({(newest - corrected_day).days + 1} days),"
            " the features' downstream reach",
            differing_rows(ours_chain, theirs_chain),
        )
        scenarios += [targeted, naive]

    daily_fixed = theirs_nothing.seconds  # process, project, state: what a run with nothing to do costs
    daily_estimate = daily_fixed + (daily.seconds - daily_fixed) * calendar_days / DAILY_SAMPLE_DAYS
    scenarios.insert(
        1,
        {
            "scenario": "backfill, 3 seasons, daily batch_size (estimated)",
            "ours_s": ours_full.seconds,
            "sqlmesh_s": round(daily_estimate, 1),
            "ours_command": ours_full.command,
            "sqlmesh_command": daily.command,
            "ours_cpu_s": ours_full.cpu_seconds,
            "sqlmesh_cpu_s": None,
            "differing_rows": daily_differing,
            "note": f"measured: the first {DAILY_SAMPLE_DAYS} calendar days in {daily.seconds:.1f} s"
            f" ({DAILY_SAMPLE_DAYS * 2} batches; differing rows on those days); scaled to {calendar_days} days, plus a no-op run's {daily_fixed:.1f} s",
        },
    )
    for row in scenarios:
        row["ratio"] = round(row["sqlmesh_s"] / row["ours_s"], 2) if row["ours_s"] else None
    f["sqlmesh_backfill_3_seasons_s"] = theirs_full.seconds
    f["sqlmesh_backfill_over_ours"] = scenarios[0]["ratio"]
    # rows that should be equal and are not (the date-only restatement is shown for its difference)
    f["sqlmesh_rows_differing"] = sum(
        sum((row["differing_rows"] or {}).values()) for row in scenarios if row.get("expected_equal", True)
    )
    bench.details["sqlmesh"] = {
        "scenarios": scenarios,
        "corrected": what,
        "daily_sample_days": DAILY_SAMPLE_DAYS,
        "versions": versions(),
        "storage_version": STORAGE_VERSION,
    }


def versions() -> dict[str, str]:
    python = ROOT / ".venv-bench" / "bin" / "python"
    script = "from importlib import metadata as m; print(m.version('sqlmesh'), m.version('duckdb'))"
    sqlmesh_version, duckdb_version = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    return {"sqlmesh": sqlmesh_version, "duckdb": duckdb_version}


def markdown(details: dict) -> list[str]:
    """The section of BENCHMARKS.md."""
    s = details["sqlmesh"]
    out = [
        "",
        "## Side by side with SQLMesh",
        "",
        f"`bench/sqlmesh` is a SQLMesh project (sqlmesh {s['versions']['sqlmesh']}, its state in the DuckDB file)"
        " with the same two incremental tables from the same raw table: the staging views, int_player_game_shot_zones"
        " and player_shot_zone_features as `INCREMENTAL_BY_TIME_RANGE` models on `game_date`, our SQL with our macros"
        " as SQLMesh macros, the features reading their lookback explicitly; the NULL-rate, key and range checks as"
        " audits (blocking; the warn bands non-blocking). Both tools start every scenario from a byte copy of one"
        f" loaded warehouse, written in storage version {s['storage_version'][1:]} because SQLMesh requires duckdb < 2:"
        f" it runs on duckdb {s['versions']['duckdb']}, the runner on the project's duckdb. Differing rows: rows"
        " in one tool's table and not the other's, both ways, after the scenario.",
        "",
        "| scenario | ours (s) | SQLMesh (s) | SQLMesh / ours | CPU s, ours / SQLMesh | differing rows | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in s["scenarios"]:
        differing = ", ".join(str(v) for v in row["differing_rows"].values()) if row["differing_rows"] else ""
        ours = f"{row['ours_s']:.2f}" if row["ours_s"] is not None else ""
        ratio = row["ratio"] if row["ratio"] is not None else ""
        cpu = " / ".join(f"{v:.1f}" if v is not None else "-" for v in (row["ours_cpu_s"], row["sqlmesh_cpu_s"]))
        out.append(
            f"| {row['scenario']} | {ours} | {row['sqlmesh_s']:.2f} | {ratio} | {cpu} | {differing} | {row['note']} |"
        )
    out += [
        "",
        "Commands: ours `shotzones backfill` (it finds what is pending or changed); SQLMesh `sqlmesh plan --auto-apply"
        " --no-prompts --execution-time <day after the last date>` (with `--restate-model"
        " shotzones.int_player_game_shot_zones --start <corrected date> --end <last date>` for the correction, which"
        " restates its downstream model too) and `sqlmesh run --end <last date>`. Differing rows are given per table"
        " (int_player_game_shot_zones, player_shot_zone_features).",
    ]
    return out
