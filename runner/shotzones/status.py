"""`shotzones status`: every partition's state, proven against the warehouse, by model and as a
calendar per season (in the terminal and as a PNG)."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from shotzones import busy, code, holding, ledger
from shotzones.planning import MODELS, STATES, PartitionState
from shotzones.settings import Settings
from shotzones.survey import current_states, require_dates_in_range
from shotzones.warehouse import EVERY_DATE, Warehouse, open_warehouse, require_warehouse

COLOURS = {"done": "#2e7d32", "pending": "#9e9e9e", "failed": "#c62828", "stale": "#f9a825"}
# one glyph per state, so that the calendar reads the same without colour (piped, NO_COLOR)
GLYPHS = {"done": "■", "pending": "□", "failed": "×", "stale": "▣"}
NO_GAME = "·"
# `shotzones status` exits with the first of these that holds
EXIT_FAILED, EXIT_UNFINISHED = 1, 3


@dataclass(frozen=True)
class Problem:
    """Consecutive partitions in one state (failed or stale), for one reason, of the models."""

    models: tuple[str, ...]
    state: str
    dates: list[date]
    reason: str

    def describe(self) -> str:
        span = (
            f"{self.dates[0]}..{self.dates[-1]} ({len(self.dates)} dates)"
            if len(self.dates) > 1
            else str(self.dates[0])
        )
        return f"{self.state} {span} {' + '.join(self.models)}: {self.reason}"


# the source `dbt source freshness` checks, as its manifest names it
PLAY_BY_PLAY_SOURCE = "source.shotzones.bigdataball.play_by_play"
PERIODS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass(frozen=True)
class Freshness:
    """Is the play-by-play late? The answer `dbt source freshness` gives, from the thresholds in
    the source's YAML (as dbt parsed it) and one query for the latest loaded_at."""

    latest: datetime | None
    age: timedelta | None
    warn_after: timedelta | None
    error_after: timedelta | None

    @property
    def status(self) -> str:
        """dbt's words: pass, warn or error (nothing loaded is an error, as a NULL is to dbt)."""
        if self.age is None:
            return "error"
        if self.error_after is not None and self.age > self.error_after:
            return "error"
        if self.warn_after is not None and self.age > self.warn_after:
            return "warn"
        return "pass"

    def describe(self) -> str:
        if self.latest is None:
            return "Play-by-play freshness: error, nothing loaded"
        limits = "".join(
            f", {name} after {hours(limit):g} h"
            for name, limit in (("warn", self.warn_after), ("error", self.error_after))
            if limit
        )
        return (
            f"Play-by-play freshness: {self.status}, last loaded {self.latest:%Y-%m-%d %H:%M}"
            f" ({hours(self.age):.1f} h ago{limits})"
        )


def hours(span: timedelta | None) -> float | None:
    return None if span is None else span.total_seconds() / 3600


def freshness_thresholds(settings: Settings) -> tuple[timedelta | None, timedelta | None]:
    """The play-by-play source's warn_after and error_after as dbt parsed them (with the code
    fingerprints, so a dbt invocation only when a model or YAML file changed). None for a
    threshold not set."""
    freshness = code.source_freshness(settings, PLAY_BY_PLAY_SOURCE)

    def limit(name: str) -> timedelta | None:
        after = freshness.get(name) or {}
        return after["count"] * PERIODS[after["period"]] if after.get("count") and after.get("period") else None

    return limit("warn_after"), limit("error_after")


def play_by_play_freshness(wh: Warehouse) -> Freshness:
    # the warehouse's clock, cast as the loader's loaded_at is (a naive local time on DuckDB)
    latest, now = wh.rows(
        f"select max(loaded_at), cast(current_timestamp as timestamp) from {wh.settings.raw_relation} where {EVERY_DATE}"
    )[0]
    return Freshness(latest, now - latest if latest is not None else None, *freshness_thresholds(wh.settings))


@dataclass(frozen=True)
class Status:
    partitions: list[PartitionState]
    last_run: dict | None
    freshness: Freshness

    def counts(self) -> dict[str, dict[str, int]]:
        counted = {model: Counter({state: 0 for state in STATES}) for model in MODELS}
        for partition in self.partitions:
            counted[partition.model][partition.state] += 1
        return {model: dict(counter) for model, counter in counted.items()}

    def problems(self) -> list[Problem]:
        """Failed and stale partitions with their reasons: consecutive dates of one model in one
        state for one reason as one range, and the models that share a range as one line."""
        ranges: list[tuple[str, str, list[date], str]] = []
        for model in MODELS:
            previous = None
            for partition in (p for p in self.partitions if p.model == model):
                if partition.state not in ("failed", "stale"):
                    previous = None
                elif previous and (previous[1], previous[3]) == (partition.state, partition.reason):
                    previous[2].append(partition.game_date)
                else:
                    previous = (model, partition.state, [partition.game_date], partition.reason)
                    ranges.append(previous)
        shared: dict[tuple, list[str]] = {}
        for model, state, dates, reason in ranges:
            shared.setdefault((state, tuple(dates), reason), []).append(model)
        return sorted(
            (Problem(tuple(models), state, list(dates), reason) for (state, dates, reason), models in shared.items()),
            key=lambda p: (p.state != "failed", p.dates[0]),
        )

    @property
    def exit_code(self) -> int:
        """0 when every partition is done, 1 when any failed, 3 when others are pending or stale."""
        states = {p.state for p in self.partitions}
        return EXIT_FAILED if "failed" in states else EXIT_UNFINISHED if states - {"done"} else 0

    def date_states(self) -> dict[date, str]:
        """One state per date: the worst of its models' (failed > stale > pending > done)."""
        worst = {"done": 0, "pending": 1, "stale": 2, "failed": 3}
        by_date: dict[date, str] = {}
        for p in self.partitions:
            if p.game_date not in by_date or worst[p.state] > worst[by_date[p.game_date]]:
                by_date[p.game_date] = p.state
        return by_date


def status(settings: Settings, start: date | None = None, end: date | None = None) -> Status:
    """Raises busy.WarehouseBusy at once, naming the holder and its progress, while another
    command holds the warehouse: opening it then would stall that command."""
    require_warehouse(settings)  # before the hold, whose lock file would leave a folder behind
    at_once = replace(settings, wait_seconds=0)
    with holding.hold(at_once, busy.command_line("status"), writes=False):
        return _status(at_once, start, end)


def _status(settings: Settings, start: date | None, end: date | None) -> Status:
    survey = current_states(settings)
    require_dates_in_range(survey.dates, start, end)
    states = survey.states
    partitions = sorted(
        (p for p in states.values() if (start is None or p.game_date >= start) and (end is None or p.game_date <= end)),
        key=lambda p: (p.game_date, MODELS.index(p.model)),
    )
    with open_warehouse(settings) as wh:
        last = ledger.last_run(wh)
        freshness = play_by_play_freshness(wh)
    return Status(partitions, last, freshness)


# a date's season: the dbt macro (macros/identifiers.sql), compiled for DuckDB
SEASON_OF = code.DuckDBMacro("season_of('{0}')")


def seasons_of(days: Iterable[date]) -> dict[date, int]:
    """Each date's season, by the dbt macro season_of (of the project as installed), evaluated for
    all the dates at once in an in-memory DuckDB."""
    days = sorted(set(days))
    if not days:
        return {}
    season_sql = SEASON_OF.sql(Settings()).format("day")
    with duckdb.connect() as con:
        rows = con.execute(f"select day, {season_sql} from unnest(?::date[]) as dates(day)", [days])
        return {day: int(season) for day, season in rows.fetchall()}


def calendar_rows(date_states: dict[date, str]) -> dict[int, list[tuple[int, int, list[str | None]]]]:
    """Per season, one row per month: (year, month, state or None for each day 1..31)."""
    season_of = seasons_of(date_states)
    seasons: dict[int, dict[tuple[int, int], list[str | None]]] = defaultdict(dict)
    for day, state in sorted(date_states.items()):
        months = seasons[season_of[day]]
        cells = months.setdefault((day.year, day.month), [None] * 31)
        cells[day.day - 1] = state
    return {
        season: [(year, month, cells) for (year, month), cells in sorted(months.items())]
        for season, months in sorted(seasons.items())
    }


# more seasons than this, and the calendar shows one line per season instead of one per month
SEASONS_IN_FULL = 3
WORST_FIRST = ("failed", "stale", "pending", "done")


def worst(states) -> str:
    return min(states, key=WORST_FIRST.index)


def season_weeks(date_states: dict[date, str]) -> dict[int, list[str | None]]:
    """Per season, the worst state of each week from its first game date (None: no games)."""
    season_of = seasons_of(date_states)
    seasons: dict[int, dict[date, str]] = defaultdict(dict)
    for day, state in date_states.items():
        seasons[season_of[day]][day] = state
    summary = {}
    for season, states in sorted(seasons.items()):
        first = min(states)
        weeks: list[list[str]] = [[] for _ in range((max(states) - first).days // 7 + 1)]
        for day, state in states.items():
            weeks[(day - first).days // 7].append(state)
        summary[season] = [worst(week) if week else None for week in weeks]
    return summary


def dates_to_list(date_states: dict[date, str]) -> dict[str, list[date]]:
    """The dates a summary must not hide: every failed and every stale one."""
    return {state: sorted(d for d, s in date_states.items() if s == state) for state in ("failed", "stale")}


def _cell(state: str | None) -> str:
    """A calendar cell: a glyph per state, so the states stay apart without colour too."""
    return f"[{COLOURS[state]}]{GLYPHS[state]}[/]" if state else NO_GAME


def calendar_lines(date_states: dict[date, str]) -> list[str]:
    """The terminal calendar (rich markup): a line per month of each season, or, past
    SEASONS_IN_FULL seasons, a line per season (a square a week, coloured by its worst date)
    with its counts, and then every failed and stale date."""
    legend = "  ".join(f"{_cell(s)} {s}" for s in STATES) + f"  {NO_GAME} no game"
    rows = calendar_rows(date_states)
    lines = []
    if len(rows) <= SEASONS_IN_FULL:
        for season, months in rows.items():
            lines.append(f"[bold]{season}-{(season + 1) % 100:02d}[/]  {legend}")
            for year, month, cells in months:
                row = "".join(_cell(c) for c in cells)
                lines.append(f"  {calendar.month_abbr[month]} {year}  {row}")
        return lines
    lines.append(f"[bold]By season[/], a square a week  {legend}")
    season_of = seasons_of(date_states)
    for season, weeks in season_weeks(date_states).items():
        counts = Counter(s for d, s in date_states.items() if season_of[d] == season)
        row = "".join(_cell(w) for w in weeks)
        tally = ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
        lines.append(f"  {season}-{(season + 1) % 100:02d}  {row}  {tally}")
    for state, days in dates_to_list(date_states).items():
        if days:
            lines.append(f"[{COLOURS[state]}]{state}[/] ({len(days)}): " + ", ".join(d.isoformat() for d in days))
    return lines


def write_png(date_states: dict[date, str], path: Path) -> None:
    """The calendar as an image: a row per month of each season, or, past SEASONS_IN_FULL
    seasons, a row per season (a narrow cell a game date) and every failed and stale date."""
    if len(calendar_rows(date_states)) > SEASONS_IN_FULL:
        _write_season_png(date_states, path)
    else:
        _write_month_png(date_states, path)


def _legend(draw, y: int) -> None:
    x = 4
    for state, colour in COLOURS.items():
        draw.rectangle([x, y + 4, x + 10, y + 14], fill=colour)
        draw.text((x + 14, y + 3), state, fill="black")
        x += 80


def _write_season_png(date_states: dict[date, str], path: Path) -> None:
    from PIL import Image, ImageDraw

    season_of = seasons_of(date_states)
    seasons: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for day, state in sorted(date_states.items()):
        seasons[season_of[day]].append((day, state))
    listed = [(state, day) for state, days in dates_to_list(date_states).items() for day in days]
    per_line = 8
    text_lines = -(-len(listed) // per_line)
    cell, gap, label_width, line, counts_width = 3, 1, 70, 14, 260
    most = max(len(days) for days in seasons.values())
    width = label_width + most * (cell + gap) + counts_width
    height = (len(seasons) + 2 + text_lines) * line + 3 * line
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    y = 4
    draw.text((4, y), "By season, a cell a game date", fill="black")
    y += line
    for season, days in seasons.items():
        draw.text((4, y), f"{season}-{(season + 1) % 100:02d}", fill="black")
        for index, (_day, state) in enumerate(days):
            x = label_width + index * (cell + gap)
            draw.rectangle([x, y + 1, x + cell - 1, y + line - 3], fill=COLOURS[state])
        counts = Counter(state for _day, state in days)
        tally = ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
        draw.text((label_width + most * (cell + gap) + 8, y), tally, fill="black")
        y += line
    for start in range(0, len(listed), per_line):
        chunk = listed[start : start + per_line]
        draw.text((4, y), "   ".join(f"{state} {day.isoformat()}" for state, day in chunk), fill="black")
        y += line
    _legend(draw, y + 4)
    image.save(path)


def _write_month_png(date_states: dict[date, str], path: Path) -> None:
    from PIL import Image, ImageDraw

    rows = calendar_rows(date_states)
    cell, gap, label_width, line = 16, 2, 90, 18
    height = sum(line + len(months) * (cell + gap) + gap for months in rows.values()) + 2 * line
    width = label_width + 31 * (cell + gap) + gap
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    y = 4
    for season, months in rows.items():
        draw.text((4, y), f"{season}-{(season + 1) % 100:02d}", fill="black")
        for index in range(31):  # the day numbers over their columns, on the season's line
            number = str(index + 1)
            x = label_width + index * (cell + gap) + (cell - draw.textlength(number)) / 2
            draw.text((x, y), number, fill="black")
        y += line
        for year, month, cells in months:
            draw.text((4, y + 2), f"{calendar.month_abbr[month]} {year}", fill="black")
            for index, state in enumerate(cells):
                if state is not None:
                    x = label_width + index * (cell + gap)
                    draw.rectangle([x, y, x + cell, y + cell], fill=COLOURS[state])
            y += cell + gap
        y += gap
    _legend(draw, y)
    image.save(path)
