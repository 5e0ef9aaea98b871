"""What is finished, what is not, and the batches that would finish it. Pure functions over
the loaded game dates, the ledger and the row counts the warehouse actually holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from shotzones.code import CodeVersion
from shotzones.ledger import Entry, Fingerprints, SourceGame
from shotzones.settings import FEATURES, MODELS, PLAYER_GAMES  # noqa: F401 (planning's vocabulary)

STATES = ("done", "pending", "failed", "stale")
CODE_CHANGED = "code changed"
# What a wave costs whatever it builds (dbt start-up, two invocations, 55 tests, the ledger) and
# what each partition adds, in seconds. `make bench` measures both ("selective rebuild": --force
# over one date and over a range): on the 2-core machine about 6 s and 2.5 ms when idle, 100 s
# and 110 ms when busy; a wave is worth 950-2,400 partitions either way. The planner rebuilds
# done partitions between stale ones when that is cheaper than another wave.
WAVE_SECONDS = 4.0
PARTITION_SECONDS = 0.004


@dataclass(frozen=True)
class Code:
    """The code fingerprints the project compiles to now, and the components of every earlier
    fingerprint the ledger names (to say what changed)."""

    current: dict[str, CodeVersion]
    known: dict[str, dict]

    def change(self, model: str, fingerprint: str | None) -> str | None:
        """Why a partition built by `fingerprint` is outdated, or None when it is not."""
        now = self.current.get(model)
        if now is None or fingerprint == now.fingerprint:
            return None
        components = self.known.get(fingerprint) if fingerprint else None
        before = CodeVersion(fingerprint, "", components) if components is not None else None
        return f"{CODE_CHANGED}: {model} ({now.changes_since(before)})"


@dataclass(frozen=True)
class PartitionState:
    model: str
    game_date: date
    state: str
    reason: str


@dataclass
class Batch:
    """Contiguous game dates (in the loaded calendar) built together for the same models; into
    their live tables, or (`beside`) into the new versions built beside them."""

    models: tuple[str, ...]
    dates: list[date] = field(default_factory=list)
    reasons: set[str] = field(default_factory=set)
    beside: bool = False

    @property
    def start(self) -> date:
        return self.dates[0]

    @property
    def end(self) -> date:
        return self.dates[-1]

    def describe(self) -> str:
        dates = f"{len(self.dates):,} date{'' if len(self.dates) == 1 else 's'}"
        beside = " (new version, beside the live table)" if self.beside else ""
        return f"{self.start}..{self.end} ({dates}) {' + '.join(self.models)}{beside}"


def player_game_states(
    dates: list[date],
    entries: dict[tuple[str, date], Entry],
    rows_present: dict[tuple[str, date], int],
    source_changes: dict[date, list[str]],
    code: Code | None = None,
) -> dict[date, PartitionState]:
    """Player-game partitions: done only if the ledger says so, the table holds the rows it
    recorded, and the play-by-play of the date is still what the build read."""
    states = {}
    for day in dates:
        state = _ledger_state(PLAYER_GAMES, day, entries, rows_present, code)
        if state.state == "done" and day in source_changes:
            state = PartitionState(PLAYER_GAMES, day, "stale", "; ".join(source_changes[day]))
        states[day] = state
    return states


@dataclass(frozen=True)
class UpstreamChange:
    """Play-by-play of some games of a date that changed (games None: the whole date), `since`
    when a player-game build read the change (None: not rebuilt yet)."""

    day: date
    games: frozenset[str] | None
    since: datetime | None
    reason: str


def partition_states(
    dates: list[date],
    entries: dict[tuple[str, date], Entry],
    rows_present: dict[tuple[str, date], int],
    source_changes: dict[date, list[str]] | None = None,
    reach: dict[UpstreamChange, set[date]] | None = None,
    code: Code | None = None,
) -> dict[tuple[str, date], PartitionState]:
    """The state of every partition of every loaded date, proven against the warehouse.

    A features partition on date d reads the player-games of d and of its players' earlier
    games. It is stale when one of those changed after it was built: `reach[change]` holds the
    later dates whose windows read the changed games (each of their players' next games, up to
    the longest window).
    """
    dates = sorted(dates)
    player_games = player_game_states(dates, entries, rows_present, source_changes or {}, code)
    states = {(PLAYER_GAMES, day): state for day, state in player_games.items()}
    readers: dict[date, list[UpstreamChange]] = {}
    for change, reached in (reach or {}).items():
        for day in reached | {change.day}:
            readers.setdefault(day, []).append(change)
    for day in dates:
        state = _ledger_state(FEATURES, day, entries, rows_present, code)
        if state.state == "done":
            built = entries[(FEATURES, day)].finished_at
            for change in sorted(readers.get(day, []), key=lambda c: c.day):
                if change.since is None or change.since > built:
                    state = PartitionState(FEATURES, day, "stale", f"reads {change.day}: {change.reason}")
                    break
        states[(FEATURES, day)] = state
    return states


def _ledger_state(
    model: str,
    day: date,
    entries: dict[tuple[str, date], Entry],
    rows_present: dict[tuple[str, date], int],
    code: Code | None = None,
) -> PartitionState:
    entry = entries.get((model, day))
    present = rows_present.get((model, day), 0)
    if entry is None:
        return PartitionState(model, day, "pending", "never built")
    if entry.state == "failed":
        return PartitionState(model, day, "failed", entry.error or "failed")
    if entry.rows_written != present:
        return PartitionState(
            model, day, "pending", f"ledger says done with {entry.rows_written} rows, the table holds {present}"
        )
    changed = code.change(model, entry.code_fingerprint) if code else None
    if changed:
        return PartitionState(model, day, "stale", changed)
    return PartitionState(model, day, "done", f"run {entry.run_id}")


def plan_batches(
    dates: list[date],
    states: dict[tuple[str, date], PartitionState],
    start: date | None,
    end: date | None,
    models: tuple[str, ...] = MODELS,
    batch_days: int | None = None,
    force: bool = False,
    reach: dict[date, set[date]] | None = None,
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
    if FEATURES in models:
        # rebuilding a player-game partition outdates the features whose windows read it
        for rebuilt in sorted(d for d, m in needed.items() if PLAYER_GAMES in m):
            reached = reach.get(rebuilt, set()) if reach is not None else {d for d in dates if d > rebuilt}
            for day in sorted(reached | {rebuilt}):
                if day in in_range and FEATURES not in needed.get(day, {}):
                    needed.setdefault(day, {})[FEATURES] = f"reads player-games of {rebuilt}, rebuilt now"
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
    batches = _merge_across_gaps(batches, dates, batch_days)
    # player-game-only batches have no dependencies; run them before anything that reads them
    return sorted(batches, key=lambda b: (b.models != (PLAYER_GAMES,), b.start))


def _merge_across_gaps(batches: list[Batch], dates: list[date], batch_days: int | None) -> list[Batch]:
    """Join neighbouring batches (in date order) when rebuilding what lies between them, done
    or not in the batch's models, costs less than another batch's wave. Rebuilding a done
    partition is harmless (the same data gives the same rows), so k batches remain only when
    every gap between them costs more than a wave, and a selective rebuild never takes longer
    than --force over its range."""
    position = {day: index for index, day in enumerate(dates)}
    merged: list[Batch] = []
    for batch in batches:
        previous = merged[-1] if merged else None
        if previous is not None:
            models = tuple(m for m in MODELS if m in previous.models or m in batch.models)
            span = dates[position[previous.start] : position[batch.end] + 1]
            extra = len(span) * len(models) - sum(len(b.dates) * len(b.models) for b in (previous, batch))
            if extra * PARTITION_SECONDS < WAVE_SECONDS and (batch_days is None or len(span) <= batch_days):
                why = {"rebuilt between stale partitions: cheaper than another wave"} if extra else set()
                merged[-1] = Batch(models, span, previous.reasons | batch.reasons | why)
                continue
        merged.append(batch)
    return merged


def waves(batches: list[Batch], workers: int) -> list[list[Batch]]:
    """Consecutive batches for the same models, at most `workers` to a wave (one dbt
    invocation)."""
    grouped: list[list[Batch]] = []
    for batch in batches:
        last = grouped[-1][0] if grouped else None
        if (
            last is not None
            and (last.models, last.beside) == (batch.models, batch.beside)
            and len(grouped[-1]) < workers
        ):
            grouped[-1].append(batch)
        else:
            grouped.append([batch])
    return grouped


def partitions_named(batches: list[Batch]) -> int:
    """Partitions one model statement over these batches names: every calendar day of each batch
    (BigQuery's static insert_overwrite lists the days of each range, game or not)."""
    return sum((batch.end - batch.start).days + 1 for batch in batches)


def cap_partitions(planned_waves: list[list[Batch]], limit: int | None) -> list[list[Batch]]:
    """Waves in which no statement names more than `limit` partitions (BigQuery refuses a job
    that modifies more than 4,000). A wave runs one statement per model over all its batches: a
    batch spanning more days is split, and a wave's batches span at most `limit` days together.
    """
    if limit is None:
        return planned_waves
    capped: list[list[Batch]] = []
    for wave in planned_waves:
        current: list[Batch] = []
        for batch in wave:
            parts = [Batch(batch.models, [], set(batch.reasons), batch.beside)]
            for day in batch.dates:
                if parts[-1].dates and (day - parts[-1].start).days + 1 > limit:
                    parts.append(Batch(batch.models, [], set(batch.reasons), batch.beside))
                parts[-1].dates.append(day)
            for part in parts:
                if current and partitions_named([*current, part]) > limit:
                    capped.append(current)
                    current = []
                current.append(part)
        capped.append(current)
    return capped


def source_changes(
    recorded: dict[tuple[date, str], SourceGame], current: Fingerprints, built: set[date]
) -> dict[date, dict[str, str]]:
    """Per built date, the games whose play-by-play changed since its build read it."""
    changes: dict[date, dict[str, str]] = {}
    for day, game in sorted(recorded.keys() | current.keys()):
        if day not in built:
            continue
        now = current.get((day, game), (0, ""))
        before = recorded.get((day, game))
        if before is None:
            changes.setdefault(day, {})[game] = f"game {game} arrived late"
        elif (before.row_count, before.content_hash) != now:
            what = "was removed" if now == (0, "") else "was re-delivered changed"
            changes.setdefault(day, {})[game] = f"game {game} {what}"
    return changes


def upstream_changes(entries, recorded, changed, player_games) -> list[UpstreamChange]:
    """What changed under features partitions built earlier: games re-delivered, late or
    removed (rebuilt or not yet), and player-game dates not done. Only what a built features
    partition on or after the date could have read."""
    oldest_features_from: dict[date, datetime | None] = {}
    oldest = None
    for day in sorted(player_games, reverse=True):
        entry = entries.get((FEATURES, day))
        if entry is not None and entry.state == "done":
            oldest = entry.finished_at if oldest is None else min(oldest, entry.finished_at)
        oldest_features_from[day] = oldest
    changes = []
    for day, games in sorted(changed.items()):
        changes.append(UpstreamChange(day, frozenset(games), None, "; ".join(games.values())))
    for day, state in sorted(player_games.items()):
        # new player-game code changes every features fingerprint (they chain): stale already
        if state.state != "done" and day not in changed and not state.reason.startswith(CODE_CHANGED):
            changes.append(UpstreamChange(day, None, None, f"its player-games are {state.state}: {state.reason}"))
    rebuilt: dict[tuple[date, datetime], set[str]] = {}
    for (day, game), source in recorded.items():
        oldest = oldest_features_from.get(day)
        if oldest is not None and source.changed_at > oldest:
            rebuilt.setdefault((day, source.changed_at), set()).add(game)
    for (day, since), games in sorted(rebuilt.items()):
        changes.append(UpstreamChange(day, frozenset(games), since, f"games {', '.join(sorted(games))} changed"))
    return [c for c in changes if oldest_features_from.get(c.day) is not None]


@dataclass(frozen=True)
class Rebuild:
    """A model whose new version is built beside its live table, in every loaded date, then
    swapped in whole (rebuild.py): the live table stays one complete version meanwhile."""

    model: str
    why: str


def rebuilt_beside(
    states: dict[tuple[str, date], PartitionState],
    schema_changes: dict[str, object],
    live_tables: set[str],
    models: tuple[str, ...],
    ranged: bool,
    full_refresh: bool,
) -> list[Rebuild]:
    """The selected models rebuilt beside their live tables: a model whose columns change (it
    cannot be rebuilt partition by partition), every one with --full-refresh, and, unless a
    range narrows the run, one whose code changed (every partition then goes, and readers keep
    the complete old version until the new one is built and tested); then every selected
    model downstream of one rebuilt, which must read the new version. A model without a live
    table is simply built."""
    rebuilds: list[Rebuild] = []
    for model in models:
        change = schema_changes.get(model)
        code_changed = [
            s.reason for (m, _), s in sorted(states.items()) if m == model and s.reason.startswith(CODE_CHANGED)
        ]
        why = None
        if model in live_tables:
            if full_refresh:
                why = "--full-refresh"
            elif change:
                why = f"schema changed: {model} ({change.describe()})"
            elif code_changed and not ranged:
                why = code_changed[-1]
        if why is None and rebuilds:
            why = f"reads {rebuilds[0].model}, rebuilt beside it"
        if why is not None:
            rebuilds.append(Rebuild(model, why))
    return rebuilds
