"""`make bench`: the shotzones benchmark, every figure measured side by side in one run.

Every measured step is a subprocess (the `shotzones` CLI or `dbt`, as a user runs them), timed
wall-clock from start to exit, its peak resident memory taken from the kernel (wait4). Each
warehouse is a fresh copy of one loaded warehouse file, so every build starts from the same
state without reloading. dbt writes its target/ and logs/ under bench/cache (DBT_TARGET_PATH,
DBT_LOG_PATH), which changes nothing but where they go.

Generated data is cached under bench/cache/data (`--regenerate` to measure generation again);
everything else is measured on every run. Writes BENCHMARKS.md and bench/results.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path

import duckdb
import sqlmesh_compare

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CACHE = BENCH / "cache"
DATA = CACHE / "data"
WAREHOUSES = CACHE / "warehouses"
LOGS = CACHE / "logs"
TARGET = CACHE / "target"  # dbt's target dir for the project (partial parsing carries over)
MICROBATCH_TARGET = CACHE / "target-microbatch"
BIN = Path(sys.executable).parent
SHOTZONES, DBT, PYTHON = str(BIN / "shotzones"), str(BIN / "dbt"), sys.executable
MICROBATCH_PROJECT = BENCH / "microbatch"
PROFILES = ROOT / "profiles"

THREE = {"first_season": 2021, "seasons": 3, "seed": 7}
TEN = {"first_season": 2015, "seasons": 10, "seed": 7}
HISTORY = {"first_season": 1996, "seasons": 30, "seed": 7}  # 1996-97 to 2025-26, playoffs included
OLD_APPROACH_SAMPLES = 10
EDGE_DATES = 30  # first 30 against last 30
LATE_MICROBATCH_DAYS = 30  # calendar days at the end of the range, for the late per-batch cost
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    command: str
    seconds: float
    cpu_seconds: float  # user + system: what the process used, however busy the machine was
    peak_mb: float
    returncode: int
    log_dir: str
    output_tail: str = ""

    def ok(self) -> bool:
        return self.returncode == 0


RUNS: list[Run] = []


def measure(
    label: str,
    argv: list[str],
    warehouse: Path | None = None,
    cwd: Path = ROOT,
    check: bool = True,
    target: Path = TARGET,
    env: dict[str, str] | None = None,
) -> Run:
    """Run one command as a subprocess; wall-clock seconds and peak RSS of that process."""
    log_dir = LOGS / re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    environment = {**os.environ, "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(log_dir), "NO_COLOR": "1"}
    environment |= env or {}
    if warehouse is not None:
        environment["SHOTZONES_DUCKDB"] = str(warehouse)
    shown = " ".join(Path(a).name if a in (SHOTZONES, DBT, PYTHON) else a for a in argv).replace(f"{ROOT}/", "")
    print(f"  {label}: {shown}", flush=True)
    with open(log_dir / "output.txt", "w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=environment, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    text = (log_dir / "output.txt").read_text(errors="replace")
    tail = "\n".join(ANSI.sub("", text).strip().splitlines()[-6:])
    cpu = usage.ru_utime + usage.ru_stime
    run = Run(
        label,
        shown,
        round(seconds, 2),
        round(cpu, 2),
        round(usage.ru_maxrss / 1024, 1),
        process.returncode,
        str(log_dir.relative_to(ROOT)),
        tail,
    )
    RUNS.append(run)
    print(f"    {seconds:.2f} s (cpu {cpu:.1f} s), peak {run.peak_mb:,.0f} MB, exit {run.returncode}", flush=True)
    if check and not run.ok():
        raise SystemExit(f"{label} failed (exit {run.returncode}):\n{text[-3000:]}")
    return run


def json_events(run: Run, kind: str) -> list[dict]:
    """The `--json` events of one kind a command printed (its output holds stderr too)."""
    lines = (ROOT / run.log_dir / "output.txt").read_text().splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    return [event for event in events if event.get("event") == kind]


def parse(warehouse: Path, project: Path = ROOT, target: Path = TARGET, runner: bool = False) -> None:
    """Not measured: `dbt parse` for this warehouse path, so that the measured command starts
    as a user's next command would. dbt re-parses in full when the profile (the warehouse path)
    or the vars hash (cli vars, and --target: the runner passes it, a user's dbt build does not)
    changed since its saved parse."""
    environment = {
        **os.environ,
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(LOGS / "parse"),
        "SHOTZONES_DUCKDB": str(warehouse),
    }
    argv = [DBT, "parse", "--quiet", "--profiles-dir", str(PROFILES)]
    if runner:
        argv += ["--target", os.environ.get("SHOTZONES_TARGET", "duckdb")]
    subprocess.run(argv, cwd=project, env=environment, check=True, stdout=subprocess.DEVNULL)


def fresh_copy(source: Path, name: str, parsed: bool = True, runner: bool = True) -> Path:
    """A byte copy of a warehouse, and (parsed) dbt's saved parse for its path, for the runner's
    invocations or (runner=False) a plain dbt command."""
    WAREHOUSES.mkdir(parents=True, exist_ok=True)
    copy = WAREHOUSES / f"{name}.duckdb"
    for stale in (copy, copy.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, copy)
    if parsed:
        parse(copy, runner=runner)
    return copy


def query(warehouse: Path, sql: str, params=None, read_only: bool = True):
    con = duckdb.connect(str(warehouse), read_only=read_only)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def dbt_log(run: Run) -> str:
    path = ROOT / run.log_dir / "dbt.log"
    return ANSI.sub("", path.read_text(errors="replace")) if path.exists() else ""


def model_seconds(run: Run) -> dict[str, float]:
    """Seconds dbt reports per incremental model (summed over invocations)."""
    seconds: dict[str, float] = {}
    pattern = r"OK created sql (?:incremental|microbatch) model main\.(\w+) .*?in ([\d.]+)s\]"
    for model, value in re.findall(pattern, dbt_log(run)):
        seconds[model] = round(seconds.get(model, 0) + float(value), 2)
    return seconds


def dbt_phases(run: Run) -> list[dict]:
    """Per dbt invocation in the run's log: its command, seconds, parse seconds."""
    phases, log = [], dbt_log(run).splitlines()
    stamp = lambda line: datetime.strptime(line[:15], "%H:%M:%S.%f")  # noqa: E731
    current = None
    for line in log:
        if "Running with dbt=" in line:
            current = {"start": stamp(line)}
        elif current is not None and re.search(r"Found \d+ models", line):
            current["parse_seconds"] = round((stamp(line) - current["start"]).total_seconds(), 2)
        elif current is not None and (
            match := re.search(
                r"Command `(?:cli |dbt )?([\w ]+)` (?:succeeded|failed) at .* after ([\d.]+) seconds", line
            )
        ):
            phases.append(
                {
                    "command": match.group(1),
                    "seconds": float(match.group(2)),
                    "parse_seconds": current.get("parse_seconds"),
                }
            )
            current = None
    return phases


def profile(run: Run) -> dict:
    """Where a run's time went: its dbt commands (from dbt's log) and dbt's model times."""
    return {"seconds": run.seconds, "phases": dbt_phases(run), "models": model_seconds(run)}


def describe(profile: dict) -> str:
    phases = profile["phases"]
    parts = [f"dbt {p['command']} {p['seconds']:.1f} s (parse {p['parse_seconds']} s)" for p in phases]
    outside = profile["seconds"] - sum(p["seconds"] for p in phases)
    models = ", ".join(f"{k} {v} s" for k, v in profile["models"].items())
    return (
        f"{profile['seconds']:.1f} s: "
        + "; ".join(parts)
        + f"; outside dbt's commands {outside:.1f} s (process start, imports; the runner's planning and ledger); models: {models}"
    )


def slowest_nodes(run_results: Path, count: int = 5) -> list[tuple[str, float]]:
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text())["results"]
    ranked = sorted(results, key=lambda r: -r["execution_time"])[:count]
    return [(r["unique_id"].split(".")[2][:70], round(r["execution_time"], 2)) for r in ranked]


# --- the machine ---------------------------------------------------------------------------


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "runner", "models", "macros"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": metadata.version("duckdb"),
        "dbt-core": metadata.version("dbt-core"),
        "dbt-duckdb": metadata.version("dbt-duckdb"),
        "commit": commit + (" (runner/models/macros modified)" if dirty else ""),
    }


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# --- data ----------------------------------------------------------------------------------


def generated(spec: dict, regenerate: bool) -> tuple[Path, dict]:
    """The cached generated range, generating it (timed) when missing."""
    # "-playoffs": data of the generator since it writes the postseason (older caches lack it)
    out = DATA / f"seasons-{spec['first_season']}-{spec['seasons']}-seed{spec['seed']}-playoffs"
    record = out.with_suffix(".json")
    if record.exists() and out.exists() and not regenerate:
        info = json.loads(record.read_text())
        print(f"  generate {spec}: cached ({info['seconds']} s when generated on {info['when']})")
        return out, info | {"cached": True}
    shutil.rmtree(out, ignore_errors=True)
    record.unlink(missing_ok=True)
    run = measure(
        f"generate {spec['seasons']} seasons",
        [
            SHOTZONES,
            "generate",
            "--first-season",
            str(spec["first_season"]),
            "--seasons",
            str(spec["seasons"]),
            "--seed",
            str(spec["seed"]),
            "--out",
            str(out),
        ],
    )
    files = [p for p in out.rglob("*.csv") if p.name != "schedule.csv"]
    info = {
        "seconds": run.seconds,
        "cpu_seconds": run.cpu_seconds,
        "peak_mb": run.peak_mb,
        "when": datetime.now().isoformat(timespec="seconds"),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "summary": run.output_tail,
    }
    record.write_text(json.dumps(info, indent=2))
    return out, info | {"cached": False}


def files_of(data_dir: Path, day: date) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*.csv") if p.name.startswith(f"[{day.isoformat()}]"))


def game_dates(warehouse: Path) -> list[date]:
    return [
        r[0] for r in query(warehouse, "select distinct game_date from nba_raw.bigdataball_play_by_play order by 1")
    ]


def season_of(day: date) -> int:
    return day.year if day.month >= 8 else day.year - 1


# --- the steps -----------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.figures: dict = {}
        self.details: dict = {}
        self.cpu: dict[str, float] = {}  # CPU seconds of the run behind a figure

    # 1-2: the main comparison
    def main_comparison(self, loaded: Path) -> None:
        f, d = self.figures, self.details
        rounds = []
        for round_number in range(1, self.args.rounds + 1):
            suffix = f" (round {round_number})" if self.args.rounds > 1 else ""
            default = measure(
                f"backfill, default workers{suffix}",
                [SHOTZONES, "backfill"],
                fresh_copy(loaded, f"backfill-default-{round_number}"),
            )
            single = measure(
                f"backfill, 1 worker{suffix}",
                [SHOTZONES, "backfill", "--workers", "1"],
                fresh_copy(loaded, f"backfill-1-worker-{round_number}"),
            )
            copy = fresh_copy(loaded, f"full-refresh-{round_number}", runner=False)
            full = measure(
                f"dbt build --full-refresh{suffix}",
                [DBT, "build", "--full-refresh", "--profiles-dir", "profiles", "--exclude", "test_type:unit"],
                copy,
            )
            shutil.copyfile(TARGET / "run_results.json", CACHE / "full-refresh-run_results.json")
            rounds.append((default, single, full))
        best = lambda i: min(range(len(rounds)), key=lambda n: rounds[n][i].seconds)  # noqa: E731
        default, single, full = rounds[best(0)][0], rounds[best(1)][1], rounds[best(2)][2]
        self.backfilled = WAREHOUSES / f"backfill-default-{best(0) + 1}.duckdb"
        f["backfill_3_seasons_s"] = default.seconds
        self.cpu |= {
            "backfill_3_seasons_s": default.cpu_seconds,
            "backfill_3_seasons_1_worker_s": single.cpu_seconds,
            "dbt_full_refresh_s": full.cpu_seconds,
        }
        f["backfill_3_seasons_peak_mb"] = default.peak_mb
        f["backfill_3_seasons_1_worker_s"] = single.seconds
        f["backfill_3_seasons_1_worker_peak_mb"] = single.peak_mb
        f["dbt_full_refresh_s"] = full.seconds
        f["dbt_full_refresh_peak_mb"] = full.peak_mb
        f["backfill_over_full_refresh"] = round(default.seconds / full.seconds, 3)
        d["main_rounds"] = [[asdict(r) for r in round_] for round_ in rounds]
        d["backfill_default_dbt"] = profile(default)
        d["backfill_1_worker_dbt"] = profile(single)
        d["full_refresh_dbt"] = profile(full) | {"slowest": slowest_nodes(CACHE / "full-refresh-run_results.json")}
        counts = query(
            self.backfilled,
            "select (select count(*) from int_player_game_shot_zones),"
            " (select count(*) from player_shot_zone_features)",
        )[0]
        d["rows_built"] = {"int_player_game_shot_zones": counts[0], "player_shot_zone_features": counts[1]}

    # 3: dbt microbatch with daily batches
    def microbatch(self, loaded: Path, dates: list[date]) -> None:
        packages = CACHE / "dbt_packages"
        packages.mkdir(parents=True, exist_ok=True)
        link = packages / "shotzones"
        if not link.is_symlink():
            shutil.rmtree(link, ignore_errors=True)
            link.symlink_to(ROOT)
        try:
            self._microbatch(loaded, dates)
        finally:
            link.unlink(missing_ok=True)  # only while the baseline runs: a link back to the project root

    def _microbatch(self, loaded: Path, dates: list[date]) -> None:
        f, d = self.figures, self.details
        first_season = [day for day in dates if season_of(day) == season_of(dates[0])]
        start, end = first_season[0], first_season[-1] + timedelta(days=1)
        warehouse = fresh_copy(loaded, "microbatch", parsed=False)
        parse(warehouse, MICROBATCH_PROJECT, MICROBATCH_TARGET)
        early = measure(
            "dbt microbatch, first season",
            [
                DBT,
                "build",
                "--profiles-dir",
                str(PROFILES),
                "--exclude",
                "test_type:unit",
                "--event-time-start",
                start.isoformat(),
                "--event-time-end",
                end.isoformat(),
            ],
            warehouse,
            cwd=MICROBATCH_PROJECT,
            target=MICROBATCH_TARGET,
        )
        shutil.copyfile(MICROBATCH_TARGET / "run_results.json", CACHE / "microbatch-run_results.json")
        early_batches = self._batches(early)
        # the same partitions as the runner built? (season 1 reads nothing later)
        differing = query(
            warehouse,
            f"""
            attach '{self.backfilled}' as runner (read_only);
            select
                (select count(*) from (select * from int_player_game_shot_zones except all
                    select * from runner.int_player_game_shot_zones where game_date < '{end}')),
                (select count(*) from (select * from player_shot_zone_features except all
                    select * from runner.player_shot_zone_features where game_date < '{end}')),
                (select count(*) from runner.player_shot_zone_features where game_date < '{end}'),
                (select count(*) from player_shot_zone_features)
        """,
        )[0]
        # late in the range: rebuild the last days in a fully built warehouse
        late_end = dates[-1] + timedelta(days=1)
        late_start = late_end - timedelta(days=LATE_MICROBATCH_DAYS)
        late_warehouse = fresh_copy(self.backfilled, "microbatch-late", parsed=False)
        parse(late_warehouse, MICROBATCH_PROJECT, MICROBATCH_TARGET)
        late = measure(
            f"dbt microbatch, last {LATE_MICROBATCH_DAYS} days",
            [
                DBT,
                "run",
                "--profiles-dir",
                str(PROFILES),
                "--select",
                "+player_shot_zone_features",  # the features and all they read
                "--event-time-start",
                late_start.isoformat(),
                "--event-time-end",
                late_end.isoformat(),
            ],
            late_warehouse,
            cwd=MICROBATCH_PROJECT,
            target=MICROBATCH_TARGET,
        )
        late_batches = self._batches(late)
        game_days = set(dates)
        calendar = [dates[0] + timedelta(days=i) for i in range((dates[-1] - dates[0]).days + 1)]
        # one command per season instead: each season's own first to last game date
        seasons = sorted({season_of(day) for day in dates})
        in_season = sum(
            (max(x for x in dates if season_of(x) == y) - min(x for x in dates if season_of(x) == y)).days + 1
            for y in seasons
        )
        early_exec = json.loads((CACHE / "microbatch-run_results.json").read_text())["results"]
        model_exec = {
            r["unique_id"].split(".")[-1]: r["execution_time"]
            for r in early_exec
            if r["unique_id"].split(".")[-1] in early_batches
        }
        estimate_models, estimate_seasons, per_batch = 0.0, 0.0, {}
        for model, batches in early_batches.items():
            on_game_days = [s for day, s in batches.items() if day in game_days]
            empty = [s for day, s in batches.items() if day not in game_days]
            late_game_days = [s for day, s in late_batches.get(model, {}).items() if day in game_days]
            early_mean = statistics.mean(on_game_days)
            late_mean = statistics.mean(late_game_days) if late_game_days else early_mean
            empty_mean = statistics.mean(empty) if empty else early_mean
            # batch cost moving linearly from the first season's mean to the last days' mean
            summed = len(game_days) * (early_mean + late_mean) / 2 + (len(calendar) - len(game_days)) * empty_mean
            scale = summed / sum(batches.values())
            estimate_models += model_exec[model] * scale
            summed_seasons = len(game_days) * (early_mean + late_mean) / 2 + (in_season - len(game_days)) * empty_mean
            estimate_seasons += model_exec[model] * summed_seasons / sum(batches.values())
            per_batch[model] = {
                "first_season_game_day_ms": round(early_mean * 1000),
                "last_days_game_day_ms": round(late_mean * 1000),
                "empty_day_ms": round(empty_mean * 1000),
                "batches_measured": len(batches),
                "model_seconds_measured": round(model_exec[model], 2),
                "model_seconds_estimated": round(model_exec[model] * scale, 1),
            }
        fixed = early.seconds - sum(model_exec.values())  # process, parse, views, tests
        f["microbatch_first_season_s"] = early.seconds
        self.cpu["microbatch_first_season_s"] = early.cpu_seconds
        f["microbatch_first_season_peak_mb"] = early.peak_mb
        f["microbatch_3_seasons_estimated_s"] = round(fixed + estimate_models, 1)
        f["microbatch_over_backfill"] = round(f["microbatch_3_seasons_estimated_s"] / f["backfill_3_seasons_s"], 2)
        # per season: the fixed part once per command
        f["microbatch_3_seasons_per_season_estimated_s"] = round(len(seasons) * fixed + estimate_seasons, 1)
        d["microbatch"] = {
            "first_season": [start.isoformat(), (end - timedelta(days=1)).isoformat()],
            "first_season_batches_per_model": len(next(iter(early_batches.values()))),
            "range_calendar_days": len(calendar),
            "range_game_dates": len(game_days),
            "in_season_days": in_season,
            "seasons": len(seasons),
            "late_sample": [late_start.isoformat(), dates[-1].isoformat()],
            "late_seconds": late.seconds,
            "per_model": per_batch,
            "fixed_seconds": round(fixed, 1),
            "differing_rows_vs_runner": {
                "int_player_game_shot_zones": differing[0],
                "player_shot_zone_features": differing[1],
            },
            "first_season_feature_rows": {"runner": differing[2], "microbatch": differing[3]},
        }

    def _batches(self, run: Run) -> dict[str, dict[date, float]]:
        found: dict[str, dict[date, float]] = {}
        pattern = r"OK created batch (\d{4}-\d{2}-\d{2}) of main\.(\w+) .*?in ([\d.]+)s\]"
        for day, model, seconds in re.findall(pattern, dbt_log(run)):
            found.setdefault(model, {})[date.fromisoformat(day)] = float(seconds)
        if not found:
            raise SystemExit(f"no microbatch batches found in {run.log_dir}/dbt.log")
        return found

    # 4: the old approach
    def old_approach(self, dates: list[date]) -> None:
        f, d = self.figures, self.details
        compiled = TARGET / "compiled" / "shotzones" / "models"
        measure(
            "compile the models (old approach setup)",
            [
                DBT,
                "compile",
                "--profiles-dir",
                "profiles",
                "--quiet",
                "--select",
                "int_player_game_shot_zones",
                "player_shot_zone_features",
                "--vars",
                json.dumps({"start_date": "1901-01-01", "end_date": "2999-12-31"}),
            ],
            self.backfilled,
        )
        int_sql = CACHE / "old-int_player_game_shot_zones.sql"
        features_sql = CACHE / "old-player_shot_zone_features.sql"
        shutil.copyfile(compiled / "intermediate" / "int_player_game_shot_zones.sql", int_sql)
        shutil.copyfile(compiled / "marts" / "player_shot_zone_features.sql", features_sql)
        n = len(dates)
        indexes = sorted({round(i * (n - 1) / (OLD_APPROACH_SAMPLES - 1)) for i in range(OLD_APPROACH_SAMPLES)})
        sample = [dates[i].isoformat() for i in indexes]
        run = measure(
            f"old approach, {len(sample)} dates",
            [PYTHON, str(BENCH / "old_approach.py"), str(self.backfilled), str(int_sql), str(features_sql), *sample],
            self.backfilled,
        )
        output = (ROOT / run.log_dir / "output.txt").read_text().strip().splitlines()
        per_date = json.loads(output[-1])
        for row, index in zip(per_date, indexes):
            row["index"] = index
        # least squares: seconds = a + b * (date index), summed over every date of the range
        xs, ys = [r["index"] for r in per_date], [r["seconds"] for r in per_date]
        x_mean, y_mean = statistics.mean(xs), statistics.mean(ys)
        slope = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys)) / sum((x - x_mean) ** 2 for x in xs)
        intercept = y_mean - slope * x_mean
        total = sum(max(intercept + slope * i, 0) for i in range(n))
        f["old_approach_last_date_s"] = per_date[-1]["seconds"]
        f["old_approach_sample_s"] = run.seconds
        self.cpu["old_approach_sample_s"] = run.cpu_seconds
        f["old_approach_3_seasons_estimated_s"] = round(total, 1)
        f["old_approach_over_backfill"] = round(total / f["backfill_3_seasons_s"], 1)
        d["old_approach"] = {
            "per_date": per_date,
            "fit_seconds_per_date": [round(intercept, 4), round(slope, 5)],
            "all_match_incremental_tables": all(r["differing_rows"] == 0 for r in per_date),
        }

    # 5-6: incremental runs
    def incremental(self, loaded: Path, dates: list[date], data_dir: Path) -> Path:
        f, d = self.figures, self.details
        newest = dates[-1]
        # first 30 dates, on a fresh copy
        first = measure(
            f"backfill first {EDGE_DATES} dates",
            [SHOTZONES, "backfill", "--end", dates[EDGE_DATES - 1].isoformat()],
            fresh_copy(loaded, "first-dates"),
        )
        # a warehouse without the newest date, backfilled but for its last 30 dates
        chain = fresh_copy(loaded, "incremental")
        query(chain, "delete from nba_raw.bigdataball_play_by_play where game_date = ?", [newest], read_only=False)
        before = dates[-1 - EDGE_DATES - 1]
        setup = measure(f"setup: backfill up to {before}", [SHOTZONES, "backfill", "--end", before.isoformat()], chain)
        last = measure(f"backfill last {EDGE_DATES} dates", [SHOTZONES, "backfill"], chain)
        files = files_of(data_dir, newest)
        # --all: the manifest remembers the files of the date deleted above; they are new again
        load_one = measure(
            f"load one new date ({len(files)} files)", [SHOTZONES, "load", "--all", *map(str, files)], chain
        )
        one = measure("backfill one new date", [SHOTZONES, "backfill"], chain)
        nothing = measure("backfill, nothing pending", [SHOTZONES, "backfill"], chain)
        dbt_ran = (ROOT / nothing.log_dir / "dbt.log").exists()
        states = query(chain, "select state, count(*) from shotzones_ledger group by 1")
        f["first_30_s"], f["last_30_s"] = first.seconds, last.seconds
        f["first_30_per_date_s"] = round(first.seconds / EDGE_DATES, 3)
        self.cpu |= {
            "first_30_s": first.cpu_seconds,
            "last_30_s": last.cpu_seconds,
            "load_one_date_s": load_one.cpu_seconds,
            "one_new_date_s": one.cpu_seconds,
            "nothing_pending_s": nothing.cpu_seconds,
        }
        f["last_30_per_date_s"] = round(last.seconds / EDGE_DATES, 3)
        f["last_over_first_per_date"] = round(last.seconds / first.seconds, 3)
        first_models, last_models = model_seconds(first), model_seconds(last)
        f["first_30_model_s"] = round(sum(first_models.values()), 2)
        f["last_30_model_s"] = round(sum(last_models.values()), 2)
        f["last_over_first_model_time"] = round(f["last_30_model_s"] / f["first_30_model_s"], 2)
        f["load_one_date_s"] = load_one.seconds
        f["one_new_date_s"] = one.seconds
        f["one_new_date_peak_mb"] = one.peak_mb
        f["nothing_pending_s"] = nothing.seconds
        f["nothing_pending_invoked_dbt"] = dbt_ran
        d["edges"] = {
            "first": [dates[0].isoformat(), dates[EDGE_DATES - 1].isoformat()],
            "last": [dates[-1 - EDGE_DATES].isoformat(), dates[-2].isoformat()],
            "newest": newest.isoformat(),
            "setup_seconds": setup.seconds,
            "first_dbt": profile(first),
            "last_dbt": profile(last),
            "one_date_dbt": profile(one),
            "ledger_after": dict(states),
        }
        return chain

    # 7b: serving, on the fully built warehouse the incremental runs leave
    def serving(self, built: Path, data_dir: Path, newest: date) -> None:
        f = self.figures
        measure("setup: load the schedule", [SHOTZONES, "load-schedule", str(data_dir)], built)
        out = CACHE / "serving"
        out.mkdir(parents=True, exist_ok=True)
        slate = measure(
            f"features: the slate of {newest}",
            [SHOTZONES, "features", "--date", newest.isoformat(), "--out", str(out / "slate.parquet")],
            built,
        )
        export = measure(
            "export: 3-season training set", [SHOTZONES, "export", "--out", str(out / "training.parquet")], built
        )
        f["features_slate_s"], f["export_3_seasons_s"] = slate.seconds, export.seconds
        self.cpu |= {"features_slate_s": slate.cpu_seconds, "export_3_seasons_s": export.cpu_seconds}
        f["export_3_seasons_rows"] = query(built, f"select count(*) from '{out / 'training.parquet'}'")[0][0]
        self.feature_log(built, newest, out)

    # 7c: the feature log, three seasons of it: a real serve, then every played date's model-ready
    # rows logged as if each had been served the night before
    def feature_log(self, built: Path, newest: date, out: Path) -> None:
        f = self.figures
        served = measure(
            f"features --log: the slate of {newest}",
            [SHOTZONES, "features", "--date", newest.isoformat(), "--log", "--out", str(out / "logged.parquet")],
            built,
        )
        metadata = "serve_id, served_at, run_id, command, served_code, training_code, raw_rows, raw_loaded_at"
        query(
            built,
            f"""
            insert into shotzones_served_features by name
            select
                'bench-' || game_date as serve_id,
                cast(game_date - interval 1 day as timestamp) as served_at,
                run_id, command, served_code, training_code, raw_rows, raw_loaded_at,
                ready.*
            from player_shot_zone_features_model_ready as ready
            cross join (select distinct {metadata} from shotzones_served_features) as first_serve
            where ready.game_date < date '{newest}'
            """,
            read_only=False,
        )
        logged = query(built, "select count(*) from shotzones_served_features")[0][0]
        season = [d for d in game_dates(built) if season_of(d) == season_of(newest)]
        skew = measure(
            f"skew over a season ({season[0]}..{season[-1]})",
            [SHOTZONES, "skew", "--start", season[0].isoformat(), "--end", season[-1].isoformat()],
            built,
        )
        as_served = measure(
            "export --as-served: 3 seasons",
            [SHOTZONES, "export", "--as-served", "--out", str(out / "served.parquet")],
            built,
        )
        f["features_log_s"], f["skew_season_s"], f["export_as_served_3_seasons_s"] = (
            served.seconds,
            skew.seconds,
            as_served.seconds,
        )
        f["served_rows_logged"] = logged
        self.cpu |= {"skew_season_s": skew.cpu_seconds, "export_as_served_3_seasons_s": as_served.cpu_seconds}

    # 10: a selective rebuild against --force over the same range, and a wave's fixed cost
    def selective_rebuild(self, data_dir: Path) -> None:
        f, d = self.figures, self.details
        dates = game_dates(self.backfilled)
        day = dates[len(dates) // 2]
        original = files_of(data_dir, day)[0]
        redelivered = CACHE / "redelivered" / original.name
        redelivered.parent.mkdir(parents=True, exist_ok=True)
        with original.open(newline="", encoding="utf-8") as source:
            rows = list(csv.DictReader(source))
        for row in rows:  # BigDataBall corrects the game: every shot of it is now a made dunk
            if row["event_type"] in ("shot", "miss"):
                row.update(original_x="0", original_y="5", shot_distance="0", points="2", result="made")
        with redelivered.open("w", newline="", encoding="utf-8") as target:
            writer = csv.DictWriter(target, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        selective, forced = fresh_copy(self.backfilled, "selective"), fresh_copy(self.backfilled, "forced")
        for copy in (selective, forced):
            measure("setup: load a re-delivered game", [SHOTZONES, "load", str(redelivered)], copy)
        # status exits 3: partitions are stale
        stale = measure("status after the re-delivery", [SHOTZONES, "status", "--json"], selective, check=False)
        states = json_events(stale, "partition")
        stale_dates = sorted(date.fromisoformat(p["date"]) for p in states if p["state"] == "stale")
        planned = measure("plan the selective rebuild", [SHOTZONES, "plan", "--json"], selective)
        batches = json_events(planned, "batch")
        rebuilt = measure("backfill, selective", [SHOTZONES, "backfill"], selective)
        first, last = stale_dates[0].isoformat(), stale_dates[-1].isoformat()
        force = measure(
            "backfill --force over the stale range",
            [SHOTZONES, "backfill", "--force", "--start", first, "--end", last],
            forced,
        )
        one = measure(
            "backfill --force, one date", [SHOTZONES, "backfill", "--force", "--start", first, "--end", first], forced
        )
        in_range = [x for x in dates if stale_dates[0] <= x <= stale_dates[-1]]
        partition_s = (force.seconds - one.seconds) / (2 * (len(in_range) - 1))
        f["selective_rebuild_s"], f["force_over_stale_range_s"] = rebuilt.seconds, force.seconds
        f["selective_over_force"] = round(rebuilt.seconds / force.seconds, 3)
        f["wave_fixed_s"] = round(one.seconds - 2 * partition_s, 2)
        f["partition_s"] = round(partition_s, 4)
        self.cpu |= {"selective_rebuild_s": rebuilt.cpu_seconds, "force_over_stale_range_s": force.cpu_seconds}
        d["selective_rebuild"] = {
            "redelivered": original.name,
            "stale_partitions": len(stale_dates),
            "stale_range": [first, last],
            "dates_in_range": len(in_range),
            "planned_batches": len(batches),
            "planned_waves": len({b["wave"] for b in batches}),
            "planned_partitions": sum(b["dates"] * len(b["models"]) for b in batches),
            "one_date_force_s": one.seconds,
        }

    # 11: a schema change (a column added to the features model), through the runner against
    # `dbt build --full-refresh` of the same model
    def model_change(self) -> None:
        f, d = self.figures, self.details
        project = CACHE / "changed-project"
        shutil.rmtree(project, ignore_errors=True)
        for name in ("models", "macros", "tests/generic", "profiles", "dbt_project.yml"):
            copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copyfile
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            copy(ROOT / name, project / name)
        model = project / "models" / "marts" / "player_shot_zone_features.sql"
        final = "    select * from windowed\n"
        model.write_text(model.read_text().replace(final, "    select *, 1 as newcomer_marker from windowed\n"))
        changed = {"SHOTZONES_PROJECT_DIR": str(project)}
        target = CACHE / "target-changed"
        runner = fresh_copy(self.backfilled, "schema-change", parsed=False)
        parse(runner, project, target, runner=True)
        planned = measure("plan a schema change", [SHOTZONES, "plan", "--json"], runner, target=target, env=changed)
        rebuilt = measure(
            "backfill a schema change (beside the live table, swapped in)",
            [SHOTZONES, "backfill"],
            runner,
            target=target,
            env=changed,
        )
        plain = fresh_copy(self.backfilled, "schema-change-dbt", parsed=False)
        parse(plain, project, target)
        full = measure(
            "dbt build --full-refresh --select player_shot_zone_features",
            [DBT, "build", "--full-refresh", "--select", "player_shot_zone_features", "--profiles-dir", str(PROFILES)],
            plain,
            cwd=project,
            target=target,
        )
        columns = [row[0] for row in query(runner, "describe player_shot_zone_features")]
        assert "newcomer_marker" in columns, "the schema change was not swapped in"
        f["schema_change_rebuild_s"], f["schema_change_dbt_full_refresh_s"] = rebuilt.seconds, full.seconds
        f["schema_change_over_full_refresh"] = round(rebuilt.seconds / full.seconds, 3)
        self.cpu |= {"schema_change_rebuild_s": rebuilt.cpu_seconds}
        batches = json_events(planned, "batch")
        d["schema_change"] = {
            "edit": "1 as newcomer_marker in the final select of player_shot_zone_features",
            "planned_partitions": sum(b["dates"] * len(b["models"]) for b in batches),
            "plan_s": planned.seconds,
            "reasons": sorted({r for b in batches for r in b["reasons"]}),
            "rebuild_output": rebuilt.output_tail,
        }

    # 9: the nightly job
    def nightly(self, data_dir: Path) -> None:
        """`shotzones update` on the whole folder as cron runs it: the folder (hard links to the
        generated files) first holds every date but the last two and is updated (not measured);
        then one new date's files arrive and `update` runs, then again with nothing new. The
        schedule in the folder lists the last date still to come, so both runs serve a slate."""
        f, d = self.figures, self.details
        folder = CACHE / "nightly-folder"
        shutil.rmtree(folder, ignore_errors=True)
        days = sorted({date.fromisoformat(p.name[1:11]) for p in data_dir.rglob("[[]*.csv")})
        new_day = days[-2]
        for path in data_dir.rglob("*.csv"):
            if path.name == "schedule.csv" or date.fromisoformat(path.name[1:11]) < new_day:
                (folder / path.relative_to(data_dir)).parent.mkdir(parents=True, exist_ok=True)
                os.link(path, folder / path.relative_to(data_dir))
        warehouse = WAREHOUSES / "nightly.duckdb"
        WAREHOUSES.mkdir(parents=True, exist_ok=True)
        for stale in (warehouse, warehouse.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)
        slate = CACHE / "nightly-slate.csv"
        update = [SHOTZONES, "update", str(folder), "--serve-out", str(slate)]
        setup = measure("setup: update, all but the last two dates", update, warehouse)
        parse(warehouse, runner=True)
        arrived = files_of(data_dir, new_day)
        for path in arrived:
            os.link(path, folder / path.relative_to(data_dir))
        one = measure(f"update, one new date ({len(arrived)} files)", update, warehouse)
        nothing = measure("update, nothing new", update, warehouse)
        f["update_one_new_date_s"], f["update_nothing_new_s"] = one.seconds, nothing.seconds
        logged = re.search(r"logged as serve \w+ in ([0-9.]+) s", (ROOT / one.log_dir / "output.txt").read_text())
        f["update_log_s"] = float(logged[1]) if logged else None
        self.cpu |= {"update_one_new_date_s": one.cpu_seconds, "update_nothing_new_s": nothing.cpu_seconds}
        d["nightly"] = {
            "new_date": new_day.isoformat(),
            "files": len(arrived),
            "setup_seconds": setup.seconds,
            "one_new_date_output": one.output_tail,
            "nothing_new_output": nothing.output_tail,
            "one_new_date_dbt": profile(one),
        }
        shutil.rmtree(folder, ignore_errors=True)

    # 8: ten seasons
    def ten_seasons(self) -> None:
        f, d = self.figures, self.details
        data_dir, info = generated(TEN, self.args.regenerate)
        warehouse = WAREHOUSES / "ten-seasons.duckdb"
        for stale in (warehouse, warehouse.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)
        load = measure("load 10 seasons", [SHOTZONES, "load", str(data_dir)], warehouse)
        parse(warehouse, runner=True)
        backfill = measure("backfill 10 seasons", [SHOTZONES, "backfill"], warehouse)
        rows, dates = query(
            warehouse, "select count(*), count(distinct game_date) from nba_raw.bigdataball_play_by_play"
        )[0]
        f["generate_10_seasons_s"] = info["seconds"]
        if "cpu_seconds" in info:
            self.cpu["generate_10_seasons_s"] = info["cpu_seconds"]
        f["load_10_seasons_s"] = load.seconds
        self.cpu |= {"load_10_seasons_s": load.cpu_seconds, "backfill_10_seasons_s": backfill.cpu_seconds}
        f["load_10_seasons_peak_mb"] = load.peak_mb
        f["backfill_10_seasons_s"] = backfill.seconds
        f["backfill_10_seasons_peak_mb"] = backfill.peak_mb
        f["ten_over_three_backfill"] = round(backfill.seconds / f["backfill_3_seasons_s"], 2)
        d["ten_seasons"] = {"rows": rows, "dates": dates, "generation": info, "backfill_dbt": profile(backfill)}

    # 9: the full history, thirty seasons with playoffs
    def history(self) -> None:
        """Generate (cached), load, backfill from empty; then status, plan and a backfill with
        nothing pending; and the cost per date of rebuilding the first and the last season."""
        f, d = self.figures, self.details
        spec = HISTORY | {"seasons": self.args.history_seasons}
        data_dir, info = generated(spec, self.args.regenerate)
        warehouse = WAREHOUSES / "history.duckdb"
        for stale in (warehouse, warehouse.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)
        n = spec["seasons"]
        load = measure(f"load {n} seasons", [SHOTZONES, "load", str(data_dir)], warehouse)
        parse(warehouse, runner=True)
        backfill = measure(f"backfill {n} seasons", [SHOTZONES, "backfill"], warehouse)
        status = measure(f"status, {n} seasons", [SHOTZONES, "status"], warehouse)
        plan = measure(f"plan, {n} seasons, nothing pending", [SHOTZONES, "plan"], warehouse)
        nothing = measure(f"backfill, {n} seasons, nothing pending", [SHOTZONES, "backfill"], warehouse)
        dates = game_dates(warehouse)
        seasons = sorted({season_of(day) for day in dates})
        edges = {}
        for label, season in (("first", seasons[0]), ("last", seasons[-1])):
            days = [day for day in dates if season_of(day) == season]
            run = measure(
                f"rebuild the {label} season ({season}-{str(season + 1)[2:]}, {len(days)} dates)",
                [SHOTZONES, "backfill", "--force", "--start", days[0].isoformat(), "--end", days[-1].isoformat()],
                warehouse,
            )
            edges[label] = {
                "season": season,
                "dates": len(days),
                "seconds": run.seconds,
                "per_date_s": round(run.seconds / len(days), 4),
                "dbt": profile(run),
            }
        rows = query(warehouse, "select count(*) from nba_raw.bigdataball_play_by_play")[0][0]
        playoff_dates = query(
            warehouse,
            "select count(distinct game_date) from nba_raw.bigdataball_play_by_play"
            " where data_set like '%Playoffs' or data_set like '%Play-In'",
        )[0][0]
        f["history_seasons"] = n
        f["history_generate_s"] = info["seconds"]
        f["history_load_s"], f["history_load_peak_mb"] = load.seconds, load.peak_mb
        f["history_backfill_s"], f["history_backfill_peak_mb"] = backfill.seconds, backfill.peak_mb
        f["history_load_and_backfill_s"] = round(load.seconds + backfill.seconds, 2)
        f["history_status_s"], f["history_plan_s"], f["history_nothing_pending_s"] = (
            status.seconds,
            plan.seconds,
            nothing.seconds,
        )
        f["history_last_over_first_per_date"] = round(edges["last"]["per_date_s"] / edges["first"]["per_date_s"], 3)
        self.cpu |= {"history_load_s": load.cpu_seconds, "history_backfill_s": backfill.cpu_seconds}
        d["history"] = {
            "spec": spec,
            "rows": rows,
            "dates": len(dates),
            "playoff_dates": playoff_dates,
            "generation": info,
            "edges": edges,
            "backfill_dbt": profile(backfill),
        }

    def run(self) -> None:
        f, d = self.figures, self.details
        started = time.perf_counter()
        self.started_at = datetime.now()
        self.machine = machine()
        self.load_before = uptime()
        print(f"shotzones benchmark, {self.started_at:%Y-%m-%d %H:%M}; {self.load_before}")
        if self.args.only == "history":
            self.history()
            print(json.dumps({k: v for k, v in f.items() if k.startswith("history")}, indent=2))
            return
        data_dir, info = generated(THREE, self.args.regenerate)
        if self.args.only == "nightly":
            self.nightly(data_dir)
            print(json.dumps({k: v for k, v in f.items() if k.startswith("update")}, indent=2))
            return
        f["generate_3_seasons_s"] = info["seconds"]
        if "cpu_seconds" in info:
            self.cpu["generate_3_seasons_s"] = info["cpu_seconds"]
        f["generate_3_seasons_peak_mb"] = info["peak_mb"]
        d["generation_3"] = info
        loaded = WAREHOUSES / "loaded.duckdb"
        WAREHOUSES.mkdir(parents=True, exist_ok=True)
        for stale in (loaded, loaded.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)
        # a user's load follows a previous command: dbt's saved parse and the loader's compiled
        # macros in place (a change to the dbt project costs its first command a full parse once)
        first_file = min(p for p in data_dir.rglob("[[]*.csv"))
        warm = WAREHOUSES / "warm-load.duckdb"
        for stale in (warm, warm.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)
        measure("warm-up: load one file", [SHOTZONES, "load", str(first_file)], warm)
        load = measure("load 3 seasons", [SHOTZONES, "load", str(data_dir)], loaded)
        f["load_3_seasons_s"] = load.seconds
        self.cpu["load_3_seasons_s"] = load.cpu_seconds
        f["load_3_seasons_peak_mb"] = load.peak_mb
        rows, games = query(loaded, "select count(*), count(distinct game_id) from nba_raw.bigdataball_play_by_play")[0]
        dates = game_dates(loaded)
        d["range"] = {
            "rows": rows,
            "games": games,
            "dates": len(dates),
            "first": dates[0].isoformat(),
            "last": dates[-1].isoformat(),
        }
        # warm up: dbt's imports in the page cache
        warm_up = fresh_copy(loaded, "warm-up", parsed=False)
        measure("warm-up: dbt parse", [DBT, "parse", "--profiles-dir", "profiles", "--quiet"], warm_up)
        # and the code fingerprints, compiled once and cached for every later runner command
        measure("warm-up: code fingerprints", [SHOTZONES, "plan", "--json"], warm_up)
        self.main_comparison(loaded)
        if "ten" not in self.args.skip:
            self.ten_seasons()  # next to the three-season backfill it is compared with
        built = self.incremental(loaded, dates, data_dir)
        self.serving(built, data_dir, dates[-1])
        if "nightly" not in self.args.skip:
            self.nightly(data_dir)
        if "selective" not in self.args.skip:
            self.selective_rebuild(data_dir)
        if "schema" not in self.args.skip:
            self.model_change()
        if "history" not in self.args.skip:
            self.history()
        if "old" not in self.args.skip:
            self.old_approach(dates)
        if "microbatch" not in self.args.skip:
            self.microbatch(loaded, dates)
        if "sqlmesh" not in self.args.skip:
            sqlmesh_compare.compare(self, sys.modules[__name__], loaded, dates, data_dir)
        self.load_after = uptime()
        self.seconds = round(time.perf_counter() - started, 1)
        for path in WAREHOUSES.glob("*.duckdb"):  # 100-500 MB each; the loaded one stays for reruns
            if path.name not in ("loaded.duckdb",) and not self.args.keep:
                path.unlink()
        self.report()

    # --- the report ------------------------------------------------------------------------

    def targets(self) -> list[dict]:
        f = self.figures
        rows = []

        def target(what, figure, limit, passed, note=""):
            rows.append({"target": what, "figure": figure, "limit": limit, "pass": bool(passed), "note": note})

        target(
            "3-season backfill vs `dbt build --full-refresh`",
            f"{f['backfill_3_seasons_s']:.1f} s / {f['dbt_full_refresh_s']:.1f} s = {f['backfill_over_full_refresh']:.2f}x",
            "<= 1.2x",
            f["backfill_over_full_refresh"] <= 1.2,
        )
        target("3-season backfill", f"{f['backfill_3_seasons_s']:.1f} s", "< 30 s", f["backfill_3_seasons_s"] < 30)
        target("one new game date", f"{f['one_new_date_s']:.1f} s", "< 10 s", f["one_new_date_s"] < 10)
        target(
            "nothing pending",
            f"{f['nothing_pending_s']:.2f} s"
            + (", dbt invoked" if f["nothing_pending_invoked_dbt"] else ", no dbt invocation"),
            "< 2 s, no dbt",
            f["nothing_pending_s"] < 2 and not f["nothing_pending_invoked_dbt"],
        )
        target(
            "cost per date, last 30 / first 30",
            f"{f['last_30_per_date_s']:.2f} / {f['first_30_per_date_s']:.2f} s = {f['last_over_first_per_date']:.2f}",
            "<= 1.2",
            f["last_over_first_per_date"] <= 1.2,
            f"model time alone: {f['last_30_model_s']:.2f} / {f['first_30_model_s']:.2f} s = {f['last_over_first_model_time']:.2f}",
        )
        if "backfill_10_seasons_s" in f:
            target(
                "10 seasons: backfill peak memory",
                f"{f['backfill_10_seasons_peak_mb'] / 1024:.2f} GB",
                "< 2 GB",
                f["backfill_10_seasons_peak_mb"] < 2048,
                f"load peak {f['load_10_seasons_peak_mb'] / 1024:.2f} GB",
            )
            target(
                "10 seasons: backfill time vs 3 seasons",
                f"{f['backfill_10_seasons_s']:.1f} s / {f['backfill_3_seasons_s']:.1f} s = {f['ten_over_three_backfill']:.2f}x",
                "< 3.5x",
                f["ten_over_three_backfill"] < 3.5,
            )
        if "selective_rebuild_s" in f:
            sel = self.details["selective_rebuild"]
            target(
                f"selective rebuild of one re-delivered game ({sel['stale_partitions']} stale partitions)"
                " vs `backfill --force` over their range",
                f"{f['selective_rebuild_s']:.1f} s / {f['force_over_stale_range_s']:.1f} s = {f['selective_over_force']:.2f}x",
                "<= 1x",
                f["selective_over_force"] <= 1.0,
                f"{sel['planned_batches']} batches in {sel['planned_waves']} waves; a wave's fixed cost"
                f" {f['wave_fixed_s']:.2f} s, {f['partition_s'] * 1000:.1f} ms a partition",
            )
        if "schema_change_rebuild_s" in f:
            target(
                "a schema change (a column added to the features): backfill, rebuilt beside and swapped in,"
                " vs `dbt build --full-refresh --select player_shot_zone_features`",
                f"{f['schema_change_rebuild_s']:.1f} s / {f['schema_change_dbt_full_refresh_s']:.1f} s"
                f" = {f['schema_change_over_full_refresh']:.2f}x",
                "<= 1.5x",
                f["schema_change_over_full_refresh"] <= 1.5,
                f"{self.details['schema_change']['planned_partitions']:,} partitions; the backfill also builds and"
                " tests the views over the model, and keeps the live table whole until the swap",
            )
        if "history_seasons" in f:
            n = f["history_seasons"]
            target(
                f"{n} seasons with playoffs: load + backfill from empty",
                f"{f['history_load_s']:.1f} + {f['history_backfill_s']:.1f} = {f['history_load_and_backfill_s']:.1f} s",
                "< 240 s",
                f["history_load_and_backfill_s"] < 240,
                f"generation {f['history_generate_s']:.0f} s, cached",
            )
            target(
                f"{n} seasons: peak memory",
                f"{max(f['history_backfill_peak_mb'], f['history_load_peak_mb']) / 1024:.2f} GB",
                "< 2 GB",
                max(f["history_backfill_peak_mb"], f["history_load_peak_mb"]) < 2048,
                f"backfill {f['history_backfill_peak_mb']:,.0f} MB, load {f['history_load_peak_mb']:,.0f} MB",
            )
            target(
                f"{n} seasons: status / nothing pending",
                f"{f['history_status_s']:.2f} / {f['history_nothing_pending_s']:.2f} s",
                "< 3 s each",
                f["history_status_s"] < 3 and f["history_nothing_pending_s"] < 3,
                f"plan {f['history_plan_s']:.2f} s",
            )
            edges = self.details["history"]["edges"]
            target(
                f"{n} seasons: cost per date, last season / first",
                f"{edges['last']['per_date_s']:.3f} / {edges['first']['per_date_s']:.3f} s = {f['history_last_over_first_per_date']:.2f}",
                "<= 1.3",
                f["history_last_over_first_per_date"] <= 1.3,
                "each season rebuilt with --force",
            )
        target(
            "serve one slate (`features --date`)", f"{f['features_slate_s']:.2f} s", "< 3 s", f["features_slate_s"] < 3
        )
        target(
            "export the 3-season training set",
            f"{f['export_3_seasons_s']:.1f} s ({f['export_3_seasons_rows']:,} rows)",
            "< 10 s",
            f["export_3_seasons_s"] < 10,
        )
        if "update_one_new_date_s" in f:
            target(
                "`update` on the 3-season folder: one new date / nothing new",
                f"{f['update_one_new_date_s']:.1f} / {f['update_nothing_new_s']:.1f} s",
                "< 5 s / < 2 s",
                f["update_one_new_date_s"] < 5 and f["update_nothing_new_s"] < 2,
            )
            target(
                "logging the served slate, inside `update` of one new date",
                f"{f['update_log_s']:.2f} s",
                "< 0.3 s",
                f["update_log_s"] is not None and f["update_log_s"] < 0.3,
            )
        if "skew_season_s" in f:
            target(
                "`skew` over a season / `export --as-served` of 3 seasons",
                f"{f['skew_season_s']:.1f} / {f['export_as_served_3_seasons_s']:.1f} s",
                "< 5 s each",
                f["skew_season_s"] < 5 and f["export_as_served_3_seasons_s"] < 5,
                f"{f['served_rows_logged']:,} served rows logged (every played date as if served)",
            )
        target("load 3 seasons", f"{f['load_3_seasons_s']:.1f} s", "< 30 s", f["load_3_seasons_s"] < 30)
        target(
            "generate 3 seasons",
            f"{f['generate_3_seasons_s']:.1f} s",
            "< 60 s",
            f["generate_3_seasons_s"] < 60,
            "cached: measured " + self.details["generation_3"]["when"]
            if self.details["generation_3"].get("cached")
            else "",
        )
        return rows

    def report(self) -> None:
        f, d, m = self.figures, self.details, self.machine
        targets = self.targets()
        results = {
            "date": self.started_at.isoformat(timespec="seconds"),
            "command": "make bench",
            "bench_seconds": self.seconds,
            "machine": m,
            "load": {"before": self.load_before, "after": self.load_after},
            "figures": f,
            "cpu": self.cpu,
            "targets": targets,
            "details": d,
            "runs": [asdict(r) for r in RUNS],
        }
        (BENCH / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        markdown = self.markdown(targets)
        (ROOT / "BENCHMARKS.md").write_text(markdown)
        print()
        print(self.target_table(targets))
        if "sqlmesh" in d:
            print("\n".join(sqlmesh_compare.markdown(d)))
        print(f"\nWrote BENCHMARKS.md and bench/results.json ({self.seconds:.0f} s in all)")

    @staticmethod
    def target_table(targets: list[dict]) -> str:
        lines = ["| target | figure | limit | result | note |", "|---|---|---|---|---|"]
        for t in targets:
            lines.append(
                f"| {t['target']} | {t['figure']} | {t['limit']} | {'pass' if t['pass'] else '**FAIL**'} | {t['note']} |"
            )
        return "\n".join(lines)

    def markdown(self, targets: list[dict]) -> str:
        f, d, m = self.figures, self.details, self.machine
        r = d["range"]
        out = [
            "# Benchmarks",
            "",
            f"Generated by `make bench` (bench/run.py) on {self.started_at:%Y-%m-%d %H:%M}, in {self.seconds / 60:.1f} minutes;"
            " every figure below comes from that one run"
            + (
                ", but generation, cached from an earlier run (`--regenerate` measures it again)"
                if d["generation_3"].get("cached")
                else ""
            )
            + ". Raw figures: `bench/results.json`.",
            "",
            f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB memory, {m['os']};"
            f" Python {m['python']}, duckdb {m['duckdb']}, dbt-core {m['dbt-core']}, dbt-duckdb {m['dbt-duckdb']};"
            f" commit {m['commit']}.",
            "",
            f"Machine load (the machine was shared while this ran): before `{self.load_before}`; after `{self.load_after}`."
            " Times are wall-clock, so a busy machine inflates them; ratios of runs made back to back suffer less.",
            "",
            f"Data: `shotzones generate --first-season {THREE['first_season']} --seasons {THREE['seasons']} --seed {THREE['seed']}`:"
            f" {r['games']:,} games on {r['dates']} game dates ({r['first']} to {r['last']}), {r['rows']:,} play-by-play rows."
            f" Built: {d['rows_built']['int_player_game_shot_zones']:,} player-games, {d['rows_built']['player_shot_zone_features']:,} feature rows.",
            "",
            "## Targets",
            "",
            self.target_table(targets),
            "",
            "## Every figure",
            "",
            "| what | seconds | CPU seconds | peak memory | how |",
            "|---|---|---|---|---|",
        ]
        mb = lambda v: f"{v:,.0f} MB"  # noqa: E731
        gen = d["generation_3"]
        rows = [
            (
                "generate 3 seasons",
                "generate_3_seasons_s",
                mb(f["generate_3_seasons_peak_mb"]),
                "`shotzones generate`" + (f" (cached: measured {gen['when']})" if gen.get("cached") else ""),
            ),
            (
                "load 3 seasons",
                "load_3_seasons_s",
                mb(f["load_3_seasons_peak_mb"]),
                "`shotzones load` into an empty warehouse",
            ),
            (
                "backfill 3 seasons, default workers (4)",
                "backfill_3_seasons_s",
                mb(f["backfill_3_seasons_peak_mb"]),
                "`shotzones backfill` on a copy of the loaded warehouse",
            ),
            (
                "backfill 3 seasons, 1 worker",
                "backfill_3_seasons_1_worker_s",
                mb(f["backfill_3_seasons_1_worker_peak_mb"]),
                "`shotzones backfill --workers 1`, same",
            ),
            (
                "dbt build --full-refresh",
                "dbt_full_refresh_s",
                mb(f["dbt_full_refresh_peak_mb"]),
                "`dbt build --full-refresh --profiles-dir profiles --exclude test_type:unit`, same",
            ),
        ]
        if "microbatch_first_season_s" in f:
            mbd = d["microbatch"]
            rows += [
                (
                    f"dbt microbatch, first season ({mbd['first_season_batches_per_model']} daily batches per model)",
                    "microbatch_first_season_s",
                    mb(f["microbatch_first_season_peak_mb"]),
                    "`dbt build --event-time-start/--event-time-end` in bench/microbatch",
                ),
                (
                    f"dbt microbatch, 3 seasons ({mbd['range_calendar_days']} daily batches per model), estimated",
                    "microbatch_3_seasons_estimated_s",
                    "",
                    "extrapolated, see below",
                ),
            ]
        if "old_approach_3_seasons_estimated_s" in f:
            rows += [
                (
                    "old approach, the last date alone",
                    "old_approach_last_date_s",
                    "",
                    "one query over all play-by-play up to the date",
                ),
                (
                    f"old approach, {OLD_APPROACH_SAMPLES} sampled dates",
                    "old_approach_sample_s",
                    "",
                    "`bench/old_approach.py`, one process",
                ),
                (
                    f"old approach, all {r['dates']} dates, estimated",
                    "old_approach_3_seasons_estimated_s",
                    "",
                    f"fitted to {OLD_APPROACH_SAMPLES} sampled dates, see below",
                ),
            ]
        e = d["edges"]
        rows += [
            (
                f"backfill first {EDGE_DATES} dates ({e['first'][0]}..{e['first'][1]})",
                "first_30_s",
                "",
                f"`shotzones backfill --end {e['first'][1]}` on a fresh copy: {f['first_30_per_date_s']:.3f} s per date",
            ),
            (
                f"backfill last {EDGE_DATES} dates ({e['last'][0]}..{e['last'][1]})",
                "last_30_s",
                "",
                f"`shotzones backfill` once every earlier date is done: {f['last_30_per_date_s']:.3f} s per date",
            ),
            (
                f"load one new game date ({e['newest']})",
                "load_one_date_s",
                "",
                "`shotzones load` of that date's files into the backfilled warehouse",
            ),
            (
                "backfill one new game date",
                "one_new_date_s",
                mb(f["one_new_date_peak_mb"]),
                "`shotzones backfill` after that load",
            ),
            (
                "backfill, nothing pending",
                "nothing_pending_s",
                "",
                "`shotzones backfill` again"
                + (
                    " (dbt invoked!)"
                    if f["nothing_pending_invoked_dbt"]
                    else ": no dbt invocation (no dbt log written)"
                ),
            ),
        ]
        if "backfill_10_seasons_s" in f:
            t = d["ten_seasons"]
            gen10 = t["generation"]
            rows += [
                (
                    "generate 10 seasons",
                    "generate_10_seasons_s",
                    mb(gen10["peak_mb"]),
                    f"`--first-season {TEN['first_season']} --seasons {TEN['seasons']} --seed {TEN['seed']}`"
                    + (f" (cached: measured {gen10['when']})" if gen10.get("cached") else ""),
                ),
                (
                    f"load 10 seasons ({t['rows']:,} rows)",
                    "load_10_seasons_s",
                    mb(f["load_10_seasons_peak_mb"]),
                    "`shotzones load`",
                ),
                (
                    f"backfill 10 seasons ({t['dates']} dates)",
                    "backfill_10_seasons_s",
                    mb(f["backfill_10_seasons_peak_mb"]),
                    "`shotzones backfill`",
                ),
            ]
        for what, key, peak, how in rows:
            cpu = f"{self.cpu[key]:,.1f}" if key in self.cpu else ""
            out.append(f"| {what} | {f[key]:,.2f} | {cpu} | {peak} | {how} |")
        out += ["", "Ratios:", ""]
        ratios = [
            ("backfill / dbt build --full-refresh", f["backfill_over_full_refresh"]),
            (
                "backfill 1 worker / default workers",
                round(f["backfill_3_seasons_1_worker_s"] / f["backfill_3_seasons_s"], 2),
            ),
            (f"per date, last {EDGE_DATES} / first {EDGE_DATES} (wall-clock)", f["last_over_first_per_date"]),
            (
                f"per date, last {EDGE_DATES} / first {EDGE_DATES} (dbt's model time only)",
                f["last_over_first_model_time"],
            ),
        ]
        if "microbatch_over_backfill" in f:
            ratios.append(("dbt microbatch (estimated) / backfill", f["microbatch_over_backfill"]))
        if "old_approach_over_backfill" in f:
            ratios.append(("old approach (estimated) / backfill", f["old_approach_over_backfill"]))
        if "ten_over_three_backfill" in f:
            ratios.append(("backfill 10 seasons / 3 seasons", f["ten_over_three_backfill"]))
            ratios.append(("rows 10 seasons / 3 seasons", round(d["ten_seasons"]["rows"] / r["rows"], 2)))
        out += [f"- {name}: {value}" for name, value in ratios]
        out += ["", "## Where the time goes", ""]
        out.append(f"- backfill, default workers: {describe(d['backfill_default_dbt'])}.")
        out.append(f"- dbt build --full-refresh: {describe(d['full_refresh_dbt'])}.")
        slowest = ", ".join(f"{n} {s} s" for n, s in d["full_refresh_dbt"]["slowest"])
        out.append(f"- slowest nodes of `dbt build --full-refresh`: {slowest}.")
        for name, key in (
            ("first 30 dates", "first_dbt"),
            ("last 30 dates", "last_dbt"),
            ("one new date", "one_date_dbt"),
        ):
            out.append(f"- {name}: {describe(d['edges'][key])}.")
        if "ten_seasons" in d:
            out.append(f"- 10-season backfill: {describe(d['ten_seasons']['backfill_dbt'])}.")
        if "microbatch" in d:
            mbd = d["microbatch"]
            out += [
                "",
                "## The dbt microbatch baseline",
                "",
                "`bench/microbatch` is a dbt project that includes this one as a local package and builds its models"
                " unchanged with dbt's `microbatch` strategy (`event_time='game_date', batch_size='day'`), via the"
                " dispatched `game_date_partitioned()` config. Each batch runs the very SQL the runner runs for a one-day"
                " batch (a `var()` override hands the models dbt's batch as their `batches` var); the features model reads"
                " int_player_game_shot_zones through `ref(...).render()`, dbt's opt-out of the batch filter, so its windows"
                " keep their players' whole history (SPEC 9). dbt-duckdb's microbatch SQL is used but for its refusal of a"
                " `unique_key`. Data tests run once, over the whole tables, as in `dbt build`.",
                "",
                f"Measured: the first season, {mbd['first_season'][0]} to {mbd['first_season'][1]}"
                f" ({mbd['first_season_batches_per_model']} daily batches per model, calendar days: dbt makes a batch for"
                f" every day, games or not), from an empty warehouse; and the last {LATE_MICROBATCH_DAYS} calendar days"
                f" ({mbd['late_sample'][0]} to {mbd['late_sample'][1]}) rebuilt in a fully built warehouse"
                f" ({mbd['late_seconds']:.1f} s, `dbt run`), for the per-batch cost late in the range."
                f" Rows identical to the runner's over the first season:"
                f" {mbd['differing_rows_vs_runner']['int_player_game_shot_zones']} and {mbd['differing_rows_vs_runner']['player_shot_zone_features']} differing rows"
                f" ({mbd['first_season_feature_rows']['microbatch']:,} feature rows).",
                "",
                "| model | batches measured | ms per game-day batch, first season | ms per game-day batch, last days | ms per empty day | model seconds measured | model seconds, 3 seasons (est.) |",
                "|---|---|---|---|---|---|---|",
            ]
            for model, p in mbd["per_model"].items():
                out.append(
                    f"| {model} | {p['batches_measured']} | {p['first_season_game_day_ms']} | {p['last_days_game_day_ms']}"
                    f" | {p['empty_day_ms']} | {p['model_seconds_measured']} | {p['model_seconds_estimated']} |"
                )
            out += [
                "",
                f"Estimate for the whole range as one command (`--event-time-start {r['first']}`, {mbd['range_calendar_days']}"
                f" daily batches per model, {mbd['range_game_dates']} of them game dates): the first-season run's fixed part"
                f" ({mbd['fixed_seconds']} s: process, parse, views, tests) plus each model's measured time scaled by the"
                " summed batch cost over the range, a game-day batch costing the first season's mean at the start and the"
                " last days' mean at the end (linearly between), an empty day the first season's empty-day mean."
                f" Result: {f['microbatch_3_seasons_estimated_s']:.0f} s. Run instead as one command per season (no"
                f" batches for the summers: {mbd['in_season_days']} daily batches per model, the fixed part paid"
                f" {mbd['seasons']} times): {f['microbatch_3_seasons_per_season_estimated_s']:.0f} s."
                " Parse and tests are paid once per command, as in `dbt build`; the rest is dbt's work per batch:"
                " compile, a temp table, a delete and an insert for every day and model.",
            ]
        if "old_approach" in d:
            o = d["old_approach"]
            out += [
                "",
                "## The old approach",
                "",
                "Each game date's features recomputed from all the play-by-play up to that date, in one query: the"
                " project's own compiled SQL (`dbt compile` with sentinel batch bounds), int_player_game_shot_zones over"
                " every date up to the day through the staging views, inlined where the features model reads it, the"
                " windows, the day's rows kept (`bench/old_approach.py`, a fresh DuckDB connection per date)."
                f" Its rows equal the incremental tables' on every sampled date: {o['all_match_incremental_tables']}.",
                "",
                "| date | raw rows read | seconds |",
                "|---|---|---|",
            ]
            for row in o["per_date"]:
                out.append(
                    f"| {row['date']} (date {row['index'] + 1} of {r['dates']}) | {row['raw_rows_read']:,} | {row['seconds']:.2f} |"
                )
            a, b = o["fit_seconds_per_date"]
            out += [
                "",
                f"Least-squares fit: {a:.3f} s + {b * 1000:.2f} ms per earlier date; summed over the {r['dates']} dates:"
                f" {f['old_approach_3_seasons_estimated_s']:.0f} s, {f['old_approach_over_backfill']}x the backfill.",
            ]
        if "sqlmesh" in d:
            out += sqlmesh_compare.markdown(d)
        out += [
            "",
            "## Every command run",
            "",
            "| step | command | seconds | CPU seconds | peak memory | exit |",
            "|---|---|---|---|---|---|",
        ]
        for run in RUNS:
            out.append(
                f"| {run.label} | `{run.command[:110]}{'...' if len(run.command) > 110 else ''}` | {run.seconds:.2f}"
                f" | {run.cpu_seconds:.1f} | {run.peak_mb:,.0f} MB | {run.returncode} |"
            )
        out += [
            "",
            "Notes: each backfill and build starts from a byte copy of the loaded warehouse. `warm-up: dbt parse` only"
            " warms the page cache and dbt's imports; after each copy an untimed `dbt parse` with its path leaves"
            " dbt's saved parse as a user's previous command would (dbt re-parses in full when the warehouse path,"
            " part of the profile, changes). The runner passes its batches in the environment variable"
            " SHOTZONES_BATCHES, so each wave re-parses only the files that read it; that is part of its figures."
            " CPU seconds are user + system time of the process: the machine's load inflates wall-clock, much less CPU."
            + (
                f" The main comparison ran {self.args.rounds} rounds; the best of each is reported."
                if self.args.rounds > 1
                else ""
            ),
            "",
        ]
        return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="generate the data again (measures generation)")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated: old,microbatch,ten,sqlmesh,nightly,selective,schema,history (development only)",
    )
    parser.add_argument(
        "--history-seasons",
        type=int,
        default=HISTORY["seasons"],
        help="seasons of the full-history run, from 1996-97 (development: fewer)",
    )
    parser.add_argument(
        "--only",
        choices=("history", "nightly"),
        help="run one scenario alone, writing no BENCHMARKS.md (development only)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the main comparison; the best is reported")
    parser.add_argument("--keep", action="store_true", help="keep the warehouses under bench/cache/warehouses")
    args = parser.parse_args()
    args.skip = set(filter(None, args.skip.split(",")))
    os.chdir(ROOT)
    Bench(args).run()


if __name__ == "__main__":
    main()
