"""Shipping a load to BigQuery.

A load on BigQuery is validated exactly as on DuckDB, by the same code, in a temporary local
DuckDB file: what it writes there (the good rows, the quarantined problems, the schedule) is
then shipped. Per table: one CSV load job into an expiring staging table, one MERGE
(`on false`: delete what the load replaces, insert the new rows), and the staging table is
dropped. No scripting, no INFORMATION_SCHEMA, no query parameters: values are literals.

The raw table is partitioned by game_date and may require a partition filter, so a MERGE can
only delete on the dates it names. A re-delivered game may have moved (a postponed game keeps
its id), and a reloaded file may have held games it no longer holds: their old rows can be on
dates the new files do not hold. A small unpartitioned index, `<raw_table>_games`, holds one
row per (canonical game, file, date) of the raw table and names those dates, so no load scans
the raw table. It gains the new entries before the raw MERGE and loses the replaced ones after
it: whichever statement fails, it holds at least every (game, file, date) of the raw table,
and the next load still finds every old row. Only the loader writes the raw table; an index
lost is rebuilt from the raw table once (the one full scan).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from shotzones.load.checks import CANONICAL_GAME_ID_SQL
from shotzones.load.files import LoadError
from shotzones.load.tables import (
    GAMES_INDEX,
    QUARANTINE,
    QUARANTINE_TABLE,
    RAW,
    SCHEDULE,
    SCHEDULE_TABLE,
    bigquery_table_ddl,
    games_index_relation,
    quarantine_relation,
    quote,
    schedule_relation,
    staging_columns,
)
from shotzones.settings import Settings
from shotzones.warehouse import EVERY_DATE, date_list, duckdb_string, open_warehouse

if TYPE_CHECKING:
    from shotzones.warehouse import BigQueryWarehouse

# BigQuery refuses a query text over 1 MB: a load whose files and games would make longer lists
# is shipped in groups of files, one after the other. The result is the same (each game is in
# one file only, once the validation took it from the latest); only atomicity is per group.
LITERAL_BUDGET = 300_000
STAGING_EXPIRY_HOURS = 24


@contextmanager
def local_validation(settings: Settings) -> Iterator[tuple[Settings, Path]]:
    """DuckDB settings for a temporary warehouse file the validation writes into, and a directory
    for the files shipped from it."""
    with tempfile.TemporaryDirectory(prefix="shotzones-validate-") as directory:
        local = replace(settings, target="duckdb", duckdb_path=Path(directory) / "validate.duckdb")
        yield local, Path(directory)


def _ensure_bigquery_tables(warehouse: BigQueryWarehouse, settings: Settings, relations: Iterable[str]) -> None:
    """The raw dataset (in the configured location) and the tables named, created when missing:
    asked of the tables API first, cheaper than a DDL job each load."""
    from google.cloud import bigquery

    dataset = bigquery.Dataset(f"{warehouse.client.project}.{settings.raw_schema}")
    dataset.location = settings.bq_location
    warehouse.client.create_dataset(dataset, exists_ok=True)
    ddl = bigquery_table_ddl(settings)
    relations = list(relations)
    index = games_index_relation(settings)
    raw_existed = index in relations and warehouse.table_exists(settings.raw_table, settings.raw_schema)
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
                select {warehouse.canonical_game_id("game_id")} as game_id, game_date,
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


def _empty_select(warehouse: BigQueryWarehouse, table: str) -> str:
    """A MERGE source with the shipped columns of `table` and no rows."""
    typed = ", ".join(f"cast(null as {kind}) as {warehouse.quote(name)}" for name, kind in staging_columns(table))
    return f"(select {typed} from (select 1) where false)"


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

    def load(self, what: str, table: str, select: str) -> str:
        """A staging table holding the rows of the local `select` (the shipped columns of
        `table`, in order)."""
        from google.cloud import bigquery

        columns = staging_columns(table)
        name = f"_load_{what}_{uuid.uuid4().hex[:16]}"
        staged = f"{self.settings.raw_schema}.{name}"
        path = self.directory / f"{name}.csv"
        self.con.execute(f"copy ({select}) to {duckdb_string(str(path))} (format csv, header true)")
        definitions = ", ".join(f"{self.warehouse.quote(c)} {kind}" for c, kind in columns)
        self.warehouse.execute(
            f"create table {staged} ({definitions}) options (expiration_timestamp ="
            f" timestamp_add(current_timestamp(), interval {STAGING_EXPIRY_HOURS} hour))"
        )
        self.tables.append(staged)
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
                self.warehouse.client.load_table_from_file(handle, staged, job_config=config).result()
        finally:
            path.unlink(missing_ok=True)
        return staged


# --- play-by-play -------------------------------------------------------------------------------


def ship_play_by_play(con, settings: Settings, directory: Path) -> list[str]:
    """Replace, on BigQuery, the delivered games and the loaded files' earlier rows with the rows
    the local validation wrote, and the files' quarantined rows likewise. Files go in groups
    whose MERGE stays within the literal budget and the partitions a job may modify."""
    canonical = CANONICAL_GAME_ID_SQL.sql(settings).format("game_id")
    files = [file for (file,) in con.execute("select target from read_files order by target").fetchall()]
    games_by_file, dates_by_file = {}, {}
    for file, games, dates in con.execute(
        f"select source_file, list(distinct {canonical}), list(distinct game_date)"
        f" from {settings.raw_relation} group by all"
    ).fetchall():
        games_by_file[file], dates_by_file[file] = sorted(games), set(dates)
    groups = _group_files(files, games_by_file, dates_by_file, settings.bq_max_partitions_per_job)
    with open_warehouse(settings) as warehouse:
        _ensure_bigquery_tables(
            warehouse,
            settings,
            (
                settings.raw_relation,
                games_index_relation(settings),
                quarantine_relation(settings),
                schedule_relation(settings),
            ),
        )
        for group in groups:
            games = sorted({game for file in group for game in games_by_file.get(file, ())})
            _Group(con, warehouse, settings, group, games).ship(directory)
        loaded_dates = warehouse.rows(f"select count(distinct game_date) from {games_index_relation(settings)}")[0][0]
    warning = settings.partition_warning(loaded_dates)
    return [warning] if warning else []


def _group_files(
    files: list[str],
    games_by_file: dict[str, list[str]],
    dates_by_file: dict[str, set],
    max_partitions: int,
) -> list[list[str]]:
    """The files in order, in groups within LITERAL_BUDGET and `max_partitions` new dates."""
    groups: list[list[str]] = [[]]
    size = 0
    group_dates: set = set()
    for file in files:
        cost = len(file) + 4 + sum(len(game) + 4 for game in games_by_file.get(file, ()))
        dates = group_dates | dates_by_file.get(file, set())
        if groups[-1] and (size + cost > LITERAL_BUDGET or len(dates) > max_partitions):
            groups.append([])
            size = 0
            dates = dates_by_file.get(file, set())
        groups[-1].append(file)
        size += cost
        group_dates = dates
    return groups


class _Group:
    """One group of files shipped: their games and files replaced in the raw table, the index
    and the quarantine."""

    def __init__(self, con, warehouse: BigQueryWarehouse, settings: Settings, files: list[str], games: list[str]):
        self.con, self.warehouse, self.settings, self.files = con, warehouse, settings, files
        self.file_list, self.game_list = _in_list(warehouse, files), _in_list(warehouse, games)

    def ship(self, directory: Path) -> None:
        con, warehouse, settings = self.con, self.warehouse, self.settings
        con.execute(
            "create or replace temp table ship_files as select unnest(?::varchar[]) as target",
            [self.files],
        )
        shipped = "source_file in (select target from ship_files)"
        new_rows, new_dates = con.execute(
            f"select count(*), list(distinct game_date order by game_date) from {settings.raw_relation} where {shipped}"
        ).fetchone()
        quarantined = con.execute(f"select count(*) from quarantine_new where {shipped}").fetchone()[0]
        raw_columns = [name for name, _ in staging_columns(RAW)]
        quarantine_columns = [name for name, _ in staging_columns(QUARANTINE)]
        with _Staging(con, warehouse, settings, directory) as staging:
            stage = None
            if new_rows:
                stage = staging.load(
                    settings.raw_table,
                    RAW,
                    f"select {', '.join(quote(c) for c in raw_columns)} from {settings.raw_relation}"
                    f" where {shipped} order by source_file, source_row",
                )
            quarantine_source = (
                staging.load(
                    QUARANTINE_TABLE,
                    QUARANTINE,
                    f"select {', '.join(quarantine_columns)} from quarantine_new where {shipped}"
                    " order by source_file, line",
                )
                if quarantined
                else _empty_select(warehouse, QUARANTINE)
            )
            self._replace_rows(stage, new_dates or [])
            self._replace_quarantine(quarantine_source)

    def _replace_rows(self, stage: str | None, new_dates: list) -> None:
        """The raw MERGE between the index's gaining the new entries and losing the old ones."""
        warehouse, settings = self.warehouse, self.settings
        raw, index = settings.raw_relation, games_index_relation(settings)
        # The dates the replaced games and files have rows on, from the index: never the raw
        # table, which only the MERGE below reads, on the dates it names.
        old_dates = [
            day
            for (day,) in warehouse.rows(
                f"select distinct game_date from {index}"
                f" where game_id in {self.game_list} or source_file in {self.file_list}"
            )
        ]
        index_entries = self._add_index_entries(stage)
        touched = sorted(set(old_dates) | set(new_dates))
        limit = settings.bq_max_partitions_per_job
        if len(touched) > limit:
            raise LoadError(
                f"replacing these games would modify {len(touched):,} partitions of {raw} in one"
                f" job, more than SHOTZONES_BQ_MAX_PARTITIONS_PER_JOB ({limit:,}):"
                " their earlier rows are on dates the new files do not hold; load fewer files at a time"
            )
        if not (stage or old_dates):
            return
        columns = [name for name, _ in staging_columns(RAW)]
        replaced = (
            f"({warehouse.canonical_game_id('dest.game_id')} in {self.game_list}"
            f" or dest.source_file in {self.file_list})"
        )
        warehouse.execute(
            f"""
            merge {raw} as dest
            using {stage or _empty_select(warehouse, RAW)} as src
            on false
            when not matched by source
                and dest.game_date in {date_list(touched)}
                and {replaced}
                then delete
            when not matched then
                insert ({", ".join(warehouse.quote(name) for name in columns)}, loaded_at)
                values ({", ".join(f"src.{warehouse.quote(name)}" for name in columns)},
                        current_timestamp())
            """
        )
        warehouse.execute(
            f"""
            merge {index} as dest
            using {index_entries} as src
            on false
            when not matched by source
                and (dest.game_id in {self.game_list} or dest.source_file in {self.file_list})
                then delete
            when not matched then
                insert (game_id, game_date, source_file, row_count, loaded_at)
                values (src.game_id, src.game_date, src.source_file, src.row_count,
                        current_timestamp())
            """
        )

    def _add_index_entries(self, stage: str | None) -> str:
        """Insert the staged rows' (game, date, file) entries into the index; the query that
        gives them, as a MERGE source."""
        warehouse = self.warehouse
        if not stage:
            return _empty_select(warehouse, GAMES_INDEX)
        index_entries = f"""(
            select {warehouse.canonical_game_id("game_id")} as game_id, game_date, source_file,
                   count(*) as row_count
            from {stage}
            group by 1, 2, 3
        )"""
        warehouse.execute(
            f"""
            insert into {games_index_relation(self.settings)}
                (game_id, game_date, source_file, row_count, loaded_at)
            select game_id, game_date, source_file, row_count, current_timestamp()
            from {index_entries}
            """
        )
        return index_entries

    def _replace_quarantine(self, source: str) -> None:
        warehouse = self.warehouse
        columns = [name for name, _ in staging_columns(QUARANTINE)]
        values = ", ".join(
            "parse_json(src.row_values)" if name == "row_values" else f"src.{warehouse.quote(name)}" for name in columns
        )
        warehouse.execute(
            f"""
            merge {quarantine_relation(self.settings)} as dest
            using {source} as src
            on false
            when not matched by source and dest.source_file in {self.file_list} then delete
            when not matched then
                insert ({", ".join(warehouse.quote(c) for c in columns)}, loaded_at)
                values ({values}, current_timestamp())
            """
        )


# --- the schedule -------------------------------------------------------------------------------


def ship_schedule(con, settings: Settings, directory: Path) -> None:
    """Replace, on BigQuery, the schedule rows of the games loaded with the local result."""
    games = [game for (game,) in con.execute("select game_id from schedule_new order by 1").fetchall()]
    columns = [name for name, _ in staging_columns(SCHEDULE)]
    with open_warehouse(settings) as warehouse:
        _ensure_bigquery_tables(warehouse, settings, (schedule_relation(settings),))
        with _Staging(con, warehouse, settings, directory) as staging:
            stage = staging.load(
                SCHEDULE_TABLE,
                SCHEDULE,
                f"select {', '.join(columns)} from schedule_new order by game_id",
            )
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
                    values ({", ".join(f"src.{warehouse.quote(c)}" for c in columns)},
                            current_timestamp())
                """
            )
