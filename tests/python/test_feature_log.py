"""What the model saw: a replay of nightly `update`s logs every slate as served; training on the
log gives those rows back bit for bit; after a corrected re-delivery and a var change, `skew`
names exactly the rows that differ now and why, and the plain export differs from the served one
on exactly those rows."""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
from conftest import query

from shotzones.backfill import backfill
from shotzones.nightly import update
from shotzones.serving import served_training_set, training_set
from shotzones.settings import MODEL_READY, Settings
from shotzones.skew import BOTH, CODE, DATA, skew
from shotzones.warehouse import connect

BASE_DATES = 8  # loaded before the nights: history for the first slates
NIGHTS = 11  # each loads one date, backfills, and serves (and logs) the next date's slate
KEY = ("game_id", "player_lookup")


def files_by_date(directory: Path) -> dict[date, list[Path]]:
    files: dict[date, list[Path]] = {}
    for path in sorted(directory.rglob("[[]*.csv")):
        files.setdefault(date.fromisoformat(path.name[1:11]), []).append(path)
    return dict(sorted(files.items()))


def arrive(files: list[Path], source: Path, folder: Path) -> None:
    """Files delivered into the nightly folder (hard links, as the bench's nightly run)."""
    for path in files:
        (folder / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
        os.link(path, folder / path.relative_to(source))


@dataclass
class Nights:
    settings: Settings
    folder: Path
    served: dict[tuple, dict]  # (game, player) -> the row as served (the last serve of it)
    slates: list[date]


@pytest.fixture(scope="module")
def nights(generated, tmp_path_factory) -> Nights:
    root = tmp_path_factory.mktemp("nights")
    folder = root / "folder"
    by_date = files_by_date(generated)
    dates = list(by_date)
    folder.mkdir()
    shutil.copy(generated / "schedule.csv", folder / "schedule.csv")
    for day in dates[:BASE_DATES]:
        arrive(by_date[day], generated, folder)
    settings = replace(Settings(), duckdb_path=root / "warehouse.duckdb")
    served: dict[tuple, dict] = {}
    slates = []
    for day in [None, *dates[BASE_DATES : BASE_DATES + NIGHTS]]:  # the first update serves too
        arrive(by_date.get(day, []), generated, folder)
        result = update(settings, [folder])
        assert result.exit_code == 0 and result.serve is not None
        slates.append(result.served.day)
        served |= {tuple(row[k] for k in KEY): row for row in result.served.table.to_pylist()}
    return Nights(settings, folder, served, slates)


def model_ready_now(settings: Settings, keys) -> dict[tuple, dict]:
    rows = query(settings, f"select * from {MODEL_READY}")
    return {tuple(row[k] for k in KEY): row for row in rows if tuple(row[k] for k in KEY) in keys}


def played_and_served(nights: Nights, now: dict[tuple, dict]) -> dict[tuple, dict]:
    return {key: row for key, row in nights.served.items() if key in now}


def differing(nights: Nights, settings: Settings) -> set[tuple]:
    """Independently of `skew`: the served rows of played games whose columns differ now."""
    now = model_ready_now(settings, nights.served.keys())
    return {key for key, row in played_and_served(nights, now).items() if any(row[c] != now[key][c] for c in row)}


def test_every_slate_served_is_logged_and_trained_on_as_served(nights):
    log = query(nights.settings, "select serve_id, command, run_id, served_at from shotzones_served_features")
    assert len({row["serve_id"] for row in log}) == NIGHTS + 1
    assert {row["command"] for row in log} == {"update"} and all(row["run_id"] for row in log)

    assert skew(nights.settings).differences == [], "nothing changed since the serves"
    exported = served_training_set(nights.settings, nights.slates[0], nights.slates[-1])
    rows = {tuple(row[k] for k in KEY): row for row in exported.table.to_pylist()}
    now = model_ready_now(nights.settings, nights.served.keys())
    assert rows.keys() == played_and_served(nights, now).keys()
    for key, row in rows.items():
        assert {c: row[c] for c in nights.served[key]} == nights.served[key], key  # bit for bit
        assert row["actual_fga"] is not None
    played = query(
        nights.settings,
        f"select count(*) as n from int_player_game_shot_zones where game_date between date '{nights.slates[0]}'"
        f" and date '{nights.slates[-1]}'",
    )[0]["n"]
    assert exported.unserved == played - len(rows) > 0, "debutants and returning players: counted, not lost"


def redeliver_with_every_unassisted_make_assisted(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["event_type"].lower() == "shot" and (row["result"] or "").lower() == "made" and not row["assist"]:
            row["assist"] = next(row[c] for c in ("a1", "a2", "h1", "h2") if row[c] and row[c] != row["player"])
    path.unlink()  # a new file in place of the hard link: the generated one stays as it was
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_redelivery_and_a_var_change_are_named_row_by_row(nights, tmp_path):
    # a copy: the module's warehouse stays as the nights left it
    with connect(nights.settings) as con:
        con.execute("checkpoint")
    copy = shutil.copy(nights.settings.duckdb_path, tmp_path / "w.duckdb")
    settings = replace(nights.settings, duckdb_path=Path(copy))
    folder = Path(shutil.copytree(nights.folder, tmp_path / "folder", copy_function=os.link))
    corrected_day = nights.slates[2]
    corrected = sorted(p for p in folder.rglob(f"[[]{corrected_day}]*.csv"))[0]
    game_id = "00" + corrected.name.split("-00")[1][:8]
    redeliver_with_every_unassisted_make_assisted(corrected)
    assert update(settings, [folder]).backfilled.success

    affected = differing(nights, settings)
    assert affected, "the corrected game is inside some served windows"
    report = skew(settings)
    assert {(d.game_id, d.player_lookup) for d in report.differences} == affected
    assert report.counts()[DATA] == len(affected) and report.compared == len(
        played_and_served(nights, model_ready_now(settings, nights.served.keys()))
    )
    for difference in report.differences:
        assert difference.game_date > corrected_day
        assert (game_id, corrected_day) in difference.games or difference.league_games, difference.describe()
    # the plain export differs from the served one on exactly those rows
    plain = {tuple(r[k] for k in KEY): r for r in training_set(settings, nights.slates[0]).table.to_pylist()}
    as_served = {tuple(r[k] for k in KEY): r for r in served_training_set(settings, nights.slates[0]).table.to_pylist()}
    assert {
        key for key, row in as_served.items() if any(row[c] != plain[key][c] for c in nights.served[key])
    } == affected

    # then a var change, for good (rebuilt): every served row with a rate of his own differs now
    per_game = replace(settings, dbt_vars="{rate_method: per_game_mean}")
    assert backfill(per_game).success
    report = skew(per_game)
    changed = {(d.game_id, d.player_lookup): d for d in report.differences}
    assert affected <= changed.keys() and len(changed) > len(affected)
    # both causes where the corrected game is in his window (it changed nothing for some of
    # them, but a change of his data and of the code are both there); the code alone elsewhere
    reads_it = {key for key, d in changed.items() if (game_id, corrected_day) in d.games or d.league_games}
    assert affected <= reads_it
    assert {key for key, d in changed.items() if d.cause == BOTH} == reads_it
    assert {d.cause for key, d in changed.items() if key not in reads_it} == {CODE}
    assert all("var rate_method 'pooled' -> 'per_game_mean'" in " ".join(d.code) for d in changed.values())


def test_the_first_date_has_no_history_and_says_so(nights):
    """On the warehouse's first game date nothing precedes it, not even a league game: its
    values are NULL and not flagged filled; every later value is the player's or the league's."""
    rows = training_set(nights.settings).table.to_pylist()
    first = min(row["game_date"] for row in rows)
    features = [c.removesuffix("_is_filled") for c in rows[0] if c.endswith("_is_filled")]
    for row in rows:
        for feature in features:
            if row["game_date"] == first:
                assert row[feature] is None and row[f"{feature}_is_filled"] is False, row
            else:
                assert row[feature] is not None, row
