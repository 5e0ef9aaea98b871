"""Loading the schedule (season, game_id, game_date, away_team, home_team): every game's date
and teams, past and future, into `<raw_schema>.schedule`. Stricter than play-by-play: a file
with a row that does not parse is rejected whole, naming its lines."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb

from shotzones import busy, holding
from shotzones.load.checks import CANONICAL_GAME_ID_SQL, GAME_DATE_SQL
from shotzones.load.files import (
    SCHEDULE_COLUMNS,
    SCHEDULE_FILE,
    Rejected,
    changed_files,
    find_files,
    is_schedule_name,
    probe_all,
    record_files,
)
from shotzones.load.reading import TARGET, Reader, numbered_rows, plainly_named, register_links
from shotzones.load.shipping import local_validation, ship_schedule
from shotzones.load.tables import SCHEDULE, create_tables, quote, schedule_relation
from shotzones.settings import Settings
from shotzones.warehouse import connect

# a row's problems, one per column, in words; empty when it has none
_ROW_PROBLEMS_SQL = """
    concat_ws('; ',
        case when raw_game_id is null then 'game_id is empty'
             when length(regexp_replace(raw_game_id, '[^0-9]', '', 'g')) not between 1 and 10
             then 'game_id=''' || raw_game_id || ''' needs 1 to 10 digits' end,
        case when raw_game_date is null then 'game_date is empty'
             when game_date is null
             then 'game_date=''' || raw_game_date || ''' is not a date' end,
        case when raw_season is null then 'season is empty'
             when season is null
             then 'season=''' || raw_season || ''' is not a whole number' end
    )
"""
# the lines shown in a rejected file's reason
_SHOWN_LINES = 5


@dataclass(frozen=True)
class ScheduleSummary:
    files: int
    games: int
    first_date: date | None
    last_date: date | None
    seconds: float
    rejected: tuple[Rejected, ...] = ()

    @property
    def exit_code(self) -> int:
        return 2 if self.rejected else 0


def load_schedule(settings: Settings, paths: Iterable[Path]) -> ScheduleSummary:
    """Load schedule CSVs (season, game_id, game_date, away_team, home_team) into
    `<raw_schema>.schedule`, replacing earlier rows of the same games. A file with a row that does
    not parse is rejected whole, naming its lines; the other files load. Directories are searched
    for files named schedule.csv. On BigQuery, validated locally as on DuckDB, then shipped.
    The files loaded are recorded in the manifest of files loaded, as `load` records its own,
    so that `update` does not load them again while they are unchanged."""
    started = time.perf_counter()
    files, missing = find_files(paths, is_schedule_name, f"{SCHEDULE_FILE} files")
    with holding.hold(settings, busy.command_line("load-schedule")):
        states = changed_files(settings, files, reread=True).states  # taken before reading
        if settings.target == "bigquery":
            with local_validation(settings) as (local, directory):
                summary = _load_schedule(local, files, missing, lambda con: ship_schedule(con, settings, directory))
        else:
            summary = _load_schedule(settings, files, missing)
        refused = {str(r.path) for r in summary.rejected}
        record_files(settings, [state for state in states if state.path not in refused])
    return replace(summary, seconds=time.perf_counter() - started)


def _load_schedule(
    settings: Settings,
    files: list[Path],
    rejected: list[Rejected],
    ship: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> ScheduleSummary:
    started = time.perf_counter()
    rejected = list(rejected)
    sources, refused = probe_all(files, SCHEDULE_COLUMNS, "schedule")
    rejected += refused
    if not sources:
        return ScheduleSummary(0, 0, None, None, time.perf_counter() - started, tuple(rejected))

    with connect(settings) as con, plainly_named(sources) as links:
        register_links(con, links)
        con.execute(
            "create or replace temp table incoming_schedule as select "
            + ", ".join(f"null::varchar as {quote(name)}" for name in SCHEDULE_COLUMNS)
            + ", null::varchar as source_file, null::varchar as link limit 0"
        )
        select = ", ".join(quote(name) for name in SCHEDULE_COLUMNS) + f", {TARGET}, filename"
        reader = Reader(con, "incoming_schedule", select, links)
        reader.read(sources)
        reader.reread_invalid_utf8(sources, "delete from incoming_schedule where link in (select unnest(?))")
        rejected += reader.rejected
        _prepare(con, settings)
        rejected += _unparsed_files(con)
        refused_paths = {str(r.path) for r in rejected}
        good = [str(s.path) for s in sources if str(s.path) not in refused_paths]
        if not good:
            return ScheduleSummary(0, 0, None, None, time.perf_counter() - started, tuple(rejected))
        _replace_games(con, settings, good)
        if ship is not None:
            ship(con)
        games, first_date, last_date = con.execute(
            "select count(*), min(game_date), max(game_date) from schedule_new"
        ).fetchone()
    return ScheduleSummary(len(good), games, first_date, last_date, time.perf_counter() - started, tuple(rejected))


def _prepare(con, settings: Settings) -> None:
    """The temp table `schedule_prepared`: the rows read, parsed, with their lines."""
    con.execute(
        f"""
        create or replace temp table schedule_prepared as
        select
            numbered.source_file,
            numbered.source_row + 1 as line,
            nullif(trim(game_id), '') as raw_game_id,
            nullif(trim(game_date), '') as raw_game_date,
            nullif(trim(season), '') as raw_season,
            {CANONICAL_GAME_ID_SQL.sql(settings).format("game_id")} as game_id,
            {GAME_DATE_SQL.sql(settings).format("game_date")} as game_date,
            try_cast(nullif(trim(season), '') as integer) as season,
            nullif(trim(away_team), '') as away_team,
            nullif(trim(home_team), '') as home_team,
            numbered.link,
            numbered.source_row
        from {numbered_rows(con, "incoming_schedule")} as numbered
        """
    )


def _unparsed_files(con) -> list[Rejected]:
    """The files with a row that does not parse or a line the reader refused, naming them."""
    bad = con.execute(
        f"""
        select source_file, line, reason from (
            select source_file, line, {_ROW_PROBLEMS_SQL} as reason
            from schedule_prepared
            union all
            select link_targets.target, line, error_type || ' (' || error_message || ')'
            from read_rejects inner join link_targets using (link)
        )
        where reason <> ''
        order by source_file, line
        """
    ).fetchall()
    lines_by_file: dict[str, list[str]] = defaultdict(list)
    for file, line, reason in bad:
        lines_by_file[file].append(f"line {line}: {reason}")
    rejected = []
    for file, lines in lines_by_file.items():
        more = len(lines) - _SHOWN_LINES
        shown = "; ".join(lines[:_SHOWN_LINES]) + (f"; and {more} more" if more > 0 else "")
        rejected.append(Rejected(Path(file), f"rows that do not parse, nothing loaded: {shown}"))
    return rejected


def _replace_games(con, settings: Settings, good: list[str]) -> None:
    """The temp table `schedule_new`, each game of the `good` files once (from the last file
    and row that holds it), replacing those games in the schedule table."""
    con.execute(
        """
        create or replace temp table schedule_new as
        select game_id, game_date, season, away_team, home_team, source_file
        from schedule_prepared
        where source_file in (select unnest(?))
        qualify row_number() over (partition by game_id order by link desc, source_row desc) = 1
        """,
        [good],
    )
    create_tables(con, settings, SCHEDULE)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {schedule_relation(settings)} where game_id in (select game_id from schedule_new)")
        con.execute(f"insert into {schedule_relation(settings)} select *, current_timestamp from schedule_new")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
