"""Serving the props model: the pre-game features of a slate (tonight's games) and
point-in-time training sets. The SQL lives in dbt (`player_pregame_features`,
`player_shot_zone_training_examples`, macros/point_in_time.sql); this module picks the date,
checks that what the rows read is done, and writes the rows out.

Rows come back as an Arrow table from either warehouse and are written through an in-memory
DuckDB, so CSV, JSON Lines and Parquet are written the same way whatever the target."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from shotzones import code, dbt, feature_log, ledger
from shotzones.code import without_warehouse_name
from shotzones.columns import inlined_sql
from shotzones.load.tables import SCHEDULE_TABLE, schedule_relation
from shotzones.planning import FEATURES, PLAYER_GAMES, PartitionState
from shotzones.settings import MODEL_READY, PREGAME, TRAINING, Settings
from shotzones.survey import current_states, loaded_dates
from shotzones.warehouse import Warehouse, open_warehouse

if TYPE_CHECKING:
    import pyarrow

SCHEDULE = "stg_bigdataball__schedule"
# the views serving reads, created by any backfill wave (read through their compiled SQL until then)
SERVING_VIEWS = (
    SCHEDULE,
    "int_league_shot_totals_accumulated",
    PREGAME,
    MODEL_READY,
    TRAINING,
)
FORMATS = ("table", "csv", "json", "parquet")
ENTITY_COLUMNS = ("player_lookup", "as_of_date")
# what `dbt compile --inline` leaves in place of the entities, replaced by their rows
ENTITIES_PLACEHOLDER = "shotzones_entities_placeholder"
# the session variable that narrows player_pregame_features to one date (macro scheduled_for_slate)
SLATE_DATE_VARIABLE = "shotzones_slate_date"


class ServingError(Exception):
    """Nothing to serve: no schedule, no games on the date, a bad entities file (exit 2)."""


class NotReady(Exception):
    """Partitions the rows read are pending, failed or stale (exit 1, unless --allow-stale)."""

    def __init__(self, what: str, unready: list[PartitionState]):
        self.unready = unready
        super().__init__(f"{what} reads partitions that are not done:\n" + "\n".join(describe_ranges(unready)))


@dataclass(frozen=True)
class Rows:
    """What a read returns: the rows, and the partitions they read that were not done (only
    with allow_stale; otherwise NotReady was raised)."""

    table: pyarrow.Table
    unready: list[PartitionState]
    day: date | None = None
    # a training set as served: the played player-games in its range that were never served
    unserved: int | None = None


def describe_ranges(partitions: Iterable[PartitionState]) -> list[str]:
    """`model start..end (N dates): state, reason` lines, consecutive partitions of the same
    model, state and reason grouped into one range."""
    lines: list[str] = []
    run: list[PartitionState] = []

    def flush() -> None:
        if run:
            span = f"{run[0].game_date}..{run[-1].game_date}" if len(run) > 1 else f"{run[0].game_date}"
            count = f" ({len(run)} dates)" if len(run) > 1 else ""
            lines.append(f"  {run[0].model} {span}{count}: {run[0].state}, {run[0].reason}")

    for partition in sorted(partitions, key=lambda p: (p.model, p.game_date)):
        if run and (partition.model, partition.state, partition.reason) != (run[0].model, run[0].state, run[0].reason):
            flush()
            run = []
        run.append(partition)
    flush()
    return lines


def _unready(settings: Settings, wanted, not_done: list[PartitionState] | None = None) -> list[PartitionState]:
    """The partitions `wanted(model, day)` selects that are not done: from `not_done` when the
    caller knows them (a backfill that just finished under the same hold), else surveyed."""
    if not_done is None:
        not_done = [state for state in current_states(settings).states.values() if state.state != "done"]
    return sorted(
        (state for state in not_done if wanted(state.model, state.game_date)),
        key=lambda s: (s.game_date, s.model),
    )


def _views_current(settings: Settings, wh: Warehouse) -> bool:
    """True when every serving view exists as the code and vars compile it now (a backfill
    wave creates them and records their code)."""
    versions = code.current_versions(settings)
    created = ledger.read_views(wh)
    return all(created.get(view) == versions[view].fingerprint and wh.table_exists(view) for view in SERVING_VIEWS)


def _through_compiled_views(settings: Settings, wh: Warehouse, sql: str) -> str:
    """The query with every view it reads replaced by the view's SQL as the project (and its
    vars) compiles now: the tables are read as they are, the views as the code says."""
    compiled, relations = code.compiled_models(settings), code.relations(settings)
    versions = code.current_versions(settings)
    views = {name: relations[name] for name, version in versions.items() if version.materialized == "view"}
    for name in sorted(views, key=len, reverse=True):  # a name never replaced inside a longer one
        for form in {views[name], wh.relation(name)}:
            sql = sql.replace(form, f"(\n{inlined_sql(name, compiled, views)}\n)")
    return sql


def read_served_views(settings: Settings, sql_of, variables: dict | None = None) -> pyarrow.Table:
    """Rows through the serving views; where the warehouse holds other views than the code (or
    `--vars`) makes, or none yet, through their SQL as compiled now. A read changes nothing."""
    with open_warehouse(settings) as wh:
        sql = sql_of(wh)
        if not _views_current(settings, wh):
            sql = _through_compiled_views(settings, wh, sql)
        return wh.arrow(sql, variables)


def _next_slate_date(wh: Warehouse) -> date:
    """The first scheduled date after the latest loaded game date: tonight, in production."""
    latest = loaded_dates(wh)[-1]
    schedule = schedule_relation(wh.settings)
    if (
        not wh.table_exists(SCHEDULE_TABLE, wh.settings.raw_schema)
        or not wh.rows(f"select count(*) from {schedule}")[0][0]
    ):
        raise ServingError(f"no schedule loaded ({schedule} is empty): run `shotzones load-schedule FILE` first")
    day = wh.rows(f"select min(game_date) from {schedule} where game_date > {wh.literal(latest)}")[0][0]
    if day is None:
        raise ServingError(f"no scheduled games after the latest loaded game date in {schedule}: load a newer schedule")
    return day


def pregame_features(
    settings: Settings, day: date | None = None, allow_stale: bool = False, not_done: list[PartitionState] | None = None
) -> Rows:
    """The pre-game rows of every game scheduled on `day` (default: the next slate). They read
    every player-game partition before the day (windows, rosters, league rates), which must be
    done; `not_done` spares the survey that finds those that are not."""
    with open_warehouse(settings) as wh:
        day = day or _next_slate_date(wh)
        schedule = schedule_relation(settings)
        if not wh.table_exists(SCHEDULE_TABLE, settings.raw_schema):
            raise ServingError(
                f"no schedule loaded ({schedule} does not exist): run `shotzones load-schedule FILE` first"
            )
        games = wh.rows(f"select count(*) from {schedule} where game_date = {wh.literal(day)}")[0][0]
    if not games:
        raise ServingError(f"no games scheduled on {day} in {schedule}")
    unready = _unready(settings, lambda model, d: model == PLAYER_GAMES and d < day, not_done)
    if unready and not allow_stale:
        raise NotReady(f"The slate of {day}", unready)
    table = read_served_views(
        settings,
        lambda wh: (
            f"select * from {wh.relation(PREGAME)} where game_date = {wh.literal(day)}"
            " order by game_id, is_home, team_abbr, player_lookup"
        ),
        {SLATE_DATE_VARIABLE: day},
    )
    return Rows(table, unready, day)


def first_games(rows: Rows, games: int) -> Rows:
    """Only the rows of the slate's first `games` games, by game id."""
    import pyarrow as pa  # here: it takes half a second to import, and only this needs it
    import pyarrow.compute as pc

    first = sorted(set(rows.table.column("game_id").to_pylist()))[:games]
    return replace(rows, table=rows.table.filter(pc.is_in(rows.table.column("game_id"), pa.array(first))))


def training_set(
    settings: Settings, start: date | None = None, end: date | None = None, allow_stale: bool = False
) -> Rows:
    """Every played (game, player) from start to end (default: every loaded date): the
    model-ready features and the shot mix of the game itself. They read the features partitions
    of the range and every player-game partition up to its end (league rates)."""

    def in_range(day: date) -> bool:
        return (start is None or day >= start) and (end is None or day <= end)

    unready = _unready(
        settings,
        lambda model, d: (model == PLAYER_GAMES and (end is None or d <= end)) or (model == FEATURES and in_range(d)),
    )
    if unready and not allow_stale:
        raise NotReady("The training set", unready)

    def sql(wh: Warehouse) -> str:
        bounds = [f"game_date >= {wh.literal(start)}"] if start else []
        bounds += [f"game_date <= {wh.literal(end)}"] if end else []
        where = " and ".join(bounds) or "true"
        return f"select * from {wh.relation(TRAINING)} where {where} order by game_date, game_id, player_lookup"

    return Rows(read_served_views(settings, sql), unready)


def served_training_set(
    settings: Settings, start: date | None = None, end: date | None = None, allow_stale: bool = False
) -> Rows:
    """The training set as the props model was served it (feature_log): for every played
    (game, player) from start to end, the last serve of his game's slate, exactly as served,
    with the labels `training_set` gives; `unserved` counts the played ones never served. The
    labels read every player-game partition of the range."""

    def in_range(day: date) -> bool:
        return (start is None or day >= start) and (end is None or day <= end)

    unready = _unready(settings, lambda model, d: model == PLAYER_GAMES and in_range(d))
    if unready and not allow_stale:
        raise NotReady("The training set as served", unready)
    with open_warehouse(settings) as wh:
        if not feature_log.exists(wh):
            raise ServingError(
                f"nothing served yet ({wh.relation(feature_log.LOG)} does not exist):"
                " `shotzones update` logs every slate it serves, `shotzones features --log` one"
            )
        served = [c for c in wh.columns(wh.relation(feature_log.LOG)) if c not in feature_log.METADATA]
        bounds = [f"game_date >= {wh.literal(start)}"] if start else []
        bounds += [f"game_date <= {wh.literal(end)}"] if end else []
        trained_sql = f"select * from {wh.relation(TRAINING)} where {' and '.join(bounds) or 'true'}"
        labels = [c for c in _columns(settings, wh, trained_sql) if c.startswith("actual_")]

    def sql(wh: Warehouse) -> str:
        join = " and ".join(f"served.{c} = trained.{c}" for c in feature_log.KEY)
        return f"""
            with
            served as ({feature_log.last_serves_sql(wh, start, end)}),
            trained as ({trained_sql}),
            found as (
                select
                    {", ".join(f"served.{wh.quote(c)}" for c in served)},
                    {", ".join(f"trained.{c}" for c in labels)},
                    served.serve_id,
                    served.served_at,
                    served.game_id is null as unserved
                from trained left join served on {join}
            )
            select * from found order by game_date, game_id, player_lookup
        """

    import pyarrow.compute as pc  # here: half a second to import, and only this read needs it

    table = read_served_views(settings, sql)
    never = table.column("unserved")
    rows = table.filter(pc.invert(never)).drop_columns(["unserved"])
    return Rows(rows, unready, unserved=pc.sum(never).as_py() or 0)


def _columns(settings: Settings, wh: Warehouse, sql: str) -> list[str]:
    """The columns a query over the serving views returns, as the code compiles them now."""
    if not _views_current(settings, wh):
        sql = _through_compiled_views(settings, wh, sql)
    return list(wh.query_column_types(sql))


def read_entities(path: Path) -> list[tuple[str, date]]:
    """The rows of an entities CSV (player_lookup, as_of_date YYYY-MM-DD); a bad one names its line."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ENTITY_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ServingError(f"{path}: the header lacks {', '.join(missing)} (needs {', '.join(ENTITY_COLUMNS)})")
            rows = []
            for line, row in enumerate(reader, start=2):
                player, as_of = (row["player_lookup"] or "").strip(), (row["as_of_date"] or "").strip()
                try:
                    day = date.fromisoformat(as_of)
                except ValueError:
                    raise ServingError(f"{path}:{line}: as_of_date {as_of!r} is not a YYYY-MM-DD date") from None
                if not player:
                    raise ServingError(f"{path}:{line}: player_lookup is empty")
                rows.append((player, day))
    except OSError as error:
        raise ServingError(f"{path}: {error.strerror or error}") from error
    if not rows:
        raise ServingError(f"{path}: no entity rows")
    return rows


def _point_in_time_sql(settings: Settings) -> str:
    """The point-in-time macro compiled over a placeholder for the entities."""
    invocation = dbt.invoke(
        settings,
        # --log-level none: compile prints the SQL it compiled
        ["compile", "--log-level", "none", "--inline", f"{{{{ point_in_time_features('{ENTITIES_PLACEHOLDER}') }}}}"],
    )
    node = invocation.result.results[0].node
    return without_warehouse_name(node.compiled_code, node.database)


def historical_features(settings: Settings, entities: list[tuple[str, date]], allow_stale: bool = False) -> Rows:
    """Feast's historical read: for each (player_lookup, as_of_date), the model-ready features
    over that player's games strictly before the date, whether or not he played that day; a
    player never seen gets an empty window. Rows in the order given."""
    last = max(day for _, day in entities)
    unready = _unready(settings, lambda model, d: model == PLAYER_GAMES and d < last)
    if unready and not allow_stale:
        raise NotReady(f"Entities up to {last}", unready)
    compiled = _point_in_time_sql(settings)

    def sql(wh: Warehouse) -> str:
        values = wh.rows_as_select(
            ("entity_row", *ENTITY_COLUMNS),
            [(number, player, day) for number, (player, day) in enumerate(entities)],
            {"entity_row": wh.types["int"], "player_lookup": wh.types["string"], "as_of_date": wh.types["date"]},
        )
        body = compiled.replace(ENTITIES_PLACEHOLDER, f"({values}) as entities")
        return f"select * from ({body}) as features order by entity_row"

    return Rows(read_served_views(settings, sql).drop_columns(["entity_row"]), unready)


def write(table: pyarrow.Table, fmt: str, out: Path) -> None:
    """CSV with a header, JSON Lines, or Parquet, written by DuckDB; NULL stays NULL (an empty
    CSV field, JSON null)."""
    con = duckdb.connect()
    try:
        con.register("result", table)
        options = {"csv": "format csv, header true", "json": "format json", "parquet": "format parquet"}[fmt]
        con.execute(f"copy result to '{str(out).replace(chr(39), chr(39) * 2)}' ({options})")
    finally:
        con.close()
