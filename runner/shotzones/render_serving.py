"""What the serving commands (`features`, `export`, `skew`) and the nightly job (`update`) show:
the rows (a table, or a file's contents on stdout), the serving warnings, the skew report, and
each step of an update as it finishes. The shared pieces are render.py's."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from rich import filesize
from rich.table import Table

from shotzones import render
from shotzones.backfill import Options
from shotzones.cost import TIB
from shotzones.feature_log import Serve
from shotzones.nightly import Step, UpdateResult
from shotzones.render import console, count, emit, utc, warn
from shotzones.serving import Rows, describe_ranges, write
from shotzones.settings import Feature, Settings
from shotzones.skew import SkewReport

# said after the partitions a read needs that are not done (exit 1)
NOT_READY_HINT = "Run `shotzones backfill` first, or pass --allow-stale to serve anyway."


# --- rows served -------------------------------------------------------------------------------


def served_anyway(rows: Rows) -> None:
    """On stderr, the partitions the rows read that were not done (--allow-stale)."""
    if rows.unready:
        warn(
            f"warning: served with {count(len(rows.unready), 'partition')} not done (--allow-stale):\n"
            + "\n".join(describe_ranges(rows.unready))
        )


def logged(serve: Serve) -> None:
    warn(f"Logged as served: serve {serve.serve_id}, {count(serve.rows, 'row')}")


def rows(served: Rows, fmt: str, out: Path | None, title: str, settings: Settings) -> None:
    """The rows as a table, written to `out` (said on stderr), or in `fmt` on stdout."""
    if fmt == "table":
        _slate(served, title, settings.model_features)
    elif out is not None:
        write(served.table, fmt, out)
        warn(f"{title}: {served.table.num_rows:,} rows written to {out}")
    else:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / f"rows.{fmt}"
            write(served.table, fmt, path)
            click.echo(path.read_text(encoding="utf-8"), nl=False)


def unserved(served: Rows) -> None:
    warn(f"{count(served.unserved, 'player-game')} played in the range but never served: not in the file")


def _slate(served: Rows, title: str, features: list[Feature]) -> None:
    data = served.table.to_pylist()
    games = len({row["game_id"] for row in data})
    filled = any(row[f"{feature.name}_is_filled"] for row in data for feature in features)
    table = Table(
        "game",
        "team",
        "vs",
        "player",
        *(feature.label for feature in features),
        "games",
        title=f"{title}: {count(games, 'game')}, {count(len(data), 'player')}",
        caption="* league rate: no window of his own" if filled else None,
    )
    for row in data:
        cells = [
            "" if row[f.name] is None else f"{row[f.name]:.1f}" + ("*" if row[f"{f.name}_is_filled"] else "")
            for f in features
        ]
        opponent = ("vs " if row["is_home"] else "@ ") + (row["opponent_abbr"] or "")
        table.add_row(
            row["game_id"], row["team_abbr"], opponent, row["player_lookup"], *cells, str(row["games_in_window"])
        )
    console.print(table)


# --- skew --------------------------------------------------------------------------------------


def skew(report: SkewReport, shown: int, as_json: bool) -> None:
    """Per differing row (worst first, `shown` of them; 0: every one under --json) what differs
    and why, and the counts per cause."""
    if as_json:
        for difference in report.differences[:shown] if shown else report.differences:
            emit(
                "difference",
                game_id=difference.game_id,
                player_lookup=difference.player_lookup,
                date=difference.game_date.isoformat(),
                serve_id=difference.serve_id,
                served_at=utc(difference.served_at),
                columns={name: {"served": s, "now": n} for name, (s, n) in difference.columns.items()},
                cause=difference.cause,
                games=[{"game_id": g, "date": d.isoformat()} for g, d in difference.games],
                league_games=difference.league_games,
                code=difference.code,
            )
        emit(
            "skew",
            compared=report.compared,
            serves=report.serves,
            differing=len(report.differences),
            causes=report.counts(),
        )
        return
    say = render.plain
    say(
        f"Compared {count(report.compared, 'served player-game')} who played ({count(report.serves, 'serve')}):"
        f" {len(report.differences):,} differ from what the warehouse gives now"
    )
    for cause, number in report.counts().items():
        if number:
            say(f"  {cause}: {number:,}")
    for difference in report.differences[:shown]:
        say(difference.describe())
    if len(report.differences) > shown:
        say(f"... and {len(report.differences) - shown:,} more (--rows N, or --json)")


# --- the nightly job ---------------------------------------------------------------------------


def update_step(step: Step, settings: Settings, serve_out: Path | None, as_json: bool) -> None:
    """One step of `update`, said as it finishes (an event each under --json)."""
    result = step.result
    if step.name == "schedule" and result.schedule is not None:
        render.schedule_loaded(result.schedule, settings, as_json, step=True)
    elif step.name == "load":
        render.loaded(result.loaded, settings, as_json)
    elif step.name == "rebuild":
        _rebuilds(result, settings, as_json)
    elif step.name == "backfill":
        _backfilled(result, as_json)
    elif step.name == "serve":
        _served(result, serve_out, as_json)


def _rebuilds(result: UpdateResult, settings: Settings, as_json: bool) -> None:
    """What update rebuilds for a code or var change, said before it runs (and on BigQuery
    what it would cost, and whether it runs)."""
    cost = {}
    if result.rebuild_bytes is not None:
        cost = {"bytes": result.rebuild_bytes, "dollars": result.rebuild_bytes / TIB * settings.bq_price_per_tib}
    for rebuild in result.rebuilds:
        if as_json:
            emit(
                "rebuild",
                model=rebuild.model,
                reason=rebuild.why,
                partitions=rebuild.partitions,
                allowed=result.rebuild_allowed,
                **cost,
            )
        else:
            render.plain(f"Rebuild: {rebuild.why}: {count(rebuild.partitions, 'partition')}, beside the live table")
    if cost and not as_json:
        estimate = f"{filesize.decimal(cost['bytes'])} scanned, about ${cost['dollars']:.2f}"
        if result.rebuild_allowed:
            render.plain(f"Rebuild on BigQuery, estimated from dry runs: {estimate}")
        else:
            warn(
                f"Not rebuilt: on BigQuery a rebuild for a code or var change is billed ({estimate}, from dry runs)."
                " Run `shotzones update --allow-rebuild` or `shotzones backfill` to build it."
            )


def _backfilled(result: UpdateResult, as_json: bool) -> None:
    run = result.backfilled
    if as_json:
        emit(
            "backfilled",
            run_id=run.run_id,
            done=run.done,
            failed=len(run.failed),
            seconds=round(run.seconds, 3),
            outcome=run.outcome,
            swapped=run.swapped,
        )
    elif run.declined:
        render.plain("Backfill: not run, nothing built (above: the rebuild it would have run)")
    elif not run.planned:
        render.plain(f"Backfill: {render.NOTHING_PENDING}.")
    else:
        render.plain(
            f"Backfill: {count(run.done, 'partition')} built, {len(run.failed):,} failed in {run.seconds:.1f} s"
            f" (run {run.run_id})"
        )
        render.failures(run.failed)
        render.swapped(run, Options())


def _served(result: UpdateResult, serve_out: Path | None, as_json: bool) -> None:
    served = result.served
    if served is None:
        if as_json:
            emit("serve_skipped", reason=result.serve_note, failed=result.serve_failed)
        elif result.serve_failed:
            warn(result.serve_note)
        else:
            render.plain(result.serve_note)
        return
    games = len(set(served.table.column("game_id").to_pylist()))
    if as_json:
        emit(
            "served",
            date=served.day.isoformat(),
            games=games,
            rows=served.table.num_rows,
            out=str(serve_out) if serve_out else None,
            serve_id=result.serve.serve_id,
            log_seconds=round(result.serve.seconds, 3),
        )
        return
    where = f" to {serve_out}" if serve_out else ""
    render.plain(
        f"Served the slate of {served.day}: {count(games, 'game')}, {count(served.table.num_rows, 'player')}{where}"
        f" (logged as serve {result.serve.serve_id} in {result.serve.seconds:.2f} s)"
    )


def update_finished(result: UpdateResult, as_json: bool) -> None:
    if as_json:
        emit("finished", exit_code=result.exit_code, seconds=round(result.seconds, 3))
    else:
        render.plain(f"update finished in {result.seconds:.1f} s, exit code {result.exit_code}")
