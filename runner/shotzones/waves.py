"""One wave of a backfill: its `dbt build`, and what dbt's results say
about each model's partitions: done, failed on a date a test names, failed whole, or worth a
retry (a transient error)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from shotzones import code, dbt
from shotzones.planning import MODELS, Batch
from shotzones.retry import is_transient
from shotzones.settings import Settings
from shotzones.warehouse import Warehouse, date_list, open_warehouse


@dataclass
class WaveOutcome:
    """What dbt said about one wave. `problems[model][day]` lists what failed the model's
    partition on that day; the day None stands for every partition of the wave."""

    problems: dict[str, dict[date | None, list[str]]]
    finished_at: dict[str, datetime]
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # the invocation itself failed
    views_built: list[str] = field(default_factory=list)  # the views the wave (re)created
    views_failed: bool = False  # one it selected was not created
    # what raised (dbt's `error` status: the warehouse, the SQL), as opposed to a test that ran
    # and found failing rows: only an error can be transient
    errors: list[str] = field(default_factory=list)

    @property
    def transient(self) -> bool:
        """The wave failed on something a retry may not meet: a lock, a quota, the network."""
        return any(is_transient(message) for message in ([self.error] if self.error else []) + self.errors)

    def error_for(self, model: str, day: date) -> str | None:
        if self.error:
            return self.error
        by_day = self.problems.get(model, {})
        messages = by_day.get(None, []) + by_day.get(day, [])
        return "; ".join(messages) or None

    @property
    def whole_wave_failed(self) -> bool:
        return self.error is not None or any(None in by_day for by_day in self.problems.values())

    def failure_text(self) -> str:
        messages = (m for by_day in self.problems.values() for ms in by_day.values() for m in ms)
        return self.error or "; ".join(dict.fromkeys(messages))  # each once, in order


# The dbt macro that says which band each date a failed test's stored failures name breaks
# (macros/bands.sql): compiled once for a test with bands and once for one without, with a
# placeholder for the stored failures' relation
STORED_FAILURES = "shotzones_stored_failures"
STORED_FAILURE_BANDS = {
    banded: f"stored_failure_bands('{STORED_FAILURES}', {str(banded).lower()})" for banded in (False, True)
}


def failures_by_date(settings: Settings, node) -> dict[date, tuple[str, str]] | None:
    """What a failed test's stored failures say, per game date they name: the band the date
    breaks ('warn' or 'error' for a banded test, macros/bands.sql; 'error' for any other) and
    what was measured (the rate against its bound, the scheduled games without play-by-play,
    or how many rows failed), with the audit table holding the rows. None when they name no
    date (the failure then belongs to every partition of the wave)."""
    relation = getattr(node, "relation_name", None)
    if not relation:
        return None
    bands_sql = code.macro_sql(settings, tuple(STORED_FAILURE_BANDS.values()))
    with open_warehouse(settings) as wh:
        columns = wh.columns(relation)
        if "game_date" not in columns:
            return None
        banded = STORED_FAILURE_BANDS["band" in columns]
        bands = dict(wh.rows(bands_sql[banded].replace(STORED_FAILURES, relation)))
        rows = [dict(zip(columns, row)) for row in wh.rows(f"select * from {relation}")]
    by_day: dict[date, list[dict]] = {}
    for row in rows:
        by_day.setdefault(row["game_date"], []).append(row)
    table = relation.replace('"', "").replace("`", "")
    return {
        day: (band, f"{node.name}: {_measured(node, by_day[day])} (rows in {table})") for day, band in bands.items()
    }


def _measured(node, rows: list[dict]) -> str:
    """One date's failing rows of a test, said the way a person checks them: the measure
    against the bound it breaks (a warn-band row's warning bound, with its error bound)."""
    row = next((row for row in rows if row.get("band") != "warn"), rows[0])  # the worst band's
    warns = row.get("band") == "warn"
    if "null_rate" in row:  # tests/generic/null_rate.sql: one row per date
        column = getattr(node, "column_name", None) or "the column"
        measured = f"{column} is NULL in {row['null_count']:,} of {row['row_count']:,} rows ({row['null_rate']:.1%})"
        if row["null_rate"] > row["warn_max_rate" if warns else "max_rate"]:
            side, warning, bound = "above", row["warn_max_rate"], f"{row['max_rate']:.1%} allowed"
        else:
            side, warning, bound = "below", row["warn_min_rate"], f"{row['min_rate']:.1%} expected"
        return f"{measured}, {side} the " + (f"{warning:.1%} warning bound ({bound})" if warns else bound)
    if "coverage" in row:  # tests/generic/schedule_coverage.sql: one row per date
        missing = ", ".join(sorted((row.get("missing_games") or "").split(", ")))
        required = f"{row['min_coverage']:.0%} required"
        bound = (
            f"below the {row['warn_min_coverage']:.0%} warning bound ({required})" if warns else f"below the {required}"
        )
        return (
            f"{row['games_with_play_by_play']} of {row['scheduled_games']} scheduled games have play-by-play"
            f" ({row['coverage']:.0%}), {bound}; without any: {missing}"
        )
    return f"{len(rows):,} failing {'row' if len(rows) == 1 else 'rows'}"


def wave_command(models: tuple[str, ...], with_views: bool = True, every_view: bool = False) -> list[str]:
    """The `dbt build` of a wave: the staging views and the others the models read, the models
    and the views over them (not those over a model this wave leaves alone: it may not exist
    yet; `every_view`: all the others too), and the data tests of them and their sources.
    Without views, the models and every data test (selected directly, as excluding a view would
    exclude its tests): a view reads no batch, so once a backfill has created them, later waves
    leave them be."""
    upstream_views = [
        f"+{model},config.materialized:view" for model in models
    ]  # int_shots_classified, int_game_players
    select = [
        "--select",
        "path:models/staging",
        *upstream_views,
        *(f"{model}+" for model in models),
        *(["config.materialized:view"] if every_view else []),
        "source:bigdataball",
    ]
    # a model upstream of the wave's is left alone itself; one downstream with its views, and a
    # test that also reads a model outside this wave waits for that model's wave
    others = [f"{m}+" if MODELS.index(m) > MODELS.index(models[0]) else m for m in MODELS if m not in models]
    # tests tagged every_slate cost a wave more than it builds (models/marts/player_shot_zone_features.yml)
    exclude = ["--exclude", "test_type:unit", "tag:every_slate", *others, "--indirect-selection", "cautious"]
    return ["build", *(select if with_views else ["--select", *models, "test_type:data"]), *exclude]


def run_wave(
    settings: Settings, wave: list[Batch], threads: int, with_views: bool = True, beside: tuple[str, ...] = ()
) -> WaveOutcome:
    """One `dbt build` of the wave's batches (with the models `beside` built as their new
    versions: macros/beside.sql). A test that fails there skips everything downstream of what
    it tested for every date of the wave, where only the dates it names have failed: what it
    skipped is built (and tested) again by a further build, until nothing is left skipped by a
    failing test."""
    models = wave[0].models
    batches = [(b.start, b.end) for b in wave]
    # a first wave building beside brings every view up to date: the new versions' views read
    # the live ones, which no wave of live partitions may have created this run
    command = wave_command(models, with_views, every_view=bool(beside))
    if beside:
        # dbt does not see an environment variable a macro reads change: the new versions' names
        # get a parse of their own, so that the live names' is never taken for theirs
        names = hashlib.md5(",".join(beside).encode()).hexdigest()[:10]
        command += ["--target-path", str(code.target_dir(settings) / f"beside-{names}")]
    try:
        results = _build_until_settled(settings, command, threads, batches, beside)
    except dbt.DbtError as error:
        return WaveOutcome({}, {}, error=str(error))
    return _outcome(settings, models, results)


def _build_until_settled(
    settings: Settings, command: list[str], threads: int, batches: list, beside: tuple[str, ...]
) -> list:
    """The wave's node results: its build, then builds of what a failing test skipped, until
    nothing more is left skipped by one."""
    by_node: dict[str, object] = {}
    skipped: list[str] = []
    while True:
        # the ledger, not target/'s manifest and run results, says what a wave did: writing
        # them costs half a second
        invocation = dbt.invoke(
            settings, [*command, "--threads", str(threads), "--no-write-json"], batches, quiet=True, beside=beside
        )
        results = invocation.result.results
        by_node |= {r.node.unique_id: r for r in results}
        statuses = {str(r.status) for r in results}
        skipped, before = (
            [r.node.name for r in results if r.node.resource_type == "model" and str(r.status) == "skipped"],
            skipped,
        )
        if not skipped or skipped == before or "fail" not in statuses or "error" in statuses:
            break
        command = ["build", "--select", *skipped, *command[command.index("--exclude") :]]
    # an exposure builds nothing (dbt's no-op), and one a failing test skipped stays skipped
    return [r for r in by_node.values() if r.node.resource_type != "exposure"]


def _outcome(settings: Settings, models: list[str], results: list) -> WaveOutcome:
    """What the wave's results say of each of its models' dates: done, failed (and why) or warned."""
    outcome = WaveOutcome({model: {} for model in models}, {})
    views = [r for r in results if r.node.resource_type == "model" and r.node.name not in models]
    outcome.views_built = [r.node.name for r in views if str(r.status) == "success"]
    outcome.views_failed = len(outcome.views_built) < len(views)
    ran = {r.node.name for r in results if r.node.resource_type == "model"}
    for model in models:
        if model not in ran:  # never record done what dbt did not build
            outcome.problems[model][None] = [f"dbt did not run {model}"]
    for node_result in results:
        node, status = node_result.node, str(node_result.status)
        depends_on = set(getattr(node.depends_on, "nodes", []) or [])
        if node.resource_type == "model" and node.name in models:
            owners = [node.name]
            completed = [t.completed_at for t in node_result.timing if t.completed_at]
            if completed:
                outcome.finished_at[node.name] = max(completed)
        elif status == "skipped":
            # skipped for another node's failure, which fails what it owns on its own: a
            # consequence, never a cause (it would fail the built models it reads)
            continue
        else:
            # a failing test (or staging view) fails the models that read what it checked
            owners = [m for m in models if any(d.endswith("." + m) for d in depends_on)] or list(models)
        if status in ("success", "pass"):
            continue
        measured = failures_by_date(settings, node) if status in ("fail", "warn") else None
        # a warning test warns of every date it names; a failing banded test fails the dates in
        # its error band and warns of those in its warn band only
        warned = {day: said for day, (band, said) in (measured or {}).items() if status == "warn" or band == "warn"}
        failed = {day: said for day, (band, said) in (measured or {}).items() if day not in warned}
        outcome.warnings += [f"{day}: {said}" for day, said in sorted(warned.items())]
        if status == "warn":
            if not measured:
                outcome.warnings.append(f"{node.name}: {node_result.message or ''}")
            continue
        # an error (SQL, compilation) or a failure that names no date: the whole wave
        whole = f"{node.name} {status}" + (f": {node_result.message}" if node_result.message else "")
        if status == "error":
            outcome.errors.append(whole)
        for owner in owners:
            for day, message in (failed or {None: whole}).items():
                outcome.problems[owner].setdefault(day, []).append(message)
    return outcome


def count_rows(wh: Warehouse, table: str, days: list[date]) -> dict[date, int]:
    """Rows per date of a model's table (or of its new version's)."""
    if not wh.table_exists(table):  # its first build failed
        return {day: 0 for day in days}
    rows = wh.rows(
        f"select game_date, count(*) from {wh.relation(table)} where game_date in {date_list(days)} group by game_date"
    )
    return {day: 0 for day in days} | dict(rows)
