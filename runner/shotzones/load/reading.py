"""Reading files with DuckDB's own CSV reader, and numbering the rows it read with their lines.

Line numbers are CSV records, the header being line 1: the file's line number unless a quoted
value holds a line break or an unterminated quote swallowed the lines after it. A row read in a
bundle carries its line (bundles.py: such files' lines are their records). DuckDB gives none for
the rows of a file read alone: a good row's line is its position among the file's rows, shifted
past the lines the reader rejected, so a blank line inside such a file (which the reader skips)
shifts the rows after it by one. `source_row` is a good row's line minus one.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import duckdb

from shotzones.load.bundles import (
    DATA_ROW_SQL,
    LINK_NUMBER_SQL,
    PREFIX_COLUMN,
    Bundle,
    bundleable,
    resolve,
    write_bundles,
)
from shotzones.load.files import Rejected, Source
from shotzones.warehouse import duckdb_string


@contextmanager
def plainly_named(sources: list[Source]) -> Iterator[dict[Path, Path]]:
    """Links with plain names to the files, for DuckDB to read.

    DuckDB treats every path it reads as a glob pattern, and the BigDataBall naming
    `[2021-10-19]-0022100001-CLE@CHI.csv` holds a character class: resolving each name lists its
    whole directory, which is quadratic (25 s of a 30 s budget for three seasons' files). The
    link's suffix also tells DuckDB whether to decompress, from the file's content, not its name.
    """
    with tempfile.TemporaryDirectory(prefix="shotzones-load-", dir=_memory_directory()) as directory:
        links = {}
        for number, source in enumerate(sources):
            link = Path(directory) / f"{number:07d}{'.csv.gz' if source.compressed else '.csv'}"
            link.symlink_to(source.path)
            links[source.path] = link
        yield links


def _memory_directory() -> str | None:
    """A directory in memory for the links, where there is one: making and removing a link on a
    disk file system costs 0.4 ms, 17 s for thirty seasons' files (0.2 s in memory)."""
    shared_memory = "/dev/shm"
    return shared_memory if os.path.isdir(shared_memory) and os.access(shared_memory, os.W_OK) else None


# called with the files of a bundle or group read and the rows they wrote
OnGroup = Callable[[int, int], None]


class UnreadableGroup(Exception):
    """DuckDB could not read a group of files at all (a broken gzip stream, an unreadable file)
    inside a transaction, which that aborts: roll back, then `unreadable(group)`."""

    def __init__(self, group: list[Source], encoding: str, error: duckdb.Error):
        super().__init__(str(error))
        self.group, self.encoding, self.error = group, encoding, error


class Reader:
    """Reads groups of files with `insert into {table} select {select} from read_csv(...)`:
    `select` names the header's columns and `filename` (the link read). DuckDB's rejects
    (ragged rows, broken quoting, bad encoding) go to the temp table `read_rejects`. A group that
    fails outright is split until each failing file is found alone and rejected, so the others
    still load; inside a transaction (`in_transaction`), which the failure aborts, the group is
    raised as UnreadableGroup instead. There, with `bundle`, small files are read in bundles
    (bundles.py), and `rows` picks the rows of `table` it writes."""

    def __init__(
        self,
        con,
        table: str,
        select: str,
        links: dict[Path, Path],
        in_transaction: bool = False,
        bundle: bool = False,
        rows: str = "true",
    ):
        self.con, self.table, self.select, self.links = con, table, select, links
        self.in_transaction = in_transaction
        self.bundle = bundle and in_transaction  # a failing bundle leaves rows, unless rolled back
        self.rows = rows
        self.rejected: list[Rejected] = []
        self._scans = itertools.count()
        con.execute(
            "create or replace temp table read_rejects (link varchar, line bigint,"
            " column_name varchar, error_type varchar, csv_line varchar, error_message varchar)"
        )

    def read(
        self, sources: list[Source], encoding: str | None = None, on_group: OnGroup = lambda files, rows: None
    ) -> None:
        """`on_group(files, rows)` after each bundle or group of files read: how many files it
        held and the rows it wrote (the files read again, alone, are not counted twice)."""
        read_in_bundles: list[tuple[Bundle, tuple[str, ...], str]] = []
        self._read(sources, encoding, read_in_bundles, on_group)
        if read_in_bundles:
            bundles = [bundle for bundle, _, _ in read_in_bundles]
            broken = resolve(self.con, self.table, self.rows, bundles, self.links)
            for bundle, header, group_encoding in read_in_bundles:
                if bundle in broken:
                    try:
                        self._read_files([self.links[s.path] for s in bundle.sources], header, group_encoding)
                    except duckdb.Error as error:  # bundles are read in a transaction only
                        raise UnreadableGroup(bundle.sources, group_encoding, error) from error

    def _read(self, sources: list[Source], encoding: str | None, read_in_bundles: list, on_group: OnGroup) -> None:
        groups: dict[tuple, list[Source]] = defaultdict(list)
        for source in sources:
            groups[(source.header, encoding or source.encoding)].append(source)
        for (header, group_encoding), group in groups.items():
            try:
                self._read_group(group, header, group_encoding, read_in_bundles, on_group)
            except duckdb.Error as error:
                if self.in_transaction:
                    raise UnreadableGroup(group, group_encoding, error) from error
                found = unreadable(self.con, self.links, group, group_encoding)
                if not found:
                    raise
                self.rejected += found
                failed = {r.path for r in found}
                self._read([s for s in group if s.path not in failed], encoding, read_in_bundles, on_group)

    def _read_group(
        self, group: list[Source], header: tuple[str, ...], encoding: str, read_in_bundles: list, on_group: OnGroup
    ) -> None:
        alone = group
        if self.bundle:
            bundles, unbundled = write_bundles([s for s in group if bundleable(s)], self.links)
            with closing(bundles):  # on a failure, the bundle being written is done with here
                for bundle in bundles:
                    rows = self._read_files([bundle.path], header, encoding, bundled=True)
                    read_in_bundles.append((bundle, header, encoding))
                    on_group(len(bundle.sources), rows)
            alone = [s for s in group if not bundleable(s)] + unbundled
        if alone:
            on_group(len(alone), self._read_files([self.links[s.path] for s in alone], header, encoding))

    def _read_files(self, paths: list[Path], header: tuple[str, ...], encoding: str, bundled: bool = False) -> int:
        """The rows written."""
        scan = next(self._scans)
        errors, scans = f"shotzones_rejects_{scan}", f"shotzones_reject_scans_{scan}"
        columns = ((PREFIX_COLUMN,) if bundled else ()) + header
        column_types = "{" + ", ".join(f"{duckdb_string(name)}: 'VARCHAR'" for name in columns) + "}"
        # the link's number and the row's data row; 0: to be numbered (number_rows)
        link_number, data_row = (
            (LINK_NUMBER_SQL, DATA_ROW_SQL) if bundled else ("left(parse_filename(filename), 7)", "0")
        )
        try:
            (rows,) = self.con.execute(
                f"""
                insert into {self.table}
                select {self.select}
                from (
                    select *, {link_number} as link_number, {data_row} as data_row
                    from read_csv(
                        ?, header = true, auto_detect = false, columns = {column_types},
                        delim = ',', quote = '"', escape = '"', filename = true,
                        encoding = {duckdb_string(encoding)},
                        store_rejects = true, rejects_table = '{errors}', rejects_scan = '{scans}'
                    )
                )
                """,
                [[str(path) for path in paths]],
            ).fetchone()
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
        except duckdb.Error:
            if not self.in_transaction:  # an aborted transaction takes them with it
                self._drop(errors, scans)
            raise
        self._drop(errors, scans)
        return rows

    def _drop(self, *tables: str) -> None:
        for table in tables:
            self.con.execute(f"drop table if exists {table}")

    def reread_invalid_utf8(self, sources: list[Source], delete_read: str) -> list[Source]:
        """Files DuckDB found not to be UTF-8, read again whole as Latin-1: `delete_read`, a
        statement over the links in `?`, deletes what was read of them first."""
        invalid = {
            link
            for (link,) in self.con.execute(
                "select distinct link from read_rejects where error_type = 'INVALID ENCODING'"
            ).fetchall()
        }
        again = [s for s in sources if s.encoding == "utf-8" and str(self.links[s.path]) in invalid]
        if again:
            links = [str(self.links[s.path]) for s in again]
            self.con.execute(delete_read, [links])
            self.con.execute("delete from read_rejects where link in (select unnest(?))", [links])
            self.read(again, encoding="latin-1")
        return again


def unreadable(con, links: dict[Path, Path], group: list[Source], encoding: str) -> list[Rejected]:
    """The files of `group` DuckDB cannot read at all, each alone, found by halving the group
    with reads that count rows and write nothing."""
    try:
        con.execute(
            f"select count(*) from read_csv(?, header = true, all_varchar = true,"
            f" encoding = {duckdb_string(encoding)}, ignore_errors = true)",
            [[str(links[source.path]) for source in group]],
        )
        return []
    except duckdb.Error as error:
        if len(group) == 1:
            return [Rejected(group[0].path, _reason(error, str(links[group[0].path]), group[0].path))]
        middle = len(group) // 2
        return unreadable(con, links, group[:middle], encoding) + unreadable(con, links, group[middle:], encoding)


def _reason(error: duckdb.Error, link: str, path: Path) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    message = message.replace(link, path.name)
    if "GZIP" in message.upper() or "zlib" in message:
        return f"broken gzip: {message}"
    return f"cannot be read: {message}"


def number_rows(con, table: str, rows: str = "true") -> None:
    """The line numbers of the rows of `table` matching `rows`, as a Reader read them (its
    `source_file` being TARGET): the temp table `line_starts` (each file's first rowid) and,
    when the reader rejected lines, `line_shifts` (rowid, lines to add). Rows are in file
    order, so a row's position among its file's rows is its data row (line - 1), shifted past
    the lines the reader rejected before it: only the rows of files with rejected lines are
    shifted. `row_line_sql` is a row's data row from these."""
    con.execute(
        f"""
        create or replace temp table line_starts as
        select source_file, min(rowid) as first_rowid
        from {table}
        where {rows}
        group by source_file
        """
    )
    # The j-th rejected line of a file (data row p_j) is skipped by every good row at position
    # k >= p_j - (j - 1): a good row's data row is k plus the largest such j.
    con.execute(
        f"""
        create or replace temp table line_shifts as
        with rejected_rows as (
            select target as source_file, line - 1 as data_row,
                   row_number() over (partition by target order by line) as skipped
            from (select distinct link, line from read_rejects) inner join link_targets using (link)
        ),
        thresholds as (
            select source_file, data_row - skipped + 1 as threshold, max(skipped) as skips
            from rejected_rows
            group by source_file, data_row - skipped + 1
        ),
        positions as (
            select {table}.rowid as rid, source_file, {table}.rowid - first_rowid + 1 as position
            from {table} inner join line_starts using (source_file)
            where {rows} and source_file in (select source_file from thresholds)
        )
        select positions.rid, thresholds.skips
        from positions asof inner join thresholds
            on positions.source_file = thresholds.source_file and positions.position >= thresholds.threshold
        """
    )


def numbered_rows(con, table: str) -> str:
    """A FROM clause over the temp `table` a Reader filled, adding `source_row` (number_rows)."""
    number_rows(con, table)
    return f"""(
        select {table}.*, {table}.rowid - first_rowid + 1 + coalesce(skips, 0) as source_row
        from {table}
        inner join line_starts using (source_file)
        left join line_shifts on {table}.rowid = line_shifts.rid
    )"""


# The file a Reader's row came from, by the number in its link's name (plainly_named), which it
# reads beside each row: no join, so the rows keep their order.
TARGET = "getvariable('shotzones_link_targets')[cast(link_number as integer) + 1]"
# The row's data row (its line - 1) when its bundle said so; else 0, for number_rows.
DATA_ROW = "data_row"


def register_links(con, links: dict[Path, Path]) -> None:
    """The temp table `link_targets`: each link DuckDB reads (`link`) and its file (`target`);
    and the files in link order, for TARGET."""
    con.execute(
        "create or replace temp table link_targets as select unnest(?) as link, unnest(?) as target",
        [[str(link) for link in links.values()], [str(path) for path in links]],
    )
    con.execute("set variable shotzones_link_targets = (select list(target order by link) from link_targets)")
