"""Reading files with DuckDB's own CSV reader, and numbering the rows it read with their lines.

Line numbers are CSV records, the header being line 1: the file's line number unless a quoted
value holds a line break or an unterminated quote swallowed the lines after it. DuckDB gives
none for the rows it reads: a good row's line is its position among the file's rows, shifted
past the lines the reader rejected, so a blank line inside a file (which the reader skips)
shifts the rows after it by one. `source_row` is a good row's line minus one.
"""

from __future__ import annotations

import itertools
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from shotzones.load.files import Rejected, Source
from shotzones.load.tables import literal, quote


@contextmanager
def plainly_named(sources: list[Source]) -> Iterator[dict[Path, Path]]:
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


class Reader:
    """Reads groups of files into a temp table, with DuckDB's rejects (ragged rows, broken
    quoting, bad encoding) kept in the temp table `read_rejects`. A group that fails outright
    (a broken gzip stream, an unreadable file) is split until the failing file is found alone
    and rejected, so the others still load."""

    def __init__(self, con, table: str, columns: tuple[str, ...], links: dict[Path, Path]):
        self.con, self.table, self.columns, self.links = con, table, columns, links
        self.rejected: list[Rejected] = []
        self._scans = itertools.count()
        quoted_types = ", ".join(f"null::varchar as {quote(name)}" for name in columns)
        con.execute(
            f"create or replace temp table {table} as select {quoted_types},"
            " null::varchar as source_file limit 0"
        )
        con.execute(
            "create or replace temp table read_rejects (link varchar, line bigint,"
            " column_name varchar, error_type varchar, csv_line varchar, error_message varchar)"
        )

    def read(self, sources: list[Source], encoding: str | None = None) -> None:
        groups: dict[tuple, list[Source]] = defaultdict(list)
        for source in sources:
            groups[(source.header, encoding or source.encoding)].append(source)
        for (header, group_encoding), group in groups.items():
            self._read_split(group, header, group_encoding)

    def _read_split(self, group: list[Source], header: tuple[str, ...], encoding: str) -> None:
        try:
            self._read_group(group, header, encoding)
        except duckdb.Error as error:
            if len(group) == 1:
                self.rejected.append(Rejected(group[0].path, self._reason(error, group[0])))
                return
            middle = len(group) // 2
            self._read_split(group[:middle], header, encoding)
            self._read_split(group[middle:], header, encoding)

    def _reason(self, error: duckdb.Error, source: Source) -> str:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        message = message.replace(str(self.links[source.path]), source.path.name)
        if "GZIP" in message.upper() or "zlib" in message:
            return f"broken gzip: {message}"
        return f"cannot be read: {message}"

    def _read_group(self, group: list[Source], header: tuple[str, ...], encoding: str) -> None:
        scan = next(self._scans)
        errors, scans = f"shotzones_rejects_{scan}", f"shotzones_reject_scans_{scan}"
        column_types = "{" + ", ".join(f"{literal(name)}: 'VARCHAR'" for name in header) + "}"
        selected = ", ".join(quote(name) for name in self.columns)
        try:
            self.con.execute(
                f"""
                insert into {self.table}
                select {selected}, filename
                from read_csv(
                    ?, header = true, auto_detect = false, columns = {column_types},
                    delim = ',', quote = '"', escape = '"', filename = true,
                    encoding = {literal(encoding)},
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

    def reread_invalid_utf8(self, sources: list[Source]) -> list[Source]:
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


def number_rows(con, table: str) -> str:
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
    if not has_rejects(con):
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


def register_links(con, links: dict[Path, Path]) -> None:
    """The temp table `link_targets`: each link DuckDB reads (`link`) and its file (`target`)."""
    con.execute(
        "create or replace temp table link_targets as"
        " select unnest(?) as link, unnest(?) as target",
        [[str(link) for link in links.values()], [str(path) for path in links]],
    )


def has_rejects(con) -> bool:
    return bool(con.execute("select count(*) from read_rejects").fetchone()[0])
