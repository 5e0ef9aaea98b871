"""What is finished, what is not, and the batches that would finish it. Pure functions over
the loaded game dates, the ledger and the row counts the warehouse actually holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shotzones.ledger import Entry

PLAYER_GAMES = "int_player_game_shot_zones"
FEATURES = "player_shot_zone_features"
MODELS = (PLAYER_GAMES, FEATURES)  # in dependency order
STATES = ("done", "pending", "failed", "stale")


@dataclass(frozen=True)
class PartitionState:
    model: str
    game_date: date
    state: str
    reason: str


@dataclass
class Batch:
    """Contiguous game dates (in the loaded calendar) built together for the same models."""

    models: tuple[str, ...]
    dates: list[date] = field(default_factory=list)
    reasons: set[str] = field(default_factory=set)

    @property
    def start(self) -> date:
        return self.dates[0]

    @property
    def end(self) -> date:
        return self.dates[-1]

    def describe(self) -> str:
        return f"{self.start}..{self.end} ({len(self.dates)} dates) {'+'.join(self.models)}"


def partition_states(
    dates: list[date],
    entries: dict[tuple[str, date], Entry],
    rows_present: dict[tuple[str, date], int],
) -> dict[tuple[str, date], PartitionState]:
    """The state of every partition of every loaded date, proven against the warehouse:
    a ledger `done` whose row count the table no longer holds is not done."""
    states: dict[tuple[str, date], PartitionState] = {}
    latest_upstream = None  # the latest player-game build on or before the date
    upstream_complete = True  # every player-game partition on or before the date is done
    for day in sorted(dates):
        for model in MODELS:
            entry = entries.get((model, day))
            present = rows_present.get((model, day), 0)
            if entry is None:
                state, reason = "pending", "never built"
            elif entry.state == "failed":
                state, reason = "failed", entry.error or "failed"
            elif entry.rows_written != present:
                state, reason = "pending", (
                    f"ledger says done with {entry.rows_written} rows, the table holds {present}"
                )
            else:
                state, reason = "done", f"run {entry.run_id}"
            if model == PLAYER_GAMES:
                upstream_complete = upstream_complete and state == "done"
                if entry is not None and state == "done":
                    latest_upstream = max(latest_upstream or entry.finished_at, entry.finished_at)
            elif state == "done":
                # a features partition reads every earlier player-game partition of its players
                if not upstream_complete:
                    state, reason = "stale", "an earlier player-game partition is not done"
                elif latest_upstream is not None and latest_upstream > entry.finished_at:
                    state, reason = "stale", "an earlier player-game partition was rebuilt after it"
            states[(model, day)] = PartitionState(model, day, state, reason)
    return states


def plan_batches(
    dates: list[date],
    states: dict[tuple[str, date], PartitionState],
    start: date | None,
    end: date | None,
    models: tuple[str, ...] = MODELS,
    batch_days: int | None = None,
    force: bool = False,
) -> list[Batch]:
    """Batches that bring every selected partition in [start, end] to done, in the order they
    must run. A features partition needs every earlier player-game partition: missing ones are
    built first, whatever range was asked for."""
    dates = sorted(dates)
    in_range = [d for d in dates if (start is None or d >= start) and (end is None or d <= end)]
    needed: dict[date, dict[str, str]] = {}
    for day in in_range:
        for model in models:
            state = states[(model, day)]
            if force or state.state != "done":
                needed.setdefault(day, {})[model] = "forced" if force else state.reason
    first_rebuilt = min((d for d, m in needed.items() if PLAYER_GAMES in m), default=None)
    if FEATURES in models and first_rebuilt is not None:
        # rebuilding a player-game partition outdates the features of every later date
        for day in in_range:
            if day >= first_rebuilt and FEATURES not in needed.get(day, {}):
                needed.setdefault(day, {})[FEATURES] = "an earlier player-game partition is rebuilt"
    last_features = max((d for d, m in needed.items() if FEATURES in m), default=None)
    if last_features is not None:
        for day in dates:
            if day > last_features:
                break
            if states[(PLAYER_GAMES, day)].state != "done" and PLAYER_GAMES not in needed.get(day, {}):
                needed.setdefault(day, {})[PLAYER_GAMES] = "lookback of a features partition"

    batches: list[Batch] = []
    previous_index = None
    for index, day in enumerate(dates):
        if day not in needed:
            continue
        batch_models = tuple(m for m in MODELS if m in needed[day])
        current = batches[-1] if batches else None
        if (
            current is None
            or current.models != batch_models
            or previous_index != index - 1
            or (batch_days is not None and len(current.dates) >= batch_days)
        ):
            current = Batch(batch_models)
            batches.append(current)
        current.dates.append(day)
        current.reasons.update(needed[day].values())
        previous_index = index
    # player-game-only batches have no dependencies; run them before anything that reads them
    return sorted(batches, key=lambda b: (b.models != (PLAYER_GAMES,), b.start))


def waves(batches: list[Batch], workers: int) -> list[list[Batch]]:
    """Consecutive batches for the same models, at most `workers` to a wave (one dbt
    invocation)."""
    grouped: list[list[Batch]] = []
    for batch in batches:
        if grouped and grouped[-1][0].models == batch.models and len(grouped[-1]) < workers:
            grouped[-1].append(batch)
        else:
            grouped.append([batch])
    return grouped
