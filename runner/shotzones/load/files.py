"""Which files to load: finding them, probing each one's header before DuckDB reads it, and the
manifest of files loaded before, so that an unchanged file is not read again."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass
from datetime import datetime
from pathlib import Path

from shotzones.load.tables import MANIFEST, MANIFEST_SUFFIX, column_types, create_table_sql, manifest_relation
from shotzones.settings import Settings
from shotzones.warehouse import open_warehouse

CSV_SUFFIXES = (".csv", ".csv.gz")
# The generator writes its schedule beside the games; a directory load passes over it, and
# `load_schedule` loads it.
SCHEDULE_FILE = "schedule.csv"
SCHEDULE_COLUMNS = ("season", "game_id", "game_date", "away_team", "home_team")
GZIP_MAGIC = b"\x1f\x8b"
# manifest rows per MERGE (BigQuery: 1 MB of SQL)
MANIFEST_CHUNK = 1000


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
class Source:
    """A file whose header passed: how DuckDB should read it."""

    path: Path
    header: tuple[str, ...]  # normalised column names, in file order
    encoding: str  # a DuckDB CSV encoding: utf-8, utf-16 or latin-1
    compressed: bool


class NotLoadable(Exception):
    """A file probed is not what it should be: it is rejected whole (`Rejected`), by this reason."""


# --- finding and probing ------------------------------------------------------------------------


def find_files(
    paths: Iterable[Path], wanted: Callable[[Path], bool], what: str = ".csv or .csv.gz files"
) -> tuple[list[Path], list[Rejected]]:
    """The files named, directories searched recursively for files `wanted` accepts, in a stable
    order; paths that do not exist are rejected."""
    paths = [Path(path) for path in paths]
    found: list[Path] = []
    missing: list[Rejected] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in _files_under(path.resolve()) if wanted(p)))
        elif path.is_file():
            found.append(path.resolve())
        else:
            missing.append(Rejected(path, "no such file or directory"))
    if not found and not missing:
        raise LoadError(f"no {what} found in " + ", ".join(map(str, paths)))
    return list(dict.fromkeys(found)), missing


def _files_under(directory: Path) -> Iterator[Path]:
    """Every file in the (resolved) directory tree, symbolic links resolved. A nightly folder
    holds every file ever delivered: scandir's entries tell files from directories without a
    stat each, and only links need resolving."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir():
                yield from _files_under(Path(entry.path))
            elif entry.is_file():
                yield Path(entry.path).resolve() if entry.is_symlink() else Path(entry.path)


def is_play_by_play_name(path: Path) -> bool:
    return path.name.endswith(CSV_SUFFIXES) and path.name != SCHEDULE_FILE


def is_schedule_name(path: Path) -> bool:
    return path.name in (SCHEDULE_FILE, SCHEDULE_FILE + ".gz")


def _first_line(path: Path) -> tuple[bytes, bool]:
    """The raw bytes of the file's first line (at most 1 MB) and whether it is gzip."""
    try:
        if path.stat().st_size == 0:
            raise NotLoadable("empty file (0 bytes): nothing to load")
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
        raise NotLoadable(f"broken gzip: {error}") from error
    except OSError as error:
        raise NotLoadable(f"cannot be read: {error.strerror or error}") from error
    if not head:
        raise NotLoadable("empty file (nothing inside the gzip): nothing to load")
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


def _probe(path: Path, required: tuple[str, ...], what: str) -> Source:
    head, compressed = _first_line(path)
    text, encoding = _decode_header(head)
    try:
        fields = next(csv.reader([re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]]), [])
    except csv.Error as error:
        raise NotLoadable(f"not a CSV file, the first line does not parse: {error}") from error
    if not any(field.strip() for field in fields):
        raise NotLoadable("no header line: the first line is empty")
    header = tuple(field.strip().lower() or f"column{number}" for number, field in enumerate(fields, 1))
    missing = [column for column in required if column not in header]
    if missing:
        hint = ""
        if what == "play-by-play" and all(c in header for c in SCHEDULE_COLUMNS):
            hint = " (a schedule: load it with `shotzones load-schedule`)"
        raise NotLoadable(f"not BigDataBall {what}, missing columns: {', '.join(missing)}{hint}")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise NotLoadable(f"columns named twice in the header: {', '.join(duplicated)}")
    return Source(path, header, encoding, compressed)


def probe_all(files: list[Path], required: tuple[str, ...], what: str) -> tuple[list[Source], list[Rejected]]:
    """The files whose header holds the `required` columns, and the others, rejected."""
    sources, rejected = [], []
    for path in files:
        try:
            sources.append(_probe(path, required, what))
        except NotLoadable as refusal:
            rejected.append(Rejected(path, str(refusal)))
    return sources, rejected


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


def content_hash(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def changed_files(settings: Settings, files: list[Path], reread: bool = False) -> Delta:
    """Which files to load: a file whose size and modification time match the manifest is
    unchanged; otherwise its content hash decides. Stat and hash are taken before the file is
    read, so a file rewritten during the load looks changed next time, never unchanged."""
    known = {} if reread else _read_manifest(settings)
    to_hash, unchanged = [], 0
    for path in files:
        stat = path.stat()
        entry = known.get(str(path))
        if entry is not None and (entry.size, entry.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            unchanged += 1
        else:
            to_hash.append((path, stat))
    # hashlib lets go of the GIL while it hashes: the files are hashed on every core
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        hashes = list(pool.map(content_hash, [path for path, _ in to_hash]))
    changed, states, touched = [], [], []
    for (path, stat), digest in zip(to_hash, hashes):
        entry = known.get(str(path))
        state = FileState(str(path), stat.st_size, stat.st_mtime_ns, digest)
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
        types = column_types(MANIFEST, settings.target)
        wh.execute(create_table_sql(MANIFEST, settings, settings.target))
        columns = list(types)
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
