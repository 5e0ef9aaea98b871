"""Rebuilding a model beside its live table, then swapping the new version in.

A model whose columns change cannot be rebuilt partition by partition into its table, and a
code change rebuilds every partition anyway: either way readers should keep the previous,
complete version until the new one is built and tested. So the backfill builds the new version
as `<model>__next` (dbt builds it under that name: macros/beside.sql), in the same waves, with
the same tests and the same per-job partition limits as any backfill, its partitions recorded in
the ledger under that name. Every view over the model is built beside it too (`<view>__next`,
contracts and tests included), so a view the new columns break fails here, not in production.
Once every partition is built and tested, the new tables replace the live ones (DuckDB: one
transaction; BigQuery: a table copy each, which BigQuery applies atomically), the ledger's
entries move with them, and the live views are created again from the current code.

A rebuild that stops (a failure, Ctrl-C) leaves the live tables as they were; the next backfill
resumes it if the code and the play-by-play are still what it was building from, and starts it
again otherwise.
"""

from __future__ import annotations

from datetime import date, datetime

from shotzones import dbt, ledger
from shotzones.code import CodeVersion
from shotzones.planning import PLAYER_GAMES, Rebuild
from shotzones.settings import Settings
from shotzones.survey import Survey, beside_suffix
from shotzones.warehouse import Warehouse, open_warehouse


def built_beside(versions: dict[str, CodeVersion], rebuilt: tuple[str, ...]) -> tuple[str, ...]:
    """The models dbt builds under their new versions' names: the rebuilt ones and every view
    that reads one of them, however indirectly."""
    names = set(rebuilt)
    grown = True
    while grown:
        grown = False
        for name, version in versions.items():
            if name not in names and version.materialized == "view" and names & set(version.components["upstream"]):
                names.add(name)
                grown = True
    return tuple(sorted(names))


def begin(wh: Warehouse, survey: Survey, rebuilds: list[Rebuild], run_id: str, at: datetime) -> None:
    """Before the first wave: drop every new version that can no longer be resumed (other code,
    other play-by-play), and record the rebuilds this run starts."""
    suffix = beside_suffix(wh.settings)
    for model in survey.beside.abandoned:
        drop_new_version(wh, model, suffix)
    rows, loaded_at = survey.beside.raw
    for rebuild in rebuilds:
        if rebuild.model not in survey.beside.under_way:
            record = ledger.RebuildUnderWay(rebuild.model, run_id, at, rebuild.why, rows, loaded_at)
            ledger.start_rebuild(wh, record)


def drop_new_version(wh: Warehouse, model: str, suffix: str) -> None:
    wh.drop_table(model + suffix)
    ledger.forget_new_version(wh, model, suffix)


def complete(wh: Warehouse, survey: Survey, rebuilds: list[Rebuild]) -> list[tuple[str, date, str]]:
    """What keeps the new versions from replacing the live tables: (model, date, why) of every
    partition the new version has not built, or failed where the live one is done. A date the
    live table fails too does not hold the swap back (the new version is no worse there)."""
    suffix = beside_suffix(wh.settings)
    entries = ledger.read_entries(wh)
    missing = []
    for rebuild in rebuilds:
        model = rebuild.model
        present = wh.rows(f"select game_date, count(*) from {wh.relation(model + suffix)} group by game_date")
        rows = dict(present) if wh.table_exists(model + suffix) else {}
        for day in survey.dates:
            entry = entries.get((model + suffix, day))
            if entry is None:
                missing.append((model, day, "not built"))
            elif entry.state == "failed" and survey.states[(model, day)].state != "failed":
                missing.append((model, day, entry.error or "failed"))
            elif entry.state == "done" and entry.rows_written != rows.get(day, 0):
                missing.append((model, day, "rows changed since built"))
    return missing


def swap_in(settings: Settings, survey: Survey, rebuilds: list[Rebuild], at: datetime) -> None:
    """Replace the live tables with their new versions, move the ledger's entries with them,
    and create the views again over them."""
    suffix = beside_suffix(settings)
    models = [rebuild.model for rebuild in rebuilds]
    versions = survey.code.current
    views = [name for name in built_beside(versions, tuple(models)) if name not in models]
    with open_warehouse(settings) as wh:
        entries = ledger.read_entries(wh)
        with wh.transaction():
            wh.replace_tables({model + suffix: model for model in models})
            for model in models:
                ledger.rename_entries(wh, {k: e for k, e in entries.items() if k[0] == model + suffix}, model)
                ledger.forget_new_version(wh, model, suffix)
        built = [day for (name, day), e in entries.items() if name == PLAYER_GAMES + suffix and e.state == "done"]
        if built:
            # what the new player-games read: the play-by-play as the survey found it, unchanged
            # since the rebuild began (else it would have started again)
            ledger.record_source_games(wh, built, survey.fingerprints, at)
        for model in models:
            wh.drop_table(model + suffix)  # BigQuery copied it; DuckDB renamed it already
        for view in views:
            wh.drop_view(view + suffix)
    # the live views, from the current code, over the new tables
    dbt.invoke(settings, ["run", "--select", *views], quiet=True)
    with open_warehouse(settings) as wh:
        ledger.record_views(wh, {view: versions[view].fingerprint for view in views}, datetime.now())
