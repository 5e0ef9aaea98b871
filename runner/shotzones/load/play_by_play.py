"""Loading play-by-play: the files found and changed are read, checked and written into the raw
table and its quarantine, replacing whole games, in one transaction (see the package's
docstring); on BigQuery through a local DuckDB file, then shipped (shipping.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb

from shotzones import busy, holding
from shotzones.load.checks import (
    CANONICAL_GAME_ID_SQL,
    GAME_DATE_SQL,
    Problem,
    problem_summary,
    quarantine,
    set_aside,
)
from shotzones.load.files import (
    Rejected,
    Source,
    changed_files,
    find_files,
    is_play_by_play_name,
    probe_all,
    record_files,
)
from shotzones.load.reading import (
    DATA_ROW,
    TARGET,
    Reader,
    UnreadableGroup,
    number_rows,
    plainly_named,
    register_links,
    unreadable,
)
from shotzones.load.shipping import local_validation, ship_play_by_play
from shotzones.load.tables import QUARANTINE, RAW, SCHEDULE, create_tables, quarantine_relation, quote
from shotzones.settings import RAW_COLUMNS, Settings
from shotzones.warehouse import connect


@dataclass(frozen=True)
class LoadSummary:
    files: int  # files read (rejected files not counted)
    rows: int  # rows loaded into the raw table
    games: int
    first_date: date | None
    last_date: date | None
    seconds: float
    quarantined_rows: int = 0  # rows (file lines) held back in the quarantine table
    set_aside_values: int = 0  # values recorded there and loaded as missing, their rows kept
    problem_count: int = 0  # quarantine entries: a row may have several problems
    problems: tuple[Problem, ...] = ()  # the first PROBLEM_DETAIL_LIMIT, by file and line
    quarantined_by_file: tuple[tuple[str, int], ...] = ()  # bad rows per file
    rejected: tuple[Rejected, ...] = ()
    notes: tuple[str, ...] = ()
    unchanged: int = 0  # files skipped: loaded before, unchanged since (the manifest)

    @property
    def exit_code(self) -> int:
        """0 all loaded, 1 some rows quarantined or values set aside, 2 a file rejected."""
        return 2 if self.rejected else 1 if self.quarantined_rows or self.set_aside_values else 0


@dataclass(frozen=True)
class ReadProgress:
    """How far the reading is, after each bundle or group of files read. A load that must start
    over without the files at fault (or without bundles) reads again from 0."""

    files: int  # files read so far
    total: int  # files to read
    rows: int  # rows read so far


OnRead = Callable[[ReadProgress], None]


def load(
    settings: Settings,
    paths: Iterable[Path],
    reread: bool = False,
    on_changes: Callable[[list[Path]], None] = lambda files: None,
    on_read: OnRead = lambda progress: None,
) -> LoadSummary:
    """Load play-by-play files and directories: only files new or changed since they were last
    loaded (the manifest), or every file with `reread`. Rejected files and quarantined rows are
    in the summary (`exit_code` says which happened); only finding no files at all raises
    LoadError. On BigQuery the files are validated the same way in a local DuckDB file first,
    then shipped (see `ship_play_by_play`). `on_changes` sees the files to load, if any,
    before they are read; `on_read` how far the reading is, after each bundle or group read."""
    started = time.perf_counter()
    files, missing = find_files(paths, is_play_by_play_name)
    if not files:  # nothing to read: no warehouse (nor its folder) created for it
        return LoadSummary(0, 0, 0, None, None, time.perf_counter() - started, rejected=tuple(missing))
    with holding.hold(settings, busy.command_line("load")):
        delta = changed_files(settings, files, reread)
        if delta.changed:
            on_changes(delta.changed)
        if settings.target == "bigquery":
            with local_validation(settings) as (local, directory):
                summary = _load(
                    local,
                    delta.changed,
                    missing,
                    on_read,
                    lambda con: ship_play_by_play(con, settings, directory),
                )
        else:
            summary = _load(settings, delta.changed, missing, on_read)
        refused = {str(r.path) for r in summary.rejected}
        record_files(settings, delta.touched + [s for s in delta.states if s.path not in refused])
    return replace(summary, unchanged=delta.unchanged, seconds=time.perf_counter() - started)


def _load(
    settings: Settings,
    files: list[Path],
    rejected: list[Rejected],
    on_read: OnRead,
    ship: Callable[[duckdb.DuckDBPyConnection], list[str] | None] | None = None,
) -> LoadSummary:
    started = time.perf_counter()
    rejected = list(rejected)
    sources, refused = probe_all(files, RAW_COLUMNS, "play-by-play")
    rejected += refused
    notes: list[str] = []
    if not sources:
        return LoadSummary(0, 0, 0, None, None, time.perf_counter() - started, rejected=tuple(rejected))

    with connect(settings) as con, plainly_named(sources) as links:
        register_links(con, links)
        create_tables(con, settings, RAW, QUARANTINE, SCHEDULE)  # the models read the schedule, loaded or not
        bundle = True
        while True:
            try:
                summary, read = _read_check_and_replace(con, settings, sources, links, bundle, on_read)
                break
            except UnreadableGroup as failure:  # rolled back: load again without the files at fault
                found = unreadable(con, links, failure.group, failure.encoding)
                if not found and bundle:  # each file readable, but not their bundle: no bundles
                    bundle = False
                    continue
                if not found:
                    raise failure.error from failure
                rejected += found
                failed = {r.path for r in found}
                sources = [s for s in sources if s.path not in failed]
        notes.extend(f"{s.path}: read as UTF-16" for s in read if s.encoding == "utf-16")
        notes.extend(
            f"{s.path}: not valid UTF-8 in its header, read as Latin-1" for s in read if s.encoding == "latin-1"
        )
        if not read:
            return LoadSummary(
                0, 0, 0, None, None, time.perf_counter() - started, rejected=tuple(rejected), notes=tuple(notes)
            )
        if ship is not None:
            notes.extend(ship(con) or ())
        notes.extend(summary.pop("notes"))
        notes.extend(
            f"{path}: header only, no rows"
            for (path,) in con.execute(
                """
                select target from read_files
                where target not in (select source_file from files_with_rows)
                  and link not in (select link from read_rejects)
                order by target
                """
            ).fetchall()
        )
    return LoadSummary(
        files=len(read),
        seconds=time.perf_counter() - started,
        rejected=tuple(rejected),
        notes=tuple(notes),
        **summary,
    )


# The rows this load wrote into the raw table: every statement of one transaction stamps them
# with its start, `current_timestamp`.
NEW_ROWS = "loaded_at = current_timestamp"
# A row whose `date` does not parse is written on this date, to be held back before the
# transaction commits (date is a gating column): the raw table's game_date is never NULL.
UNPLACED_DATE = "date '0001-01-01'"


def _read_check_and_replace(
    con, settings: Settings, sources: list[Source], links, bundle: bool, on_read: OnRead
) -> tuple[dict, list[Source]]:
    """In one transaction: the files read straight into the raw table (each row written once),
    checked there, the rows held back deleted and the values set aside made NULL, then the
    earlier rows of their games and files deleted; the quarantine likewise. The LoadSummary
    fields that describe it, and the files read (the others were rejected)."""
    select = (
        ", ".join(quote(name) for name in RAW_COLUMNS)
        + f", coalesce({GAME_DATE_SQL.sql(settings).format(quote('date'))}, {UNPLACED_DATE}), {TARGET}, {DATA_ROW}, current_timestamp"
    )
    con.execute("begin transaction")
    try:
        reader = Reader(con, settings.raw_relation, select, links, in_transaction=True, bundle=bundle, rows=NEW_ROWS)
        reader.read(sources, on_group=_progress(len(sources), on_read))
        reread = reader.reread_invalid_utf8(
            sources,
            f"delete from {settings.raw_relation} where {NEW_ROWS}"
            " and source_file in (select target from link_targets where link in (select unnest(?)))",
        )
        read = [s for s in sources if s.path not in {r.path for r in reader.rejected}]
        con.execute(
            "create or replace temp table read_files as select * from link_targets where target in (select unnest(?))",
            [[str(s.path) for s in read]],
        )
        _number_new_rows(con, settings)
        con.execute(  # before any row is held back: a file with rows is not "header only"
            f"create or replace temp table files_with_rows as"
            f" select distinct source_file from {settings.raw_relation} where {NEW_ROWS}"
        )
        new_rows = f"(select *, rowid as rid, source_file as target from {settings.raw_relation} where {NEW_ROWS})"
        bad_columns = quarantine(con, settings, new_rows, new_rows)
        set_aside(con, settings.raw_relation, NEW_ROWS, bad_columns)
        superseded = _take_latest_delivery(con, settings)
        _replace_games(con, settings)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    rows, games, first_date, last_date = con.execute(
        "select coalesce(sum(rows), 0), count(*), min(first_date), max(last_date) from new_games"
    ).fetchone()
    notes = [f"{source.path}: not valid UTF-8, read as Latin-1" for source in reread]
    notes += [
        f"{earlier}: {games:,} game{'s' if games != 1 else ''} also in {later}, loaded from there"
        for earlier, later, games in superseded
    ]
    summary = dict(
        notes=tuple(notes), rows=rows, games=games, first_date=first_date, last_date=last_date, **problem_summary(con)
    )
    return summary, read


def _progress(total: int, on_read: OnRead) -> Callable[[int, int], None]:
    """The reader's groups, counted into ReadProgress for `on_read`."""
    files = rows = 0

    def group_read(group_files: int, group_rows: int) -> None:
        nonlocal files, rows
        files, rows = files + group_files, rows + group_rows
        on_read(ReadProgress(files, total, rows))

    return group_read


def _number_new_rows(con, settings: Settings) -> None:
    """Each new row's source_row, its line in its file minus one, where the reader did not say
    (reading.number_rows)."""
    raw = settings.raw_relation
    number_rows(con, raw, f"{NEW_ROWS} and source_row = 0")
    con.execute(
        f"""
        update {raw} set source_row = {raw}.rowid - line_starts.first_rowid + 1
        from line_starts
        where {raw}.source_file = line_starts.source_file and {raw}.{NEW_ROWS}
        """
    )
    con.execute(
        f"update {raw} set source_row = source_row + line_shifts.skips"
        f" from line_shifts where {raw}.rowid = line_shifts.rid"
    )


def _take_latest_delivery(con, settings: Settings) -> list[tuple[str, str, int]]:
    """A game is replaced whole, so a game delivered in two files of one load (a game file and a
    season file) is taken from the later file alone: the earlier deliveries' new rows are
    deleted. (earlier file, later file, games) for each pair; the temp table `new_games`: the
    games loaded, their rows and dates."""
    raw = settings.raw_relation
    canonical = CANONICAL_GAME_ID_SQL.sql(settings).format("game_id")
    con.execute(
        f"""
        create or replace temp table delivered as
        with by_spelling as (
            select link, game_id, game_date, count(*) as rows
            from {raw} inner join read_files on {raw}.source_file = read_files.target
            where {raw}.{NEW_ROWS}
            group by all
        )
        select *, {canonical} as canonical_game_id,
               max(link) over (partition by {canonical}) as last_link
        from by_spelling
        """
    )
    superseded = con.execute(
        """
        select earlier.target, later.target, count(distinct canonical_game_id)
        from delivered
        inner join link_targets as earlier on delivered.link = earlier.link
        inner join link_targets as later on delivered.last_link = later.link
        where delivered.link <> delivered.last_link
        group by all
        order by all
        """
    ).fetchall()
    if superseded:
        con.execute(
            f"""
            delete from {raw}
            where {NEW_ROWS} and (source_file, game_id) in (
                select (target, game_id)
                from delivered inner join link_targets using (link)
                where link <> last_link
            )
            """
        )
    con.execute(
        """
        create or replace temp table new_games as
        select canonical_game_id as game_id, sum(rows) as rows,
               min(game_date) as first_date, max(game_date) as last_date
        from delivered
        where link = last_link
        group by all
        """
    )
    return superseded


def _replace_games(con, settings: Settings) -> None:
    """The raw rows of the new games and of the files read that this load did not write go; the
    files' recorded problems are replaced by `quarantine_new`."""
    con.execute(
        f"""
        delete from {settings.raw_relation}
        where not {NEW_ROWS} and (
            game_id in (
                -- the spellings of the new games' ids: each distinct spelling made canonical
                -- once, not every row of the table
                select game_id from (select distinct game_id from {settings.raw_relation})
                where {CANONICAL_GAME_ID_SQL.sql(settings).format("game_id")} in (select game_id from new_games)
            )
            or source_file in (select target from read_files)
        )
        """
    )
    con.execute(
        f"""
        delete from {quarantine_relation(settings)}
        where source_file in (select target from read_files)
        """
    )
    con.execute(
        f"""
        insert into {quarantine_relation(settings)}
        select source_file, line, column_name, value, problem, reason, raw_line, row_values,
               current_timestamp
        from quarantine_new
        """
    )
