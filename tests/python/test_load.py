"""The loader: DuckDB's CSV reader into the raw table, idempotent per game."""

from __future__ import annotations

import csv
import gzip
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import SEED, query
from shotzones.generate import generate
from shotzones.load import LoadError, load
from shotzones.settings import RAW_COLUMNS, Settings


@pytest.fixture(scope="module")
def one_date(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one-date")
    generate(out, 2022, seasons=1, seed=SEED, max_dates_per_season=3)
    return out


@pytest.fixture
def settings(tmp_path) -> Settings:
    return replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")


def game_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.csv") if p.name != "schedule.csv")


def raw_counts(settings: Settings) -> dict:
    return query(
        settings,
        """
        select count(*) as rows, count(distinct source_file) as files,
               count(distinct (source_file, source_row)) as distinct_rows
        from nba_raw.bigdataball_play_by_play
        """,
    )[0]


def test_loading_twice_changes_nothing(one_date, settings):
    first = load(settings, [one_date])
    assert first.files == len(game_files(one_date)) and first.rows > 2000
    load(settings, [one_date])
    counts = raw_counts(settings)
    assert counts["rows"] == counts["distinct_rows"] == first.rows


def test_source_row_is_the_data_row_of_the_file(one_date, settings):
    load(settings, [one_date])
    path = game_files(one_date)[0]
    with path.open(newline="", encoding="utf-8") as handle:
        delivered = list(csv.DictReader(handle))
    loaded = query(
        settings,
        "select source_row, play_id, description from nba_raw.bigdataball_play_by_play"
        " where source_file = ? order by source_row",
        [str(path.resolve())],
    )
    assert [(r["play_id"], r["description"] or "") for r in loaded] == [
        (r["play_id"], r["description"]) for r in delivered
    ]
    assert [r["source_row"] for r in loaded] == list(range(1, len(delivered) + 1))


def test_a_game_redelivered_in_another_file_replaces_the_old_rows(one_date, settings, tmp_path):
    files = game_files(one_date)
    load(settings, files)
    # the same games again as one season-style file, gzipped, with one game's last row cut
    combined = tmp_path / "2022-2023-combined-stats.csv.gz"
    with gzip.open(combined, "wt", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(RAW_COLUMNS)
        for index, path in enumerate(files):
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))[1:]
            writer.writerows(rows[:-1] if index == 0 else rows)
    summary = load(settings, [combined])
    counts = raw_counts(settings)
    assert counts["files"] == 1, "every game now comes from the combined file alone"
    assert counts["rows"] == summary.rows


def test_a_file_that_is_not_play_by_play_is_refused_by_name(one_date, settings, tmp_path):
    foreign = tmp_path / "box_scores.csv"
    foreign.write_text("game_id,player,points\n0022200001,Someone,12\n")
    with pytest.raises(LoadError) as raised:
        load(settings, [one_date, foreign])
    message = str(raised.value)
    assert "box_scores.csv" in message and "data_set" in message
    assert not settings.duckdb_path.exists() or query(
        settings, "select count(*) as n from information_schema.tables where table_schema = 'nba_raw'"
    )[0]["n"] == 0


def test_a_row_with_an_unreadable_date_is_named_by_file_and_line(one_date, settings, tmp_path):
    path = shutil.copy(game_files(one_date)[0], tmp_path / "broken.csv")
    lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
    fields = next(csv.reader([lines[5]]))
    fields[RAW_COLUMNS.index("date")] = "someday"
    lines[5] = ",".join(f'"{value}"' for value in fields) + "\n"
    Path(path).write_text("".join(lines), encoding="utf-8")
    with pytest.raises(LoadError, match=r"broken\.csv:6: date='someday'"):
        load(settings, [path])
