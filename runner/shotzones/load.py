"""Load BigDataBall play-by-play files into the raw table with DuckDB's own CSV reader.

Any file name is accepted (per-game files, season `combined-stats` files, `.csv.gz`). A game is
the unit of replacement: loading a file deletes every raw row of the games it contains, from
whichever file they came, and every earlier row of the file itself, then inserts the file's good
rows, in one transaction. Loading the same files again therefore changes nothing. A game found in
two files of one load is taken from the later file (directories are read in name order).

Bad input loses nothing that was good:

* A file that cannot be play-by-play (empty, broken gzip, no header, missing columns, unreadable)
  is rejected whole: nothing of it is loaded, its earlier rows stay, the other files load.
* A row the reader cannot split into the header's fields (ragged, broken quoting), or that cannot
  be placed (no usable game, date or period: `GATING_COLUMNS`), is held back in the quarantine
  table `<raw_schema>.bigdataball_play_by_play_quarantine`, one row per problem with file, line,
  column, value and reason; every other row of the file is loaded.
* Any other value that fails `value_checks()` costs no more than itself: it is recorded there the
  same way, and its row is loaded with that value missing (NULL). Reloading a file replaces its
  recorded problems too.
* Encodings: a UTF-8 byte-order mark is skipped; a UTF-16 file (byte-order mark) is read as such;
  a file that is not valid UTF-8 (raw Latin-1 bytes such as `Jos\\xe9`) is read whole as Latin-1,
  with a note. Mojibake inside valid UTF-8 (`JokiÄ‡`) cannot be told from text, and is kept as
  delivered.

Line numbers are CSV records, the header being line 1: the file's line number unless a quoted
value holds a line break or an unterminated quote swallowed the lines after it. DuckDB gives
none for the rows it reads: a good row's line is its position among the file's rows, shifted
past the lines the reader rejected, so a blank line inside a file (which the reader skips)
shifts the rows after it by one. `source_row` is a good row's line minus one.

Validation is set-based SQL: the checks run on each column's distinct values, and only rows
holding a bad value are looked at one by one. Python touches headers and file names only.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import itertools
import re
import tempfile
import time
import uuid
import zlib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import astuple, dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import duckdb

from shotzones import busy
from shotzones.settings import RAW_COLUMNS, Settings
from shotzones.warehouse import EVERY_DATE, DuckDBWarehouse, connect, date_list, open_warehouse

if TYPE_CHECKING:
    from shotzones.warehouse import BigQueryWarehouse

CSV_SUFFIXES = (".csv", ".csv.gz")
# The generator writes its schedule beside the games; a directory load passes over it, and
# `load_schedule` loads it.
SCHEDULE_FILE = "schedule.csv"
SCHEDULE_COLUMNS = ("season", "game_id", "game_date", "away_team", "home_team")
SCHEDULE_TABLE = "schedule"
QUARANTINE_TABLE = "bigdataball_play_by_play_quarantine"
# the manifest of loaded files, beside the raw table; rows per MERGE (BigQuery: 1 MB of SQL)
MANIFEST_SUFFIX = "_files"
MANIFEST_CHUNK = 1000
# The summary carries this many quarantine problems in detail (counts are always complete);
# the table holds them all.
PROBLEM_DETAIL_LIMIT = 1000

# Canonical game id (SPEC 3) and game date (both delivered formats) in DuckDB SQL. The dbt
# staging model re-parses `date` with its own macro and a test proves the two agree.
CANONICAL_GAME_ID_SQL = DuckDBWarehouse.canonical_game_id_sql
GAME_DATE_SQL = (
    "coalesce(try_strptime(trim({0}), '%m/%d/%Y'), try_strptime(trim({0}), '%Y-%m-%d'))::date"
)
GZIP_MAGIC = b"\x1f\x8b"


class LoadError(Exception):
    """Nothing to load at all (no files found); the message says where it looked."""


@dataclass(frozen=True)
class Rejected:
    """A file refused whole; nothing of it was loaded."""

    path: Path
    reason: str

    def describe(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Problem:
    """One recorded problem: a value that does not parse, or a row the reader refused. `set_aside`:
    the row was loaded with this value missing; otherwise the row is held back."""

    source_file: str
    line: int
    column: str | None
    value: str | None
    reason: str
    set_aside: bool = False

    def describe(self) -> str:
        if self.value is not None:
            kept = " (set aside, row loaded)" if self.set_aside else ""
            return f"{self.column}={self.value!r}: {self.reason}{kept}"
        return self.reason


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


@dataclass(frozen=True)
class _Source:
    """A file whose header passed: how DuckDB should read it."""

    path: Path
    header: tuple[str, ...]  # normalised column names, in file order
    encoding: str  # a DuckDB CSV encoding: utf-8, utf-16 or latin-1
    compressed: bool


class _Refused(Exception):
    pass


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- finding and probing files ----------------------------------------------------------------


def _discover(
    paths: Iterable[Path], wanted, what: str = ".csv or .csv.gz files"
) -> tuple[list[Path], list[Rejected]]:
    """The files named, directories searched recursively for files `wanted` accepts, in a stable
    order; paths that do not exist are rejected."""
    paths = [Path(path) for path in paths]
    found: list[Path] = []
    missing: list[Rejected] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and wanted(p)))
        elif path.is_file():
            found.append(path)
        else:
            missing.append(Rejected(path, "no such file or directory"))
    if not found and not missing:
        raise LoadError(f"no {what} found in " + ", ".join(map(str, paths)))
    return list(dict.fromkeys(p.resolve() for p in found)), missing


def discover(paths: Iterable[Path]) -> list[Path]:
    """The play-by-play files named, directories searched recursively (but for the generator's
    schedule.csv), in a stable order."""
    return _discover(paths, _is_play_by_play_name)[0]


def _is_play_by_play_name(path: Path) -> bool:
    return path.name.endswith(CSV_SUFFIXES) and path.name != SCHEDULE_FILE


def _first_line(path: Path) -> tuple[bytes, bool]:
    """The raw bytes of the file's first line (at most 1 MB) and whether it is gzip."""
    try:
        if path.stat().st_size == 0:
            raise _Refused("empty file (0 bytes): nothing to load")
        with path.open("rb") as handle:
            compressed = handle.read(2) == GZIP_MAGIC
        opener = gzip.open if compressed else open
        with opener(path, "rb") as handle:
            head = handle.read(8192)
            while head and b"\n" not in head and len(head) < 1 << 20:
                more = handle.read(65536)
                if not more:
                    break
                head += more
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise _Refused(f"broken gzip: {error}") from error
    except OSError as error:
        raise _Refused(f"cannot be read: {error.strerror or error}") from error
    if not head:
        raise _Refused("empty file (nothing inside the gzip): nothing to load")
    return head, compressed


def _decode_header(head: bytes) -> tuple[str, str]:
    """The header line as text, and the encoding DuckDB should read the file with."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace").splitlines()[0], "utf-16"
    line = head.split(b"\n", 1)[0]
    try:
        return line.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return line.decode("latin-1"), "latin-1"


def _probe(path: Path, required: tuple[str, ...], what: str) -> _Source:
    head, compressed = _first_line(path)
    text, encoding = _decode_header(head)
    try:
        fields = next(csv.reader([re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]]), [])
    except csv.Error as error:
        raise _Refused(f"not a CSV file, the first line does not parse: {error}") from error
    if not any(field.strip() for field in fields):
        raise _Refused("no header line: the first line is empty")
    header = tuple(
        field.strip().lower() or f"column{number}" for number, field in enumerate(fields, 1)
    )
    missing = [column for column in required if column not in header]
    if missing:
        hint = ""
        if what == "play-by-play" and all(c in header for c in SCHEDULE_COLUMNS):
            hint = " (a schedule: load it with `shotzones load-schedule`)"
        raise _Refused(
            f"not BigDataBall {what}, missing columns: {', '.join(missing)}{hint}"
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise _Refused(f"columns named twice in the header: {', '.join(duplicated)}")
    return _Source(path, header, encoding, compressed)


def _probe_all(
    files: list[Path], required: tuple[str, ...], what: str
) -> tuple[list[_Source], list[Rejected]]:
    sources, rejected = [], []
    for path in files:
        try:
            sources.append(_probe(path, required, what))
        except _Refused as refusal:
            rejected.append(Rejected(path, str(refusal)))
    return sources, rejected


# --- reading with DuckDB ---------------------------------------------------------------------


@contextmanager
def plainly_named(sources: list[_Source]) -> Iterator[dict[Path, Path]]:
    """Links with plain names to the files, for DuckDB to read.

    DuckDB treats every path it reads as a glob pattern, and the BigDataBall naming
    `[2021-10-19]-0022100001-CLE@CHI.csv` holds a character class: resolving each name lists its
    whole directory, which is quadratic (25 s of a 30 s budget for three seasons' files). The
    link's suffix also tells DuckDB whether to decompress, from the file's content, not its name.
    """
    with tempfile.TemporaryDirectory(prefix="shotzones-load-") as directory:
        links = {}
        for number, source in enumerate(sources):
            link = Path(directory) / f"{number:07d}{'.csv.gz' if source.compressed else '.csv'}"
            link.symlink_to(source.path)
            links[source.path] = link
        yield links


class _Reader:
    """Reads groups of files into a temp table, with DuckDB's rejects (ragged rows, broken
    quoting, bad encoding) kept in the temp table `read_rejects`. A group that fails outright
    (a broken gzip stream, an unreadable file) is split until the failing file is found alone
    and rejected, so the others still load."""

    def __init__(self, con, table: str, columns: tuple[str, ...], links: dict[Path, Path]):
        self.con, self.table, self.columns, self.links = con, table, columns, links
        self.rejected: list[Rejected] = []
        self._scans = itertools.count()
        quoted_types = ", ".join(f"null::varchar as {_q(name)}" for name in columns)
        con.execute(
            f"create or replace temp table {table} as select {quoted_types},"
            " null::varchar as source_file limit 0"
        )
        con.execute(
            "create or replace temp table read_rejects (link varchar, line bigint,"
            " column_name varchar, error_type varchar, csv_line varchar, error_message varchar)"
        )

    def read(self, sources: list[_Source], encoding: str | None = None) -> None:
        groups: dict[tuple, list[_Source]] = defaultdict(list)
        for source in sources:
            groups[(source.header, encoding or source.encoding)].append(source)
        for (header, group_encoding), group in groups.items():
            self._read_split(group, header, group_encoding)

    def _read_split(self, group: list[_Source], header: tuple[str, ...], encoding: str) -> None:
        try:
            self._read_group(group, header, encoding)
        except duckdb.Error as error:
            if len(group) == 1:
                self.rejected.append(Rejected(group[0].path, self._reason(error, group[0])))
                return
            middle = len(group) // 2
            self._read_split(group[:middle], header, encoding)
            self._read_split(group[middle:], header, encoding)

    def _reason(self, error: duckdb.Error, source: _Source) -> str:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        message = message.replace(str(self.links[source.path]), source.path.name)
        if "GZIP" in message.upper() or "zlib" in message:
            return f"broken gzip: {message}"
        return f"cannot be read: {message}"

    def _read_group(self, group: list[_Source], header: tuple[str, ...], encoding: str) -> None:
        scan = next(self._scans)
        errors, scans = f"shotzones_rejects_{scan}", f"shotzones_reject_scans_{scan}"
        column_types = "{" + ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in header) + "}"
        selected = ", ".join(_q(name) for name in self.columns)
        try:
            self.con.execute(
                f"""
                insert into {self.table}
                select {selected}, filename
                from read_csv(
                    ?, header = true, auto_detect = false, columns = {column_types},
                    delim = ',', quote = '"', escape = '"', filename = true,
                    encoding = {_literal(encoding)},
                    store_rejects = true, rejects_table = '{errors}', rejects_scan = '{scans}'
                )
                """,
                [[str(self.links[source.path]) for source in group]],
            )
            self.con.execute(
                f"""
                insert into read_rejects
                select distinct on (s.file_path, e.line)
                       s.file_path, e.line, e.column_name, e.error_type::varchar,
                       trim(e.csv_line, chr(10) || chr(13)), e.error_message
                from {errors} as e inner join {scans} as s using (scan_id, file_id)
                order by s.file_path, e.line,
                         e.error_type in ('UNQUOTED VALUE', 'INVALID ENCODING') desc,
                         e.byte_position, e.column_idx
                """
            )
        finally:
            self.con.execute(f"drop table if exists {errors}")
            self.con.execute(f"drop table if exists {scans}")

    def reread_invalid_utf8(self, sources: list[_Source]) -> list[_Source]:
        """Files DuckDB found not to be UTF-8, read again whole as Latin-1."""
        invalid = {
            link
            for (link,) in self.con.execute(
                "select distinct link from read_rejects where error_type = 'INVALID ENCODING'"
            ).fetchall()
        }
        again = [s for s in sources if s.encoding == "utf-8" and str(self.links[s.path]) in invalid]
        if again:
            links = [str(self.links[s.path]) for s in again]
            self.con.execute(f"delete from {self.table} where source_file in (select unnest(?))", [links])
            self.con.execute("delete from read_rejects where link in (select unnest(?))", [links])
            self.read(again, encoding="latin-1")
        return again


def _number_rows(con, table: str) -> str:
    """A FROM clause over `table` adding `rid` (its rowid), `target` (the file) and `source_row`
    (the row's data line in its file, line - 1). Rows are in file order, so a row's position
    among its file's rows is its data row, shifted past the lines the reader rejected before it;
    only the rows of files with rejected lines pay for that shift."""
    con.execute(
        f"""
        create or replace temp table {table}_first_rows as
        select source_file, min({table}.rowid) as first_rowid, any_value(target) as target
        from {table} inner join link_targets on {table}.source_file = link_targets.link
        group by source_file
        """
    )
    numbered = f"""
        {table}
        inner join {table}_first_rows using (source_file)
    """
    position = f"{table}.rowid - {table}_first_rows.first_rowid + 1"
    if not _has_rejects(con):
        return f"(select {table}.*, {table}.rowid as rid, target, {position} as source_row from {numbered})"
    # The j-th rejected line of a file (data row p_j) is skipped by every good row at position
    # k >= p_j - (j - 1): a good row's data row is k plus the largest such j.
    con.execute(
        f"""
        create or replace temp table {table}_shifts as
        with rejected_rows as (
            select link, line - 1 as data_row,
                   row_number() over (partition by link order by line) as skipped
            from (select distinct link, line from read_rejects)
        ),
        thresholds as (
            select link, data_row - skipped + 1 as threshold, max(skipped) as skips
            from rejected_rows
            group by link, data_row - skipped + 1
        ),
        positions as (
            select {table}.rowid as rid, source_file, {position} as position
            from {numbered}
            where source_file in (select link from thresholds)
        )
        select positions.rid, thresholds.skips
        from positions asof inner join thresholds
            on positions.source_file = thresholds.link and positions.position >= thresholds.threshold
        """
    )
    return f"""(
        select {table}.*, {table}.rowid as rid, target,
               {position} + coalesce({table}_shifts.skips, 0) as source_row
        from {numbered}
        left join {table}_shifts on {table}.rowid = {table}_shifts.rid
    )"""


_READER_PROBLEMS = {
    # DuckDB error type: (problem, reason prefix)
    "MISSING COLUMNS": ("wrong_field_count", "wrong number of fields"),
    "TOO MANY COLUMNS": ("wrong_field_count", "wrong number of fields"),
    "UNQUOTED VALUE": ("bad_quoting", "broken quoting"),
    "LINE SIZE OVER MAXIMUM": ("line_too_long", "line too long"),
    "INVALID ENCODING": ("bad_encoding", "invalid encoding"),
}


def _reader_problems_sql() -> str:
    cases = " ".join(
        f"when {_literal(kind)} then {_literal(problem)}"
        for kind, (problem, _) in _READER_PROBLEMS.items()
    )
    reasons = " ".join(
        f"when {_literal(kind)} then {_literal(reason)}"
        for kind, (_, reason) in _READER_PROBLEMS.items()
    )
    return f"""
        select link_targets.target as source_file, read_rejects.line,
               read_rejects.column_name, null::varchar as value,
               case read_rejects.error_type {cases} else 'unreadable_row' end as problem,
               coalesce(case read_rejects.error_type {reasons} end, 'unreadable row')
                   || ' (' || read_rejects.error_message || ')' as reason,
               read_rejects.csv_line as raw_line, null::json as row_values
        from read_rejects
        inner join link_targets on read_rejects.link = link_targets.link
    """


# --- row checks ------------------------------------------------------------------------------


INTEGER_COLUMNS = ("away_score", "home_score", "play_id", "points", "num", "outof")
COORDINATE_COLUMNS = ("original_x", "original_y", "converted_x", "converted_y")
CLOCK_COLUMNS = ("remaining_time", "elapsed")
# BigDataBall's play_length is the elapsed clock minus the previous row's: negative, with the sign
# on the hours or the minutes (`00:-12:00`, `00:-5:00`), on the row starting each period.
SIGNED_CLOCK_COLUMNS = ("play_length",)
_CLOCK = "[0-9]+:[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?"
_SIGNED_CLOCK = "(-?[0-9]+:[0-5][0-9]|[0-9]+:-[0-5]?[0-9]):[0-5][0-9](\\.[0-9]+)?"
# Without these a row cannot be placed (no game, no partition, no order): a bad one holds the
# row back. A bad value anywhere else is set aside and the row loaded without it.
GATING_COLUMNS = ("game_id", "date", "period")
# a recorded problem that is a value set aside (its row loaded), not a row held back
SET_ASIDE_SQL = (
    "(row_values is not null and column_name not in ("
    + ", ".join(f"'{column}'" for column in GATING_COLUMNS)
    + "))"
)
_EMPTY = "nullif(trim({v}), '') is null"
_MISSING = ("missing_value", "required value is empty", _EMPTY)


def value_checks() -> dict[str, list[tuple[str, str, str]]]:
    """Per column, (problem, reason, SQL over the value `{v}` true when it has the problem), the
    first that applies being the value's problem.

    Required (GATING_COLUMNS): game_id (1 to 10 digits), date (M/D/YYYY or YYYY-MM-DD) and period
    (a whole number from 1): without them a row has no game, no partition, no order. Every other
    value may be empty (a rebound has no points, a free throw no coordinates), but when present
    numbers must be numbers, coordinates numbers or `unknown`, clocks `h:mm:ss` and play_length a
    signed one. Numbers are checked with the same casts the staging model uses, so what passes
    here never turns NULL there.
    """
    present = "nullif(trim({v}), '') is not null and "
    checks: dict[str, list[tuple[str, str, str]]] = {
        "game_id": [
            _MISSING,
            ("bad_value", "game id needs 1 to 10 digits",
             "length(regexp_replace({v}, '[^0-9]', '', 'g')) not between 1 and 10"),
        ],
        "date": [
            _MISSING,
            ("bad_value", "not a date (M/D/YYYY or YYYY-MM-DD)",
             GAME_DATE_SQL.replace("{0}", "{v}") + " is null"),
        ],
        "period": [
            _MISSING,
            ("bad_value", "not a whole number from 1",
             "coalesce(try_cast(trim({v}) as integer) < 1, true)"),
        ],
    }  # fmt: skip
    for column in INTEGER_COLUMNS:
        checks[column] = [
            ("bad_value", "not a whole number", present + "try_cast(trim({v}) as integer) is null")
        ]
    checks["shot_distance"] = [
        ("bad_value", "not a number", present + "try_cast(trim({v}) as double) is null")
    ]
    for column in COORDINATE_COLUMNS:
        checks[column] = [(
            "bad_value", "not a number or `unknown`",
            present + "lower(trim({v})) <> 'unknown' and try_cast(trim({v}) as double) is null",
        )]  # fmt: skip
    for column in CLOCK_COLUMNS:
        checks[column] = [(
            "bad_value", "not a clock (h:mm:ss)",
            present + f"not regexp_full_match(trim({{v}}), '{_CLOCK}')",
        )]  # fmt: skip
    for column in SIGNED_CLOCK_COLUMNS:
        checks[column] = [(
            "bad_value", "not a signed clock (h:mm:ss, 00:-12:00)",
            present + f"not regexp_full_match(trim({{v}}), '{_SIGNED_CLOCK}')",
        )]  # fmt: skip
    return checks


def _find_bad_values(con, table: str) -> None:
    """The temp table `bad_values`: the distinct values of each checked column that fail a check
    (column_name, value, problem, reason). Checking distinct values (a few thousand per column)
    instead of rows keeps validation to one cheap pass over the data. The distinct values are
    materialised first: a filter over them would otherwise be pushed down to every row."""
    checks = value_checks()
    con.execute(
        "create or replace temp table distinct_values as "
        + " union all ".join(
            f"select {_literal(column)} as column_name, v from (select distinct {_q(column)} as v from {table})"
            for column in checks
        )
    )
    parts = []
    for column, column_checks in checks.items():
        verdict = " ".join(
            f"when {condition.format(v='v')} then"
            f" {{'problem': {_literal(problem)}, 'reason': {_literal(reason)}}}"
            for problem, reason, condition in column_checks
        )
        parts.append(
            f"""
            select column_name, v as value, verdict.problem as problem, verdict.reason as reason
            from (
                select column_name, v, case {verdict} end as verdict
                from distinct_values
                where column_name = {_literal(column)}
            )
            where verdict is not null
            """
        )
    con.execute("create or replace temp table bad_values as " + " union all ".join(parts))


# --- tables ----------------------------------------------------------------------------------


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


def quarantine_relation(settings: Settings) -> str:
    return f"{settings.raw_schema}.{QUARANTINE_TABLE}"


def create_quarantine_table(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con.execute(f"create schema if not exists {settings.raw_schema}")
    con.execute(
        f"""
        create table if not exists {quarantine_relation(settings)} (
            source_file varchar not null,  -- the file, as loaded
            line bigint not null,          -- its line (CSV record), the header being line 1
            column_name varchar,           -- the column at fault, when there is one
            value varchar,                 -- the value at fault, as delivered
            problem varchar not null,      -- missing_value, bad_value, wrong_field_count, ...
            reason varchar not null,       -- in words
            raw_line varchar,              -- the line as read, when the reader refused it
            row_values json,               -- the row's 44 values, when it was read
            loaded_at timestamp not null
        )
        """
    )


def schedule_relation(settings: Settings) -> str:
    return f"{settings.raw_schema}.{SCHEDULE_TABLE}"


def create_schedule_table(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con.execute(f"create schema if not exists {settings.raw_schema}")
    con.execute(
        f"""
        create table if not exists {schedule_relation(settings)} (
            game_id varchar not null,
            game_date date not null,
            season integer not null,
            away_team varchar,
            home_team varchar,
            source_file varchar not null,
            loaded_at timestamp not null
        )
        """
    )


def _register_links(con, links: dict[Path, Path]) -> None:
    con.execute(
        "create or replace temp table link_targets as"
        " select unnest(?) as link, unnest(?) as target",
        [[str(link) for link in links.values()], [str(path) for path in links]],
    )


# --- play-by-play ----------------------------------------------------------------------------


def load(settings: Settings, paths: Iterable[Path], reread: bool = False) -> LoadSummary:
    """Load play-by-play files and directories: only files new or changed since they were last
    loaded (the manifest), or every file with `reread`. Rejected files and quarantined rows are
    in the summary (`exit_code` says which happened); only finding no files at all raises
    LoadError. On BigQuery the files are validated the same way in a local DuckDB file first,
    then shipped (see `_ship_play_by_play`)."""
    started = time.perf_counter()
    with busy.hold(settings, busy.command_line("load")):
        files, missing = _discover(paths, _is_play_by_play_name)
        delta = changed_files(settings, files, reread)
        if settings.target == "bigquery":
            with _local_validation(settings) as (local, directory):
                summary = _load(
                    local, delta.changed, missing,
                    lambda con: _ship_play_by_play(con, settings, directory),
                )  # fmt: skip
        else:
            summary = _load(settings, delta.changed, missing)
        refused = {str(r.path) for r in summary.rejected}
        record_files(settings, delta.touched + [s for s in delta.states if s.path not in refused])
    return replace(summary, unchanged=delta.unchanged, seconds=time.perf_counter() - started)


# --- the manifest: what was loaded, so that an unchanged file is not read again --------------


@dataclass(frozen=True)
class FileState:
    path: str
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True)
class Delta:
    changed: list[Path]  # new, or content changed: to load
    states: list[FileState]  # of the changed files, taken before reading them
    touched: list[FileState]  # same content under a new size or time: only the manifest changes
    unchanged: int  # files skipped


MANIFEST_COLUMNS = {
    "source_file": "string", "size_bytes": "int", "mtime_ns": "int", "content_hash": "string",
    "loaded_at": "timestamp",
}  # fmt: skip


def manifest_relation(settings: Settings) -> str:
    return f"{settings.raw_relation}{MANIFEST_SUFFIX}"


def content_hash(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def changed_files(settings: Settings, files: list[Path], reread: bool = False) -> Delta:
    """Which files to load: a file whose size and modification time match the manifest is
    unchanged; otherwise its content hash decides. Stat and hash are taken before the file is
    read, so a file rewritten during the load looks changed next time, never unchanged."""
    known = {} if reread else _read_manifest(settings)
    changed, states, touched, unchanged = [], [], [], 0
    for path in files:
        stat = path.stat()
        entry = known.get(str(path))
        if entry is not None and (entry.size, entry.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            unchanged += 1
            continue
        state = FileState(str(path), stat.st_size, stat.st_mtime_ns, content_hash(path))
        if entry is not None and entry.content_hash == state.content_hash:
            unchanged += 1
            touched.append(state)
        else:
            changed.append(path)
            states.append(state)
    return Delta(changed, states, touched, unchanged)


def _read_manifest(settings: Settings) -> dict[str, FileState]:
    if settings.target == "duckdb" and not settings.duckdb_path.exists():
        return {}
    with open_warehouse(settings) as wh:
        if not wh.table_exists(settings.raw_table + MANIFEST_SUFFIX, settings.raw_schema):
            return {}
        rows = wh.rows(f"select source_file, size_bytes, mtime_ns, content_hash from {manifest_relation(settings)}")
    return {row[0]: FileState(*row) for row in rows}


def record_files(settings: Settings, states: list[FileState]) -> None:
    """Record files as loaded (after their rows were committed: a crash in between only
    means the file is read again next time, which changes nothing)."""
    if not states:
        return
    with open_warehouse(settings) as wh:
        types = {name: wh.types[kind] for name, kind in MANIFEST_COLUMNS.items()}
        body = ", ".join(f"{name} {kind}" for name, kind in types.items())
        wh.execute(f"create table if not exists {manifest_relation(settings)} ({body})")
        columns = list(MANIFEST_COLUMNS)
        now = datetime.now()
        for start in range(0, len(states), MANIFEST_CHUNK):
            rows = [astuple(state) + (now,) for state in states[start : start + MANIFEST_CHUNK]]
            wh.execute(
                f"""
                merge into {manifest_relation(settings)} as t
                using ({wh.rows_as_select(columns, rows, types)}) as s
                on t.source_file = s.source_file
                when matched then update set {", ".join(f"{c} = s.{c}" for c in columns[1:])}
                when not matched then insert ({", ".join(columns)})
                    values ({", ".join("s." + c for c in columns)})
                """
            )


def _load(
    settings: Settings,
    files: list[Path],
    rejected: list[Rejected],
    ship: Callable[[duckdb.DuckDBPyConnection], list[str] | None] | None = None,
) -> LoadSummary:
    started = time.perf_counter()
    rejected = list(rejected)
    sources, refused = _probe_all(files, RAW_COLUMNS, "play-by-play")
    rejected += refused
    notes: list[str] = []
    if not sources:
        return LoadSummary(0, 0, 0, None, None, time.perf_counter() - started,
                           rejected=tuple(rejected))  # fmt: skip

    with connect(settings) as con, plainly_named(sources) as links:
        _register_links(con, links)
        reader = _Reader(con, "incoming", RAW_COLUMNS, links)
        reader.read(sources)
        for source in reader.reread_invalid_utf8(sources):
            notes.append(f"{source.path}: not valid UTF-8, read as Latin-1")
        notes.extend(
            f"{s.path}: read as UTF-16" for s in sources if s.encoding == "utf-16"
        )
        notes.extend(
            f"{s.path}: not valid UTF-8 in its header, read as Latin-1"
            for s in sources
            if s.encoding == "latin-1"
        )
        rejected += reader.rejected
        failed = {r.path for r in reader.rejected}
        read = [s for s in sources if s.path not in failed]
        con.execute(
            "create or replace temp table read_files as"
            " select * from link_targets where target in (select unnest(?))",
            [[str(s.path) for s in read]],
        )
        if not read:
            return LoadSummary(0, 0, 0, None, None, time.perf_counter() - started,
                               rejected=tuple(rejected), notes=tuple(notes))  # fmt: skip

        summary = _validate_and_write(con, settings)
        if ship is not None:
            notes.extend(ship(con) or ())
        notes.extend(summary.pop("notes"))
        notes.extend(
            f"{path}: header only, no rows"
            for (path,) in con.execute(
                """
                select target from read_files
                where link not in (select source_file from incoming_first_rows)
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


def _has_rejects(con) -> bool:
    return bool(con.execute("select count(*) from read_rejects").fetchone()[0])


def _validate_and_write(con, settings: Settings) -> dict:
    numbered = _number_rows(con, "incoming")
    _find_bad_values(con, "incoming")
    bad_columns = [column for (column,) in con.execute(
        "select distinct column_name from bad_values order by column_name"
    ).fetchall()]  # fmt: skip
    row_values = "{" + ", ".join(f"{_literal(name)}: {_q(name)}" for name in RAW_COLUMNS) + "}"
    if bad_columns:
        # the rows holding a bad value, each with its problems
        holds_bad = " or ".join(
            f"(exists (select 1 from bad_values where column_name = {_literal(column)}"
            f" and value is not distinct from {_q(column)}))"
            for column in bad_columns
        )
        values = ", ".join(f"{{'c': {_literal(c)}, 'v': {_q(c)}}}" for c in bad_columns)
        con.execute(
            f"""
            create or replace temp table bad_rows as
            select rid, target, source_row, to_json({row_values}) as row_values,
                   unnest([{values}]) as checked
            from {numbered}
            where {holds_bad}
            """
        )
        value_problems = """
            select bad_rows.target, bad_rows.source_row + 1, bad_values.column_name,
                   bad_values.value, bad_values.problem, bad_values.reason, null,
                   bad_rows.row_values
            from bad_rows inner join bad_values
                on bad_rows.checked.c = bad_values.column_name
                and bad_rows.checked.v is not distinct from bad_values.value
        """
        # held back: the rows that cannot be placed; the others keep their row
        gating = ", ".join(_literal(column) for column in GATING_COLUMNS)
        good = f"""{numbered} as good anti join (
            select bad_rows.rid
            from bad_rows inner join bad_values
                on bad_rows.checked.c = bad_values.column_name
                and bad_rows.checked.v is not distinct from bad_values.value
            where bad_values.column_name in ({gating})
        ) as held_back on good.rid = held_back.rid"""
    else:
        value_problems = "select null, null, null, null, null, null, null, null where false"
        good = f"{numbered} as good"
    con.execute(
        f"""
        create or replace temp table quarantine_new as
        {_reader_problems_sql()}
        union all
        {value_problems}
        """
    )
    game_date = GAME_DATE_SQL.format('"date"')
    # A game is replaced whole, so a game delivered in two files of one load (a game file and a
    # season file) is taken from the later file alone.
    con.execute(
        f"""
        create or replace temp table delivered as
        with by_spelling as (
            select source_file as link, game_id, "date", count(*) as rows
            from {good}
            group by all
        )
        select *, {CANONICAL_GAME_ID_SQL.format('game_id')} as canonical_game_id,
               {game_date} as game_date,
               max(link) over (partition by {CANONICAL_GAME_ID_SQL.format('game_id')}) as last_link
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
        good += """
            anti join (select link, game_id from delivered where link <> last_link) as superseded
            on good.source_file = superseded.link and good.game_id = superseded.game_id
        """
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

    create_raw_table(con, settings)
    create_quarantine_table(con, settings)
    create_schedule_table(con, settings)  # the models read it, loaded or not
    # a value set aside is loaded missing: the recorded problem keeps it as delivered
    quoted = ", ".join(
        f"case when good.{_q(name)} in (select value from bad_values where column_name ="
        f" {_literal(name)}) then null else good.{_q(name)} end as {_q(name)}"
        if name in bad_columns and name not in GATING_COLUMNS
        else f"good.{_q(name)}"
        for name in RAW_COLUMNS
    )
    con.execute("begin transaction")
    try:
        con.execute(
            f"""
            delete from {settings.raw_relation}
            where {CANONICAL_GAME_ID_SQL.format('game_id')} in (select game_id from new_games)
               or source_file in (select target from read_files)
            """
        )
        con.execute(
            f"""
            insert into {settings.raw_relation}
            select {quoted}, {game_date}, good.target, good.source_row, current_timestamp
            from {good}
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
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise

    rows, games, first_date, last_date = con.execute(
        "select coalesce(sum(rows), 0), count(*), min(first_date), max(last_date) from new_games"
    ).fetchone()
    by_file = con.execute(
        "select source_file, count(distinct line) from quarantine_new"
        " group by source_file order by source_file"
    ).fetchall()
    problem_count, held_back, set_aside = con.execute(
        f"""
        select count(*), count(distinct case when not {SET_ASIDE_SQL} then (source_file, line) end),
               count(*) filter (where {SET_ASIDE_SQL})
        from quarantine_new
        """
    ).fetchone()
    problems = con.execute(
        f"""
        select source_file, line, column_name, value, reason, {SET_ASIDE_SQL} from quarantine_new
        order by source_file, line, column_name
        limit {PROBLEM_DETAIL_LIMIT}
        """
    ).fetchall()
    return dict(
        notes=tuple(
            f"{earlier}: {games:,} game{'s' if games != 1 else ''} also in {later},"
            " loaded from there"
            for earlier, later, games in superseded
        ),
        rows=rows,
        games=games,
        first_date=first_date,
        last_date=last_date,
        quarantined_rows=held_back,
        set_aside_values=set_aside,
        problem_count=problem_count,
        problems=tuple(Problem(*problem) for problem in problems),
        quarantined_by_file=tuple((file, count) for file, count in by_file),
    )


# --- schedule --------------------------------------------------------------------------------


def load_schedule(settings: Settings, paths: Iterable[Path]) -> ScheduleSummary:
    """Load schedule CSVs (season, game_id, game_date, away_team, home_team) into
    `<raw_schema>.schedule`, replacing earlier rows of the same games. A file with a row that does
    not parse is rejected whole, naming its lines; the other files load. Directories are searched
    for files named schedule.csv. On BigQuery, validated locally as on DuckDB, then shipped."""
    with busy.hold(settings, busy.command_line("load-schedule")):
        if settings.target == "bigquery":
            with _local_validation(settings) as (local, directory):
                return _load_schedule(
                    local, paths, lambda con: _ship_schedule(con, settings, directory)
                )
        return _load_schedule(settings, paths)


def _load_schedule(
    settings: Settings,
    paths: Iterable[Path],
    ship: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> ScheduleSummary:
    started = time.perf_counter()
    files, rejected = _discover(
        paths, lambda p: p.name in (SCHEDULE_FILE, SCHEDULE_FILE + ".gz"), f"{SCHEDULE_FILE} files"
    )
    sources, refused = _probe_all(files, SCHEDULE_COLUMNS, "schedule")
    rejected += refused
    if not sources:
        return ScheduleSummary(0, 0, None, None, time.perf_counter() - started, tuple(rejected))

    with connect(settings) as con, plainly_named(sources) as links:
        _register_links(con, links)
        reader = _Reader(con, "incoming_schedule", SCHEDULE_COLUMNS, links)
        reader.read(sources)
        reader.reread_invalid_utf8(sources)
        rejected += reader.rejected
        con.execute(
            f"""
            create or replace temp table schedule_prepared as
            select
                numbered.target as source_file,
                numbered.source_row + 1 as line,
                nullif(trim(game_id), '') as raw_game_id,
                nullif(trim(game_date), '') as raw_game_date,
                nullif(trim(season), '') as raw_season,
                {CANONICAL_GAME_ID_SQL.format('game_id')} as game_id,
                {GAME_DATE_SQL.format('game_date')} as game_date,
                try_cast(nullif(trim(season), '') as integer) as season,
                nullif(trim(away_team), '') as away_team,
                nullif(trim(home_team), '') as home_team,
                numbered.source_file as link,
                numbered.source_row
            from {_number_rows(con, "incoming_schedule")} as numbered
            """
        )
        bad = con.execute(
            """
            select source_file, line, reason from (
                select source_file, line, concat_ws('; ',
                    case when raw_game_id is null then 'game_id is empty'
                         when length(regexp_replace(raw_game_id, '[^0-9]', '', 'g'))
                              not between 1 and 10
                         then 'game_id=''' || raw_game_id || ''' needs 1 to 10 digits' end,
                    case when raw_game_date is null then 'game_date is empty'
                         when game_date is null
                         then 'game_date=''' || raw_game_date || ''' is not a date' end,
                    case when raw_season is null then 'season is empty'
                         when season is null
                         then 'season=''' || raw_season || ''' is not a whole number' end
                ) as reason
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
        for file, lines in lines_by_file.items():
            shown = "; ".join(lines[:5]) + (f"; and {len(lines) - 5} more" if len(lines) > 5 else "")
            rejected.append(Rejected(Path(file), f"rows that do not parse, nothing loaded: {shown}"))
        refused_paths = {str(r.path) for r in rejected}
        good = [str(s.path) for s in sources if str(s.path) not in refused_paths]
        if not good:
            return ScheduleSummary(0, 0, None, None, time.perf_counter() - started, tuple(rejected))
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
        create_schedule_table(con, settings)
        con.execute("begin transaction")
        try:
            con.execute(
                f"delete from {schedule_relation(settings)}"
                " where game_id in (select game_id from schedule_new)"
            )
            con.execute(
                f"insert into {schedule_relation(settings)}"
                " select *, current_timestamp from schedule_new"
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        if ship is not None:
            ship(con)
        games, first_date, last_date = con.execute(
            "select count(*), min(game_date), max(game_date) from schedule_new"
        ).fetchone()
    return ScheduleSummary(
        len(good), games, first_date, last_date, time.perf_counter() - started, tuple(rejected)
    )


# --- BigQuery --------------------------------------------------------------------------------
#
# A load on BigQuery is validated exactly as on DuckDB, by the code above, in a temporary local
# DuckDB file: what it writes there (the good rows, the quarantined problems, the schedule) is
# then shipped. Per table: one CSV load job into an expiring staging table, one MERGE
# (`on false`: delete what the load replaces, insert the new rows), and the staging table is
# dropped. No scripting, no INFORMATION_SCHEMA, no query parameters: values are literals.
#
# The raw table is partitioned by game_date and may require a partition filter, so a MERGE can
# only delete on the dates it names. A re-delivered game may have moved (a postponed game keeps
# its id), and a reloaded file may have held games it no longer holds: their old rows can be on
# dates the new files do not hold. A small unpartitioned index, `<raw_table>_games`, holds one
# row per (canonical game, file, date) of the raw table and names those dates, so no load scans
# the raw table. It gains the new entries before the raw MERGE and loses the replaced ones after
# it: whichever statement fails, it holds at least every (game, file, date) of the raw table,
# and the next load still finds every old row. Only the loader writes the raw table; an index
# lost is rebuilt from the raw table once (the one full scan).

GAMES_INDEX_SUFFIX = "_games"
# BigQuery refuses a query text over 1 MB: a load whose files and games would make longer lists
# is shipped in groups of files, one after the other. The result is the same (each game is in
# one file only, once the validation took it from the latest); only atomicity is per group.
LITERAL_BUDGET = 300_000
STAGING_EXPIRY_HOURS = 24

_RAW_STAGE_COLUMNS = (
    *((name, "STRING") for name in RAW_COLUMNS),
    ("game_date", "DATE"), ("source_file", "STRING"), ("source_row", "INT64"),
)  # fmt: skip
_QUARANTINE_STAGE_COLUMNS = (
    ("source_file", "STRING"), ("line", "INT64"), ("column_name", "STRING"), ("value", "STRING"),
    ("problem", "STRING"), ("reason", "STRING"), ("raw_line", "STRING"),
    ("row_values", "STRING"),  # JSON text; a CSV load job fills no JSON column
)  # fmt: skip
_INDEX_COLUMNS = (
    ("game_id", "STRING"), ("game_date", "DATE"), ("source_file", "STRING"), ("row_count", "INT64"),
)  # fmt: skip
_SCHEDULE_STAGE_COLUMNS = (
    ("game_id", "STRING"), ("game_date", "DATE"), ("season", "INT64"),
    ("away_team", "STRING"), ("home_team", "STRING"), ("source_file", "STRING"),
)  # fmt: skip


def games_index_relation(settings: Settings) -> str:
    return f"{settings.raw_relation}{GAMES_INDEX_SUFFIX}"


def bigquery_table_ddl(settings: Settings) -> dict[str, str]:
    """`create table if not exists` for the loader's BigQuery tables, by relation: the same
    columns as on DuckDB, partitioned and clustered for the reads they serve."""
    raw_columns = ",\n".join(f"`{name}` string" for name in RAW_COLUMNS)
    return {
        settings.raw_relation: f"""
            create table if not exists {settings.raw_relation} (
                {raw_columns},
                game_date date not null,
                source_file string not null,
                source_row int64 not null,
                loaded_at timestamp not null
            )
            partition by game_date
            cluster by game_id
            options (require_partition_filter = true)
        """,
        games_index_relation(settings): f"""
            create table if not exists {games_index_relation(settings)} (
                game_id string not null,      -- canonical, 10 digits
                game_date date not null,
                source_file string not null,
                row_count int64 not null,
                loaded_at timestamp not null
            )
            cluster by game_id
        """,
        quarantine_relation(settings): f"""
            create table if not exists {quarantine_relation(settings)} (
                source_file string not null,
                line int64 not null,
                column_name string,
                value string,
                problem string not null,
                reason string not null,
                raw_line string,
                row_values json,
                loaded_at timestamp not null
            )
            cluster by source_file
        """,
        schedule_relation(settings): f"""
            create table if not exists {schedule_relation(settings)} (
                game_id string not null,
                game_date date not null,
                season int64 not null,
                away_team string,
                home_team string,
                source_file string not null,
                loaded_at timestamp not null
            )
            cluster by game_id
        """,
    }


@contextmanager
def _local_validation(settings: Settings) -> Iterator[tuple[Settings, Path]]:
    """DuckDB settings for a temporary warehouse file the validation writes into, and a directory
    for the files shipped from it."""
    with tempfile.TemporaryDirectory(prefix="shotzones-validate-") as directory:
        local = replace(settings, target="duckdb", duckdb_path=Path(directory) / "validate.duckdb")
        yield local, Path(directory)


def _ensure_bigquery_tables(
    warehouse: BigQueryWarehouse, settings: Settings, relations: Iterable[str]
) -> None:
    """The raw dataset (in the configured location) and the tables named, created when missing:
    asked of the tables API first, cheaper than a DDL job each load."""
    from google.cloud import bigquery

    dataset = bigquery.Dataset(f"{warehouse.client.project}.{settings.raw_schema}")
    dataset.location = settings.bq_location
    warehouse.client.create_dataset(dataset, exists_ok=True)
    ddl = bigquery_table_ddl(settings)
    relations = list(relations)
    index = games_index_relation(settings)
    raw_existed = index in relations and warehouse.table_exists(
        settings.raw_table, settings.raw_schema
    )
    for relation in relations:
        schema, name = relation.split(".")
        if warehouse.table_exists(name, schema):
            continue
        if relation == index and raw_existed:
            # the index was lost (or the raw table predates it): rebuilt from the raw table
            warehouse.execute(
                f"""
                create table if not exists {relation}
                cluster by game_id
                as
                select {warehouse.canonical_game_id('game_id')} as game_id, game_date,
                       source_file, count(*) as row_count, current_timestamp() as loaded_at
                from {settings.raw_relation}
                where {EVERY_DATE}
                group by 1, 2, 3
                """
            )
        else:
            warehouse.execute(ddl[relation])


def _in_list(warehouse: BigQueryWarehouse, values: Iterable[str]) -> str:
    items = [warehouse.literal(value) for value in values]
    return "(" + ", ".join(items) + ")" if items else "(null)"


class _Staging:
    """Expiring staging tables in the raw dataset, filled by CSV load jobs from local DuckDB
    queries, dropped on exit."""

    def __init__(self, con, warehouse: BigQueryWarehouse, settings: Settings, directory: Path):
        self.con, self.warehouse, self.settings, self.directory = con, warehouse, settings, directory
        self.tables: list[str] = []

    def __enter__(self) -> _Staging:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        for table in self.tables:
            try:
                self.warehouse.execute(f"drop table if exists {table}")
            except Exception:
                if error is None:
                    raise
                # the load's own error is the one to report; the table expires on its own

    def load(self, what: str, columns: tuple[tuple[str, str], ...], select: str) -> str:
        """A staging table holding the rows of the local `select` (its columns in order)."""
        from google.cloud import bigquery

        name = f"_load_{what}_{uuid.uuid4().hex[:16]}"
        table = f"{self.settings.raw_schema}.{name}"
        path = self.directory / f"{name}.csv"
        self.con.execute(f"copy ({select}) to {_literal(str(path))} (format csv, header true)")
        definitions = ", ".join(f"{self.warehouse.quote(c)} {kind}" for c, kind in columns)
        self.warehouse.execute(
            f"create table {table} ({definitions}) options (expiration_timestamp ="
            f" timestamp_add(current_timestamp(), interval {STAGING_EXPIRY_HOURS} hour))"
        )
        self.tables.append(table)
        config = bigquery.LoadJobConfig(
            schema=[bigquery.SchemaField(c, kind) for c, kind in columns],
            source_format="CSV",
            skip_leading_rows=1,
            write_disposition="WRITE_APPEND",
            allow_quoted_newlines=True,  # a value may hold a line break
            preserve_ascii_control_characters=True,  # kept as delivered, as on DuckDB
        )
        try:
            with path.open("rb") as handle:
                self.warehouse.client.load_table_from_file(handle, table, job_config=config).result()
        finally:
            path.unlink(missing_ok=True)
        return table


def _ship_play_by_play(con, settings: Settings, directory: Path) -> list[str]:
    """Replace, on BigQuery, the delivered games and the loaded files' earlier rows with the rows
    the local validation wrote, and the files' quarantined rows likewise. Files go in groups
    whose MERGE stays within the literal budget and the partitions a job may modify."""
    canonical = CANONICAL_GAME_ID_SQL.format("game_id")
    files = [
        file for (file,) in con.execute("select target from read_files order by target").fetchall()
    ]
    games_by_file, dates_by_file = {}, {}
    for file, games, dates in con.execute(
        f"select source_file, list(distinct {canonical}), list(distinct game_date)"
        f" from {settings.raw_relation} group by all"
    ).fetchall():
        games_by_file[file], dates_by_file[file] = sorted(games), set(dates)
    groups: list[list[str]] = [[]]
    size = 0
    group_dates: set = set()
    for file in files:
        cost = len(file) + 4 + sum(len(game) + 4 for game in games_by_file.get(file, ()))
        dates = group_dates | dates_by_file.get(file, set())
        if groups[-1] and (size + cost > LITERAL_BUDGET or len(dates) > settings.bq_max_partitions_per_job):
            groups.append([])
            size = 0
            dates = dates_by_file.get(file, set())
        groups[-1].append(file)
        size += cost
        group_dates = dates
    with open_warehouse(settings) as warehouse:
        _ensure_bigquery_tables(
            warehouse,
            settings,
            (settings.raw_relation, games_index_relation(settings), quarantine_relation(settings),
             schedule_relation(settings)),
        )
        for group in groups:
            games = sorted({game for file in group for game in games_by_file.get(file, ())})
            _ship_group(con, warehouse, settings, directory, group, games)
        loaded_dates = warehouse.rows(f"select count(distinct game_date) from {games_index_relation(settings)}")[0][0]
    warning = settings.partition_warning(loaded_dates)
    return [warning] if warning else []


def _ship_group(
    con, warehouse: BigQueryWarehouse, settings: Settings, directory: Path,
    files: list[str], games: list[str],
) -> None:  # fmt: skip
    raw, index = settings.raw_relation, games_index_relation(settings)
    con.execute(
        "create or replace temp table ship_files as select unnest(?::varchar[]) as target", [files]
    )
    shipped = "source_file in (select target from ship_files)"
    new_rows, new_dates = con.execute(
        f"select count(*), list(distinct game_date order by game_date) from {raw} where {shipped}"
    ).fetchone()
    new_dates = new_dates or []
    quarantined = con.execute(f"select count(*) from quarantine_new where {shipped}").fetchone()[0]
    file_list, game_list = _in_list(warehouse, files), _in_list(warehouse, games)
    replaced = (
        f"({warehouse.canonical_game_id('dest.game_id')} in {game_list}"
        f" or dest.source_file in {file_list})"
    )
    columns = [name for name, _ in _RAW_STAGE_COLUMNS]
    quoted = ", ".join(warehouse.quote(name) for name in columns)
    from_stage = ", ".join(f"src.{warehouse.quote(name)}" for name in columns)
    q_columns = [name for name, _ in _QUARANTINE_STAGE_COLUMNS]

    with _Staging(con, warehouse, settings, directory) as staging:
        stage = None
        if new_rows:
            stage = staging.load(
                settings.raw_table,
                _RAW_STAGE_COLUMNS,
                f"select {', '.join(_q(c) for c in columns)} from {raw} where {shipped}"
                " order by source_file, source_row",
            )
        quarantine_source = (
            staging.load(
                QUARANTINE_TABLE,
                _QUARANTINE_STAGE_COLUMNS,
                f"select {', '.join(q_columns)} from quarantine_new where {shipped}"
                " order by source_file, line",
            )
            if quarantined
            else _empty_select(warehouse, _QUARANTINE_STAGE_COLUMNS)
        )
        # The dates the replaced games and files have rows on, from the index: never the raw
        # table, which only the MERGE below reads, on the dates it names.
        old_dates = [
            day
            for (day,) in warehouse.rows(
                f"select distinct game_date from {index}"
                f" where game_id in {game_list} or source_file in {file_list}"
            )
        ]
        if stage:
            index_entries = f"""(
                select {warehouse.canonical_game_id('game_id')} as game_id, game_date, source_file,
                       count(*) as row_count
                from {stage}
                group by 1, 2, 3
            )"""
            warehouse.execute(
                f"""
                insert into {index} (game_id, game_date, source_file, row_count, loaded_at)
                select game_id, game_date, source_file, row_count, current_timestamp()
                from {index_entries}
                """
            )
        else:
            index_entries = _empty_select(warehouse, _INDEX_COLUMNS)
        touched = sorted(set(old_dates) | set(new_dates))
        if len(touched) > settings.bq_max_partitions_per_job:
            raise LoadError(
                f"replacing these games would modify {len(touched):,} partitions of {raw} in one"
                f" job, more than SHOTZONES_BQ_MAX_PARTITIONS_PER_JOB ({settings.bq_max_partitions_per_job:,}):"
                " their earlier rows are on dates the new files do not hold; load fewer files at a time"
            )
        if stage or old_dates:
            warehouse.execute(
                f"""
                merge {raw} as dest
                using {stage or _empty_select(warehouse, _RAW_STAGE_COLUMNS)} as src
                on false
                when not matched by source
                    and dest.game_date in {date_list(touched)}
                    and {replaced}
                    then delete
                when not matched then
                    insert ({quoted}, loaded_at) values ({from_stage}, current_timestamp())
                """
            )
            warehouse.execute(
                f"""
                merge {index} as dest
                using {index_entries} as src
                on false
                when not matched by source
                    and (dest.game_id in {game_list} or dest.source_file in {file_list})
                    then delete
                when not matched then
                    insert (game_id, game_date, source_file, row_count, loaded_at)
                    values (src.game_id, src.game_date, src.source_file, src.row_count,
                            current_timestamp())
                """
            )
        q_values = ", ".join(
            "parse_json(src.row_values)" if name == "row_values" else f"src.{warehouse.quote(name)}"
            for name in q_columns
        )
        warehouse.execute(
            f"""
            merge {quarantine_relation(settings)} as dest
            using {quarantine_source} as src
            on false
            when not matched by source and dest.source_file in {file_list} then delete
            when not matched then
                insert ({', '.join(warehouse.quote(c) for c in q_columns)}, loaded_at)
                values ({q_values}, current_timestamp())
            """
        )


def _empty_select(warehouse: BigQueryWarehouse, columns: tuple[tuple[str, str], ...]) -> str:
    """A MERGE source with the columns and no rows."""
    typed = ", ".join(f"cast(null as {kind}) as {warehouse.quote(name)}" for name, kind in columns)
    return f"(select {typed} from (select 1) where false)"


def _ship_schedule(con, settings: Settings, directory: Path) -> None:
    """Replace, on BigQuery, the schedule rows of the games loaded with the local result."""
    games = [game for (game,) in con.execute("select game_id from schedule_new order by 1").fetchall()]
    columns = [name for name, _ in _SCHEDULE_STAGE_COLUMNS]
    with open_warehouse(settings) as warehouse:
        _ensure_bigquery_tables(warehouse, settings, (schedule_relation(settings),))
        with _Staging(con, warehouse, settings, directory) as staging:
            stage = staging.load(
                SCHEDULE_TABLE, _SCHEDULE_STAGE_COLUMNS,
                f"select {', '.join(columns)} from schedule_new order by game_id",
            )  # fmt: skip
            quoted = ", ".join(warehouse.quote(name) for name in columns)
            warehouse.execute(
                f"""
                merge {schedule_relation(settings)} as dest
                using {stage} as src
                on false
                when not matched by source and dest.game_id in {_in_list(warehouse, games)}
                    then delete
                when not matched then
                    insert ({quoted}, loaded_at)
                    values ({', '.join(f'src.{warehouse.quote(c)}' for c in columns)},
                            current_timestamp())
                """
            )
