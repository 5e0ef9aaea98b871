"""`shotzones update`: the nightly job in one call, for cron or an orchestrator.

Three steps under one hold of the warehouse (holding.hold), each reported as it finishes:

1. load: the play-by-play files new or changed since they were last loaded (the manifest), and a
   `schedule.csv` in the folders given, as the schedule, when it changed;
2. backfill: what is pending or stale (the change-aware planning). A rebuild for a code or var
   change is said first, per model with why and how many partitions (`rebuild`); on BigQuery,
   where it is billed, with its estimate from dry runs, and it runs only with `allow_rebuild`
   (otherwise nothing is built, and the update exits 1: the slate reads what is not rebuilt);
3. serve: the pre-game features of the next slate (serving.pregame_features), logged as served
   (feature_log) and written to `serve_out` when given. With no schedule, or no scheduled date after the latest loaded one,
   there is nothing to serve: the step is skipped with a note, and the update still succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shotzones import busy, dbt, feature_log, holding
from shotzones.backfill import BackfillResult, Event, Options, backfill, plan_waves
from shotzones.cost import estimate
from shotzones.load import (
    SCHEDULE_FILE,
    LoadSummary,
    ScheduleSummary,
    changed_files,
    load,
    load_schedule,
    record_files,
)
from shotzones.planning import Batch, Rebuild
from shotzones.serving import NotReady, Rows, ServingError, pregame_features, write
from shotzones.settings import Settings


@dataclass(frozen=True)
class CodeRebuild:
    """A model the backfill rebuilds for a code or var change: why, and how many partitions."""

    model: str
    why: str
    partitions: int


@dataclass
class UpdateResult:
    loaded: LoadSummary | None = None
    schedule: ScheduleSummary | None = None  # None: no schedule file, or unchanged
    backfilled: BackfillResult | None = None
    served: Rows | None = None
    serve_note: str | None = None  # why nothing was served
    serve_failed: bool = False  # partitions the slate reads are not done
    seconds: float = 0.0
    # what the backfill rebuilds for a code or var change, and (BigQuery) its estimate
    rebuilds: list[CodeRebuild] = field(default_factory=list)
    rebuild_bytes: int | None = None
    rebuild_allowed: bool = True
    serve: feature_log.Serve | None = None  # the served slate as logged

    @property
    def exit_code(self) -> int:
        """2 a file rejected; 1 rows quarantined, values set aside, partitions failed or the
        slate not servable from finished partitions; else 0."""
        codes = [
            self.loaded.exit_code if self.loaded else 0,
            self.schedule.exit_code if self.schedule else 0,
            0 if self.backfilled is None or self.backfilled.success else 1,
            1 if self.serve_failed else 0,
        ]
        return max(codes)


@dataclass(frozen=True)
class Step:
    """One step finished: `load`, `schedule`, `backfill` or `serve`, with what it did."""

    name: str
    result: UpdateResult = field(repr=False)


def schedule_files(paths: Iterable[Path]) -> list[Path]:
    """The schedule.csv files in the folders given (and any named directly)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(path.rglob(SCHEDULE_FILE))
        elif path.name == SCHEDULE_FILE and path.is_file():
            found.append(path)
    return [path.resolve() for path in found]


def update(
    settings: Settings,
    paths: Iterable[Path],
    options: Options | None = None,
    serve_out: Path | None = None,
    serve_format: str = "csv",
    reread: bool = False,
    on_step: Callable[[Step], None] = lambda step: None,
    on_event: Callable[[Event], None] = lambda event: None,
    allow_rebuild: bool = False,
) -> UpdateResult:
    started = time.perf_counter()
    options = options or Options()
    paths = list(paths)
    result = UpdateResult()
    with holding.hold(settings, busy.command_line("update")):
        # the schedule first: a backfill plans the scheduled dates too
        schedules = changed_files(settings, schedule_files(paths), reread)
        if schedules.changed:  # recorded in the manifest as loaded, unless rejected
            result.schedule = load_schedule(settings, schedules.changed)
        record_files(settings, schedules.touched)
        on_step(Step("schedule", result))

        # new play-by-play means a backfill: dbt's import (seconds) overlaps the load
        result.loaded = load(settings, paths, reread, on_changes=lambda files: dbt.start_importing())
        on_step(Step("load", result))

        def approve(planned: list[Batch], rebuilds: list[Rebuild]) -> bool:
            """Say a rebuild for a code change before it runs; on BigQuery, build it only if allowed."""
            if not rebuilds:
                return True
            beside = [batch for batch in planned if batch.beside]
            result.rebuilds = [
                CodeRebuild(r.model, r.why, sum(len(b.dates) for b in beside if r.model in b.models)) for r in rebuilds
            ]
            if settings.target == "bigquery":
                costs = estimate(settings, plan_waves(settings, beside, options.workers))
                result.rebuild_bytes = sum(cost.bytes for cost in costs)
                result.rebuild_allowed = allow_rebuild
            on_step(Step("rebuild", result))
            return result.rebuild_allowed

        result.backfilled = backfill(settings, options, on_event, approve=approve)
        on_step(Step("backfill", result))

        _serve_slate(settings, result, serve_out, serve_format)
        on_step(Step("serve", result))
    result.seconds = time.perf_counter() - started
    return result


def _serve_slate(settings: Settings, result: UpdateResult, out: Path | None, fmt: str) -> None:
    """The next slate's pre-game features, from finished partitions only."""
    try:
        result.served = pregame_features(settings, not_done=result.backfilled.not_done)
    except ServingError as nothing:
        result.serve_note = f"nothing served: {nothing}"
        return
    except NotReady as error:
        result.serve_failed = True
        result.serve_note = str(error)
        return
    # what the props model was served, logged as served (feature_log): train on the log
    result.serve = feature_log.append(settings, result.served.table, "update", result.backfilled.run_id)
    if out is not None:
        write(result.served.table, fmt, out)
