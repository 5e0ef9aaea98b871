"""Many small files read as a few large ones: DuckDB's CSV reader pays for each file it opens (a
season's 1,300 game files read 20% faster as one file). A bundle is one file in memory: the
header once, then every file's lines, each led by a field naming its file and line
(`PREFIX_COLUMN`: the number of the file's link, `:`, the line's data row), so that each row
knows its file and line as it is read, and is written once. `resolve` then gives the reader's
rejected lines theirs, so that nothing after the reading can tell a bundle from its files.

A file is bundled when its lines are its records: uncompressed, UTF-8 or Latin-1, line breaks
all LF or all CRLF (written as LF: the reader takes one kind per file), no blank line (which the
reader skips but counts) and an even number of quote characters (an unterminated quote swallows
the lines after it, which in a bundle are the next files'). A value holding a line break breaks
that rule and cannot be seen without parsing: a bundle where a file's records and lines differ
is read again, its files one by one; a bundle the reader cannot read at all makes the load start
over without bundles (play_by_play.py).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from shotzones.load.files import Source

# A bundle holds up to this many bytes; a larger file is read alone, where its per-file cost is
# small beside it. Two bundles exist at a time: one read while the next is written.
BUNDLE_BYTES = 64 << 20
PREFIX_COLUMN = "shotzones_file"
# The field leading each line of a bundle: a control character no delivered value starts with,
# the link's number (plainly_named: its first seven characters), `:` and the data row (line - 1).
PREFIX = "\x1e"
# ... as the reader's columns, beside the rows (reading.py)
LINK_NUMBER_SQL = f"split_part(substr({PREFIX_COLUMN}, 2), ':', 1)"
DATA_ROW_SQL = f"cast(split_part({PREFIX_COLUMN}, ':', 2) as bigint)"


@dataclass
class Bundle:
    path: Path
    sources: list[Source] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # each file's lines after its header


def link_number(link: Path) -> str:
    """The number a link's name begins with (reading.plainly_named)."""
    return link.name[:7]


def bundleable(source: Source) -> bool:
    """Whether the reader could read `source` in a bundle, by what its probe says."""
    return not source.compressed and source.encoding in ("utf-8", "latin-1")


def write_bundles(sources: list[Source], links: dict[Path, Path]) -> tuple[Iterator[Bundle], list[Source]]:
    """The bundles of `sources`, each written while the one before is read and removed once the
    next is asked for; and the files to read alone, complete once the bundles are."""
    alone: list[Source] = []
    directory = next(iter(links.values())).parent
    numbers = itertools.count()

    def fill(pending: Iterator[Source]) -> Bundle | None:
        bundle, written = Bundle(directory / f"bundle-{next(numbers)}.csv"), 0
        with bundle.path.open("wb") as out:
            for source in pending:
                split = _header_and_body(source)
                if split is None:
                    alone.append(source)
                    continue
                header, body = split
                if not bundle.sources:
                    out.write(f"{PREFIX_COLUMN},".encode() + header)
                lines = body.split(b"\n")[:-1]
                prefix = f"{PREFIX}{link_number(links[source.path])}:".encode()
                out.write(b"".join([b"%b%d,%b\n" % (prefix, row, line) for row, line in enumerate(lines, 1)]))
                bundle.sources.append(source)
                bundle.lines.append(len(lines))
                written += len(body)
                if written >= BUNDLE_BYTES:
                    break
        if not bundle.sources:
            bundle.path.unlink()
            return None
        return bundle

    def bundles() -> Iterator[Bundle]:
        pending = iter(sources)
        with ThreadPoolExecutor(max_workers=1) as writer:
            ahead = writer.submit(fill, pending)
            while (bundle := ahead.result()) is not None:
                ahead = writer.submit(fill, pending)
                try:
                    yield bundle
                finally:
                    bundle.path.unlink()

    return bundles(), alone


def _header_and_body(source: Source) -> tuple[bytes, bytes] | None:
    """The file's header line and the lines after it, the last ending in a line break; None
    unless its lines are its records, as far as can be seen without parsing."""
    try:
        if os.path.getsize(source.path) > BUNDLE_BYTES:
            return None
        data = source.path.read_bytes()
    except OSError:  # gone or unreadable since its probe: the reader alone says what it is
        return None
    if b"\r" in data:  # a bundle's line breaks are all alike: \r\n as \n, and no other \r
        if not data.count(b"\r") == data.count(b"\r\n") == data.count(b"\n"):
            return None
        data = data.replace(b"\r\n", b"\n")
    end = data.find(b"\n")
    if end < 0 or data.count(b'"') % 2:
        return None
    body = data[end + 1 :]
    if body.startswith(b"\n") or b"\n\n" in body:
        return None
    return data[: end + 1], body if not body or body.endswith(b"\n") else body + b"\n"


def resolve(con, table: str, rows: str, bundles: list[Bundle], links: dict[Path, Path]) -> list[Bundle]:
    """The reader's rejected lines of `bundles` (in `read_rejects`) given their files' links and
    their lines there, by their prefix. A bundle in which a file's records (the rows of `table`
    matching `rows` that name it, and its rejected lines) are not its lines is returned, its rows
    and rejected lines deleted, for its files to be read alone."""
    _record_bundled(con, bundles, links)
    # A rejected line's file and line are in its prefix (that of the record's first line).
    prefix = f"'^{PREFIX}(\\d{{7}}):(\\d+),'"
    con.execute(
        f"""
        create or replace temp table bundle_rejects as
        select read_rejects.*, bundled.link as file_link,
               cast(regexp_extract(read_rejects.csv_line, {prefix}, 2) as bigint) + 1 as file_line
        from read_rejects
        left join bundled
            on read_rejects.link = bundled.bundle_link
           and regexp_extract(read_rejects.csv_line, {prefix}, 1) = bundled.number
        where read_rejects.link in (select bundle_link from bundled)
        """
    )
    con.execute(
        f"""
        create or replace temp table bundled_records as
        with good as (
            select source_file as target, count(*) as rows
            from {table}
            where {rows} and source_file in (select target from bundled)
            group by all
        ),
        rejected as (
            select file_link as link, count(*) as rejected from bundle_rejects group by all
        )
        select bundled.*, coalesce(good.rows, 0) + coalesce(rejected.rejected, 0) as records
        from bundled left join good using (target) left join rejected using (link)
        """
    )
    broken_links = [
        link
        for (link,) in con.execute(
            """
            select bundle_link from bundled_records where records <> lines
            union
            select link from bundle_rejects where file_link is null
            """
        ).fetchall()
    ]
    if broken_links:
        con.execute(
            f"""
            delete from {table}
            where {rows} and source_file in (
                select target from bundled where bundle_link in (select unnest(?))
            )
            """,
            [broken_links],
        )
    con.execute("delete from read_rejects where link in (select bundle_link from bundled)")
    con.execute(
        f"""
        insert into read_rejects
        select file_link, file_line, column_name, error_type, regexp_replace(csv_line, {prefix}, ''),
               {_without_prefix_column("error_message")}
        from bundle_rejects
        where link not in (select unnest(?))
        """,
        [broken_links],
    )
    return [bundle for bundle in bundles if str(bundle.path) in broken_links]


def _record_bundled(con, bundles: list[Bundle], links: dict[Path, Path]) -> None:
    """Table `bundled`: each bundled file's bundle, number in it, link, path and line count."""
    con.execute(
        "create or replace temp table bundled as select unnest(?) as bundle_link,"
        " unnest(?) as number, unnest(?) as link, unnest(?) as target, unnest(?) as lines",
        [
            list(column)
            for column in zip(
                *(
                    (
                        str(bundle.path),
                        link_number(links[source.path]),
                        str(links[source.path]),
                        str(source.path),
                        lines,
                    )
                    for bundle in bundles
                    for source, lines in zip(bundle.sources, bundle.lines)
                )
            )
        ],
    )


def _without_prefix_column(message: str) -> str:
    """The reader's message for a line of the wrong length, counting the file's columns."""
    counts = r"'^Expected Number of Columns: \d+ Found: \d+'"
    return f"""case when regexp_matches({message}, {counts}) then
        'Expected Number of Columns: '
        || (cast(regexp_extract({message}, 'Columns: (\\d+)', 1) as integer) - 1)
        || ' Found: ' || (cast(regexp_extract({message}, 'Found: (\\d+)', 1) as integer) - 1)
        || regexp_replace({message}, {counts}, '')
        else {message} end"""
