"""`shotzones update`: the nightly job in one call, for cron or an orchestrator.

Three steps under one hold of the warehouse (busy.hold), each reported as it finishes:

1. load: the play-by-play files new or changed since they were last loaded (the manifest), and a
   `schedule.csv` in the folders given, as the schedule, when it changed;
2. backfill: what is pending or stale (the change-aware planning);
3. serve: the pre-game features of the next slate (serving.pregame_features), written to
   `serve_out` when given. With no schedule, or no scheduled date after the latest loaded one,
   there is nothing to serve: the step is skipped with a note, and the update still succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shotzones import busy, dbt
from shotzones.backfill import BackfillResult, Event, Options, backfill
from shotzones.load import (
    SCHEDULE_FILE,
    LoadSummary,
    ScheduleSummary,
    changed_files,
    load,
    load_schedule,
    record_files,
)
from shotzones.serving import NotReady, Rows, ServingError, pregame_features, write
from shotzones.settings import Settings


@dataclass
class UpdateResult:
    loaded: LoadSummary | None = None
    schedule: ScheduleSummary | None = None  # None: no schedule file, or unchanged
    backfilled: BackfillResult | None = None
    served: Rows | None = None
    serve_note: str | None = None  # why nothing was served
    serve_failed: bool = False  # partitions the slate reads are not done
    seconds: float = 0.0

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
) -> UpdateResult:
    started = time.perf_counter()
    paths = list(paths)
    result = UpdateResult()
    with busy.hold(settings, busy.command_line("update")):
        # the schedule first: a backfill plans the scheduled dates too
        schedules = changed_files(settings, schedule_files(paths), reread)
        if schedules.changed:
            result.schedule = load_schedule(settings, schedules.changed)
            refused = {str(r.path) for r in result.schedule.rejected}
            record_files(settings, [s for s in schedules.states if s.path not in refused])
        record_files(settings, schedules.touched)
        on_step(Step("schedule", result))

        # new play-by-play means a backfill: dbt's import (seconds) overlaps the load
        result.loaded = load(settings, paths, reread, on_changes=lambda files: dbt.start_importing())
        on_step(Step("load", result))

        result.backfilled = backfill(settings, options or Options(), on_event)
        on_step(Step("backfill", result))

        _serve(settings, result, serve_out, serve_format)
        on_step(Step("serve", result))
    result.seconds = time.perf_counter() - started
    return result


def _serve(settings: Settings, result: UpdateResult, out: Path | None, fmt: str) -> None:
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
    if out is not None:
        write(result.served.table, fmt, out)
