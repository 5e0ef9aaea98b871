"""Writing the files: each season's games played, rendered and written (in worker processes
when asked), then schedule.csv."""

from __future__ import annotations

import copy
import csv
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from .league import Game, League, SeasonPlan, apply_trade
from .postseason import postseason
from .render import COLUMNS, FORMAT_GENERATIONS, format_generation_for, render
from .simulation import play
from .teams import ABBR


@dataclass(frozen=True)
class GenerationSummary:
    seasons: list[int]
    games: int  # game files written
    dates: int  # distinct game dates written
    rows: int  # play-by-play data rows written (headers excluded)
    files: int  # every file written: the game files plus schedule.csv
    seconds: float


@dataclass(frozen=True)
class _SeasonWritten:
    schedule: list[tuple]  # schedule.csv rows: the games written and those still upcoming
    games: int  # game files written
    rows: int
    dates: int  # game dates written


def generate(
    out_dir: Path,
    first_season: int,
    seasons: int = 1,
    seed: int = 0,
    format_generation: str | None = None,
    max_dates_per_season: int | None = None,
    on_game: Callable[[], None] | None = None,
    upcoming_dates: int = 0,
    workers: int = 1,
) -> GenerationSummary:
    """Write `schedule.csv` and one BigDataBall play-by-play file per game into `out_dir`.

    Seasons `first_season` .. `first_season + seasons - 1` (2021 = 2021-22), each in its own
    format generation unless `format_generation` forces one. With `max_dates_per_season` only
    the games of the first K game dates of each season are written (and listed in schedule.csv);
    they are byte-identical to the same files of a full run. The games of the last
    `upcoming_dates` regular-season dates of the last season are scheduled but not played yet:
    in schedule.csv, without files, and that season has no postseason yet. `workers` processes
    write seasons in parallel (the same files); `on_game` is then called as each season is done.
    """
    started = time.perf_counter()
    _check_options(format_generation, seasons, max_dates_per_season, upcoming_dates)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    league = League(seed, first_season)
    season_list = list(range(first_season, first_season + seasons))
    written: list[_SeasonWritten] = []
    # Planning is sequential and cheap (a season's plan follows from the one before it, never
    # from games); the seasons' games are simulated and written in `workers` processes, each
    # from a copy of its season's plan, so the files are the same whatever `workers` is.
    with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        pending = []
        for season in season_list:
            plan = league.plan_season(season)
            fmt = format_generation or format_generation_for(season)
            upcoming = upcoming_dates if season == season_list[-1] else 0
            if pool is None:
                written.append(write_season(seed, plan, fmt, out_dir, max_dates_per_season, upcoming, on_game))
            else:
                plan_copy = copy.deepcopy(plan)  # end_season below moves the league on
                pending.append(pool.submit(write_season, seed, plan_copy, fmt, out_dir, max_dates_per_season, upcoming))
            if season != season_list[-1]:
                league.end_season(plan)
        for future in pending:
            written.append(future.result())
            for _ in range(written[-1].games if on_game is not None else 0):
                on_game()
    _write_schedule(out_dir, [row for season in written for row in season.schedule])
    games = sum(season.games for season in written)
    return GenerationSummary(
        seasons=season_list,
        games=games,
        dates=sum(season.dates for season in written),
        rows=sum(season.rows for season in written),
        files=games + 1,
        seconds=time.perf_counter() - started,
    )


def _check_options(
    format_generation: str | None, seasons: int, max_dates_per_season: int | None, upcoming_dates: int
) -> None:
    if format_generation is not None and format_generation not in FORMAT_GENERATIONS:
        raise ValueError(f"format_generation must be one of {FORMAT_GENERATIONS} or None")
    if seasons < 1:
        raise ValueError("seasons must be at least 1")
    if max_dates_per_season is not None and max_dates_per_season < 0:
        raise ValueError("max_dates_per_season must be >= 0")
    if upcoming_dates < 0:
        raise ValueError("upcoming_dates must be >= 0")


def _write_schedule(out_dir: Path, rows: list[tuple]) -> None:
    with open(out_dir / "schedule.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("season", "game_id", "game_date", "away_team", "home_team"))
        writer.writerows(rows)


def write_season(
    seed: int,
    plan: SeasonPlan,
    fmt: str,
    out_dir: Path,
    max_dates: int | None,
    upcoming_dates: int = 0,
    on_game: Callable[[], None] | None = None,
) -> _SeasonWritten:
    """Play and write one season's games: the regular season, then the postseason (only the
    games of its first `max_dates` game dates, when given). The last `upcoming_dates` dates
    kept are scheduled only, and then the season has not reached its postseason."""
    writer = _SeasonWriter(seed, plan, fmt, out_dir, on_game)
    keep_dates = plan.dates if max_dates is None else plan.dates[:max_dates]
    last_date = keep_dates[-1] if keep_dates else None
    upcoming = set(keep_dates[max(0, len(keep_dates) - upcoming_dates) :]) if upcoming_dates else set()
    n_dates = len(keep_dates) - len(upcoming)
    trades = list(plan.trades)
    for game in plan.games:
        if last_date is None or game.date > last_date:
            break
        while trades and trades[0].day <= game.day:
            apply_trade(writer.rosters, trades.pop(0))
        if game.date in upcoming:
            writer.schedule(game)
        else:
            writer.write(game)
    postseason_dates = None if max_dates is None else max_dates - len(plan.dates)
    if not upcoming and (postseason_dates is None or postseason_dates > 0):
        n_dates += _write_postseason(writer, seed, plan, postseason_dates)
    return _SeasonWritten(writer.schedule_rows, writer.games, writer.rows, n_dates)


def _write_postseason(writer: _SeasonWriter, seed: int, plan: SeasonPlan, max_dates: int | None) -> int:
    """Play and write the postseason, or the games of its first `max_dates` dates; the number
    of dates written."""
    games = postseason(seed, plan.season, plan, writer.rosters)
    days: set = set()
    home_won = None
    while True:
        try:
            game = games.send(home_won)
        except StopIteration:
            break
        days.add(game.date)
        if max_dates is not None and len(days) > max_dates:
            break
        home_won = writer.write(game)
    return len(days) if max_dates is None else min(len(days), max_dates)


class _SeasonWriter:
    """One season's game files and schedule rows, from rosters kept current as trades happen."""

    def __init__(
        self, seed: int, plan: SeasonPlan, fmt: str, out_dir: Path, on_game: Callable[[], None] | None
    ) -> None:
        self.seed = seed
        self.plan = plan
        self.fmt = fmt
        self.season_dir = out_dir / str(plan.season)
        self.season_dir.mkdir(exist_ok=True)
        self.on_game = on_game
        self.rosters = [list(r) for r in plan.rosters]
        self.schedule_rows: list[tuple] = []
        self.games = 0
        self.rows = 0

    def schedule(self, game: Game) -> None:
        self.schedule_rows.append(
            (self.plan.season, game.game_id, game.date.isoformat(), ABBR[game.away], ABBR[game.home])
        )

    def write(self, game: Game) -> bool:
        """Play and write one game; whether the home team won."""
        seed, plan = self.seed, self.plan
        frac = min(1.0, game.day / max(1, plan.length_days - 1))  # playoffs: the season's end
        teams, events = play(seed, game, self.rosters, frac)
        rows = render(
            events, self.fmt, game, teams, plan.season, random.Random(f"shotzones-render:{seed}:{game.game_id}")
        )
        name = f"[{game.date.isoformat()}]-{game.game_id}-{ABBR[game.away]}@{ABBR[game.home]}.csv"
        with open(self.season_dir / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        self.rows += len(rows)
        self.games += 1
        self.schedule(game)
        if self.on_game is not None:
            self.on_game()
        return events[-1][4] > events[-1][3]
