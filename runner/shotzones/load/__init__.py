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

Python probes headers and copies small files into bundles (bytes, not rows); the rows are
DuckDB's. One module per concern:

    files.py         finding files, probing their headers, the manifest of files loaded
    reading.py       DuckDB's CSV reader, and the line number of each row it read
    bundles.py       many small files read as a few large ones, each row still knowing its file
    checks.py        value checks; the quarantine (rows held back, values set aside)
    tables.py        the tables' columns, declared once (TABLES), and their DDL on both targets
    play_by_play.py  `load`: read, check and replace games in the raw table
    schedule.py      `load_schedule`
    shipping.py      BigQuery: a load validated in a local DuckDB file, shipped by load job + MERGE
"""

from shotzones.load.checks import (
    CANONICAL_GAME_ID_SQL,
    CLOCK_COLUMNS,
    COORDINATE_COLUMNS,
    GAME_DATE_SQL,
    GATING_COLUMNS,
    INTEGER_COLUMNS,
    PROBLEM_DETAIL_LIMIT,
    SET_ASIDE_SQL,
    SIGNED_CLOCK_COLUMNS,
    Problem,
    value_checks,
)
from shotzones.load.files import (
    CSV_SUFFIXES,
    GZIP_MAGIC,
    MANIFEST_CHUNK,
    SCHEDULE_COLUMNS,
    SCHEDULE_FILE,
    Delta,
    FileState,
    LoadError,
    Rejected,
    changed_files,
    content_hash,
    record_files,
)
from shotzones.load.play_by_play import LoadSummary, ReadProgress, load
from shotzones.load.reading import plainly_named
from shotzones.load.schedule import ScheduleSummary, load_schedule
from shotzones.load.shipping import LITERAL_BUDGET, STAGING_EXPIRY_HOURS
from shotzones.load.tables import (
    GAMES_INDEX_SUFFIX,
    MANIFEST_SUFFIX,
    QUARANTINE_TABLE,
    SCHEDULE_TABLE,
    TABLES,
    bigquery_table_ddl,
    games_index_relation,
    manifest_relation,
    quarantine_relation,
    schedule_relation,
)

__all__ = [
    "CANONICAL_GAME_ID_SQL",
    "CLOCK_COLUMNS",
    "COORDINATE_COLUMNS",
    "CSV_SUFFIXES",
    "GAME_DATE_SQL",
    "GAMES_INDEX_SUFFIX",
    "GATING_COLUMNS",
    "GZIP_MAGIC",
    "INTEGER_COLUMNS",
    "LITERAL_BUDGET",
    "MANIFEST_CHUNK",
    "MANIFEST_SUFFIX",
    "PROBLEM_DETAIL_LIMIT",
    "QUARANTINE_TABLE",
    "SCHEDULE_COLUMNS",
    "SCHEDULE_FILE",
    "SCHEDULE_TABLE",
    "SET_ASIDE_SQL",
    "SIGNED_CLOCK_COLUMNS",
    "STAGING_EXPIRY_HOURS",
    "TABLES",
    "Delta",
    "FileState",
    "LoadError",
    "LoadSummary",
    "Problem",
    "ReadProgress",
    "Rejected",
    "ScheduleSummary",
    "bigquery_table_ddl",
    "changed_files",
    "content_hash",
    "games_index_relation",
    "load",
    "load_schedule",
    "manifest_relation",
    "plainly_named",
    "quarantine_relation",
    "record_files",
    "schedule_relation",
    "value_checks",
]
