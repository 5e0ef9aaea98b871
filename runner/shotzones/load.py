"""Load BigDataBall play-by-play files into the raw table with DuckDB's own CSV reader.

Any file name is accepted (per-game files, season `combined-stats` files, `.csv.gz`). A game is
the unit of replacement: loading a file deletes every raw row of the games it contains, from
whichever file they came, then inserts the file's rows, in one transaction. Loading the same
files again therefore changes nothing.
"""

from __future__ import annotations

import csv
import gzip
import io
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

import duckdb

from shotzones.settings import RAW_COLUMNS, Settings
from shotzones.warehouse import connect

CSV_SUFFIXES = (".csv", ".csv.gz")
# The generator writes its schedule beside the games; a directory load passes over it.
SCHEDULE_FILE = "schedule.csv"

# Canonical game id (SPEC 3) and game date (both delivered formats) in DuckDB SQL. The dbt
# staging model re-parses `date` with its own macro and a test proves the two agree.
CANONICAL_GAME_ID_SQL = "lpad(regexp_replace({}, '[^0-9]', '', 'g'), 10, '0')"
GAME_DATE_SQL = (
    "coalesce(try_strptime(trim({0}), '%m/%d/%Y'), try_strptime(trim({0}), '%Y-%m-%d'))::date"
)


class LoadError(Exception):
    """Input the loader refuses; the message names the file (and line)."""


@dataclass(frozen=True)
class LoadSummary:
    files: int
    rows: int
    games: int
    first_date: date | None
    last_date: date | None
    seconds: float


def discover(paths: Iterable[Path]) -> list[Path]:
    """The play-by-play files named, directories searched recursively (but for the generator's
    schedule.csv), in a stable order."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.name.endswith(CSV_SUFFIXES) and p.name != SCHEDULE_FILE
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise LoadError(f"{path}: no such file or directory")
    if not found:
        raise LoadError("no .csv or .csv.gz files found in " + ", ".join(map(str, paths)))
    return list(dict.fromkeys(p.resolve() for p in found))


def read_header(path: Path) -> tuple[str, ...]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        first_line = handle.readline()
    return tuple(next(csv.reader(io.StringIO(first_line)), []))


def check_header(path: Path, header: tuple[str, ...]) -> None:
    missing = [column for column in RAW_COLUMNS if column not in header]
    if missing:
        raise LoadError(
            f"{path}: not BigDataBall play-by-play, missing columns: {', '.join(missing)}"
        )


def create_raw_table(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    columns = ",\n".join(f'"{name}" varchar' for name in RAW_COLUMNS)
    con.execute(f"create schema if not exists {settings.raw_schema}")
    con.execute(
        f"""
        create table if not exists {settings.raw_relation} (
            {columns},
            game_date date not null,
            source_file varchar not null,
            source_row bigint not null,
            loaded_at timestamp not null
        )
        """
    )


@contextmanager
def plainly_named(files: list[Path]) -> Iterator[dict[Path, Path]]:
    """Links with plain names to the files, for DuckDB to read.

    DuckDB treats every path it reads as a glob pattern, and the BigDataBall naming
    `[2021-10-19]-0022100001-CLE@CHI.csv` holds a character class: resolving each name lists its
    whole directory, which is quadratic (25 s of a 30 s budget for three seasons' files).
    """
    with tempfile.TemporaryDirectory(prefix="shotzones-load-") as directory:
        links = {}
        for number, path in enumerate(files):
            link = Path(directory) / f"{number:07d}{'.csv.gz' if path.name.endswith('.gz') else '.csv'}"
            link.symlink_to(path)
            links[link] = path
        yield links


def read_into_incoming(con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    """Read every file into the temp table `incoming`, in file order and row order, so that a
    row's position among its file's rows is its data row number."""
    by_header: dict[tuple[str, ...], list[Path]] = defaultdict(list)
    for path in files:
        header = read_header(path)
        check_header(path, header)
        by_header[header].append(path)

    quoted = ", ".join(f'"{name}"' for name in RAW_COLUMNS)
    con.execute(
        "create or replace temp table incoming as select "
        + ", ".join(f"null::varchar as \"{name}\"" for name in RAW_COLUMNS)
        + ", null::varchar as source_file limit 0"
    )
    with plainly_named(files) as links:
        con.execute(
            "create or replace temp table link_targets as"
            " select unnest(?) as link, unnest(?) as target",
            [[str(link) for link in links], [str(target) for target in links.values()]],
        )
        link_of = {target: link for link, target in links.items()}
        for header, paths in by_header.items():
            column_types = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in header) + "}"
            con.execute(
                f"""
                insert into incoming
                select {quoted}, filename
                from read_csv(
                    ?, header = true, auto_detect = false, columns = {column_types},
                    delim = ',', quote = '"', escape = '"', filename = true
                )
                """,
                [[str(link_of[path]) for path in paths]],
            )


def load(settings: Settings, paths: Iterable[Path]) -> LoadSummary:
    started = time.perf_counter()
    files = discover(paths)
    with connect(settings) as con:
        read_into_incoming(con, files)
        con.execute(
            f"""
            create or replace temp table prepared as
            with numbered as (
                select
                    *,
                    rowid - min(rowid) over (partition by source_file) + 1 as source_row
                from incoming
            )
            select
                numbered.* replace (link_targets.target as source_file),
                {GAME_DATE_SQL.format('"date"')} as game_date,
                {CANONICAL_GAME_ID_SQL.format('game_id')} as canonical_game_id
            from numbered
            inner join link_targets on numbered.source_file = link_targets.link
            """
        )
        unparsed = con.execute(
            """
            select source_file, source_row + 1 as line, "date", game_id
            from prepared
            where game_date is null or length(canonical_game_id) <> 10
            order by source_file, line
            limit 20
            """
        ).fetchall()
        if unparsed:
            raise LoadError(
                "rows without a valid date or game_id, nothing loaded:\n"
                + "\n".join(
                    f"  {file}:{line}: date={day!r} game_id={game!r}"
                    for file, line, day, game in unparsed
                )
            )

        create_raw_table(con, settings)
        quoted = ", ".join(f'"{name}"' for name in RAW_COLUMNS)
        con.execute("begin transaction")
        con.execute(
            f"""
            delete from {settings.raw_relation}
            where {CANONICAL_GAME_ID_SQL.format('game_id')} in (
                select distinct canonical_game_id from prepared
            )
            """
        )
        con.execute(
            f"""
            insert into {settings.raw_relation}
            select {quoted}, game_date, source_file, source_row, current_timestamp
            from prepared
            """
        )
        con.execute("commit")
        rows, games, first_date, last_date = con.execute(
            "select count(*), count(distinct canonical_game_id), min(game_date), max(game_date)"
            " from prepared"
        ).fetchone()
    return LoadSummary(
        files=len(files),
        rows=rows,
        games=games,
        first_date=first_date,
        last_date=last_date,
        seconds=time.perf_counter() - started,
    )
