"""The loader: DuckDB's CSV reader into the raw table, idempotent per game; bad files rejected
whole, bad rows quarantined, the rest loaded."""

from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEED, query

from shotzones.cli import main
from shotzones.generate import generate
from shotzones.load import LoadError, load, load_schedule
from shotzones.settings import RAW_COLUMNS, Settings

QUARANTINE = "nba_raw.bigdataball_play_by_play_quarantine"


@pytest.fixture(scope="module")
def one_date(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one-date")
    generate(out, 2022, seasons=1, seed=SEED, max_dates_per_season=3)
    return out


@pytest.fixture
def settings(tmp_path) -> Settings:
    return replace(Settings(), duckdb_path=tmp_path / "warehouse.duckdb")


@pytest.fixture
def cli(settings, monkeypatch):
    """Run `shotzones ...` against the test's warehouse."""
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(settings.duckdb_path))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [str(arg) for arg in args])


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


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def copy_with(source: Path, target: Path, changes: dict[int, dict[str, str]]) -> Path:
    """A copy of `source` with values changed: {line number (header = 1): {column: value}}."""
    rows = read_rows(source)
    for line, values in changes.items():
        for column, value in values.items():
            rows[line - 1][RAW_COLUMNS.index(column)] = value
    return write_rows(target, rows)


def loaded_rows(settings: Settings, path: Path) -> list[dict]:
    return query(
        settings,
        "select * from nba_raw.bigdataball_play_by_play where source_file = ? order by source_row",
        [str(path.resolve())],
    )


def quarantined(settings: Settings) -> list[dict]:
    return query(settings, f"select * from {QUARANTINE} order by source_file, line, column_name")


# --- good data ---------------------------------------------------------------------------------


def test_loading_twice_changes_nothing(one_date, settings):
    first = load(settings, [one_date])
    assert first.files == len(game_files(one_date)) and first.rows > 2000
    assert first.exit_code == 0 and not first.rejected and not first.quarantined_rows
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


def test_the_cli_exits_0_when_everything_loads(one_date, cli):
    result = cli("load", one_date)
    assert result.exit_code == 0, result.output
    assert re.search(r"Loaded [\d,]+ rows of \d+ games", result.output)
    assert "quarantined" not in result.output and "rejected" not in result.output


def test_a_load_says_the_files_and_rows_read_as_it_goes(one_date, cli):
    """After each bundle or group of files read: a `read` event under --json (and nothing but
    events), a plain line in a pipe."""
    files = len(game_files(one_date))
    as_json = cli("load", "--json", one_date)
    assert as_json.exit_code == 0, as_json.output
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    *reads, last = events
    assert reads and {e["event"] for e in reads} == {"read"} and last["event"] == "loaded"
    assert all(e["at"].endswith("Z") for e in events)
    assert (reads[-1]["files"], reads[-1]["of"], reads[-1]["rows"]) == (files, files, last["rows"])
    assert last["files"] == files and last["rows"] > 0
    piped = cli("load", "--all", one_date)
    assert piped.exit_code == 0, piped.output
    said = [line for line in piped.stdout.splitlines() if re.match(r"\d\d:\d\d:\d\d read ", line)]
    assert said and said[-1].endswith(f" read {files} of {files} files, {last['rows']:,} rows"), piped.stdout


# --- files rejected whole ------------------------------------------------------------------------


def test_a_file_that_is_not_play_by_play_is_rejected_by_name_and_the_others_load(one_date, settings, tmp_path, cli):
    foreign = tmp_path / "box_scores.csv"
    foreign.write_text("game_id,player,points\n0022200001,Someone,12\n")
    summary = load(settings, [one_date, foreign])
    assert summary.exit_code == 2
    [rejected] = summary.rejected
    assert rejected.path == foreign
    assert "box_scores.csv" in rejected.describe() and "data_set" in rejected.describe()
    assert "missing columns" in rejected.reason and "game_id" not in rejected.reason
    # the good files of the same call all loaded, nothing of the foreign one
    assert summary.files == len(game_files(one_date))
    assert raw_counts(settings)["files"] == len(game_files(one_date))
    assert not query(settings, "select * from nba_raw.bigdataball_play_by_play where player = 'Someone'")

    result = cli("load", one_date, foreign)
    assert result.exit_code == 2
    assert re.search(
        r"rejected .*box_scores\.csv: not BigDataBall play-by-play, missing columns: data_set, date", result.output
    )
    assert "Traceback" not in result.output


def test_only_a_foreign_file_writes_nothing(settings, tmp_path, cli):
    foreign = tmp_path / "box_scores.csv"
    foreign.write_text("game_id,player,points\n0022200001,Someone,12\n")
    result = cli("load", foreign)
    assert result.exit_code == 2 and "box_scores.csv" in result.output
    assert (
        not settings.duckdb_path.exists()
        or query(settings, "select count(*) as n from information_schema.tables where table_schema = 'nba_raw'")[0]["n"]
        == 0
    )


def test_the_schedule_given_to_load_is_rejected_with_a_hint(one_date, cli):
    result = cli("load", one_date / "schedule.csv")
    assert result.exit_code == 2
    assert "shotzones load-schedule" in result.output


def test_an_empty_file_is_rejected_clearly(one_date, settings, tmp_path, cli):
    empty = tmp_path / "[2022-10-18]-0022200099-AAA@BBB.csv"
    empty.write_bytes(b"")
    empty_gzip = tmp_path / "nothing.csv.gz"
    with gzip.open(empty_gzip, "wb"):
        pass
    summary = load(settings, [one_date, empty, empty_gzip])
    assert {r.path: r.reason for r in summary.rejected} == {
        empty: "empty file (0 bytes): nothing to load",
        empty_gzip: "empty file (nothing inside the gzip): nothing to load",
    }
    assert summary.files == len(game_files(one_date))

    result = cli("load", empty)
    assert result.exit_code == 2
    assert f"rejected {empty}: empty file" in result.output and "Traceback" not in result.output


def test_junk_is_rejected_without_a_traceback(tmp_path, cli):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 20)  # NULs, bare carriage returns, invalid UTF-8
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    result = cli("load", junk, blank)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"rejected {junk}: " in result.output
    assert f"rejected {blank}: no header line" in result.output


def test_a_header_only_file_loads_no_rows_with_a_note(one_date, settings, tmp_path, cli):
    header_only = write_rows(tmp_path / "header-only.csv", [list(RAW_COLUMNS)])
    summary = load(settings, [header_only])
    assert (summary.files, summary.rows, summary.exit_code) == (1, 0, 0)
    assert summary.notes == (f"{header_only}: header only, no rows",)

    result = cli("load", "--all", one_date, header_only)
    assert result.exit_code == 0, result.output
    assert "header only, no rows" in result.output


def test_a_broken_gzip_is_rejected_and_the_others_load(one_date, settings, tmp_path, cli):
    files = game_files(one_date)
    whole = gzip.compress(files[0].read_bytes())
    truncated = tmp_path / "truncated.csv.gz"
    truncated.write_bytes(whole[: len(whole) // 2])  # the header decompresses, the rest does not
    not_gzip = tmp_path / "garbage.csv.gz"
    not_gzip.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    plain_named_gz = tmp_path / "plain.csv.gz"  # plain text under a .gz name is read as it is
    shutil.copy(files[1], plain_named_gz)

    summary = load(settings, [*files[2:], truncated, not_gzip, plain_named_gz])
    reasons = {r.path: r.reason for r in summary.rejected}
    assert set(reasons) == {truncated, not_gzip}
    assert all(reason.startswith("broken gzip") for reason in reasons.values()), reasons
    assert summary.files == len(files) - 2 + 1
    assert len(loaded_rows(settings, plain_named_gz)) == len(read_rows(files[1])) - 1
    assert not loaded_rows(settings, truncated)

    result = cli("load", truncated)
    assert result.exit_code == 2
    assert f"rejected {truncated}: broken gzip" in result.output and "Traceback" not in result.output


# --- encodings -------------------------------------------------------------------------------------


def test_a_file_with_a_utf8_bom_loads_like_the_file_without(one_date, settings, tmp_path, cli):
    source = game_files(one_date)[0]
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    result = cli("load", bom)
    assert result.exit_code == 0, result.output
    loaded = [[row[name] for name in RAW_COLUMNS] for row in loaded_rows(settings, bom)]
    assert loaded == [[value or None for value in row] for row in read_rows(source)[1:]]


def test_the_same_game_in_two_files_of_one_load_comes_from_the_later(one_date, settings, tmp_path):
    source = game_files(one_date)[0]
    again = shutil.copy(source, tmp_path / "again.csv")
    summary = load(settings, [source, again])
    assert summary.exit_code == 0 and summary.rows == len(read_rows(source)) - 1
    assert summary.notes == (f"{source}: 1 game also in {again}, loaded from there",)
    assert raw_counts(settings)["files"] == 1 and loaded_rows(settings, again)


def test_a_latin1_file_is_read_as_latin1(one_date, settings, tmp_path, cli):
    source = game_files(one_date)[0]
    text = source.read_text(encoding="utf-8")
    assert "Keon Müller" in text and "Troy Hill" in text
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(text.replace("Troy Hill", "José Hill").encode("latin-1"))
    summary = load(settings, [latin1])
    assert summary.exit_code == 0 and summary.rows == len(read_rows(source)) - 1
    assert summary.notes == (f"{latin1}: not valid UTF-8, read as Latin-1",)
    names = {row[slot] for row in loaded_rows(settings, latin1) for slot in ("a4", "a5", "player")}
    assert {"Keon Müller", "José Hill"} <= names and "Troy Hill" not in names

    result = cli("load", "--all", latin1)
    assert result.exit_code == 0 and "read as Latin-1" in result.output


def test_a_utf16_file_is_read(one_date, settings, tmp_path):
    source = game_files(one_date)[0]
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(source.read_text(encoding="utf-8").encode("utf-16"))
    summary = load(settings, [utf16])
    assert summary.exit_code == 0 and summary.rows == len(read_rows(source)) - 1


# --- rows quarantined --------------------------------------------------------------------------------


@pytest.fixture
def bad_rows_file(one_date, tmp_path) -> tuple[Path, Path, int]:
    """A copy of a game file with a bad date (line 6), a bad period (line 9), a non-numeric
    shot_distance (line 20), a ragged row (line 30), and harmless quirks that must load."""
    source = game_files(one_date)[0]
    rows = read_rows(source)
    shot_line = next(i for i, row in enumerate(rows, 1) if i > 12 and row[RAW_COLUMNS.index("shot_distance")])
    assert shot_line != 30
    path = copy_with(
        source,
        tmp_path / "broken.csv",
        {
            6: {"date": "someday"},
            9: {"period": "x"},
            shot_line: {"shot_distance": "far"},
            12: {"original_x": "unknown", "original_y": "", "points": ""},  # documented: fine
        },
    )
    rows = read_rows(path)
    rows[29] = rows[29][:40]  # line 30: 40 fields of 44
    write_rows(path, rows)
    return path, source, shot_line


def test_bad_rows_are_quarantined_and_every_good_row_is_loaded(bad_rows_file, settings):
    path, source, shot_line = bad_rows_file
    delivered = read_rows(path)
    summary = load(settings, [path])
    assert summary.exit_code == 1
    # date, period and the ragged row cannot be placed; the bad distance costs only itself
    bad_lines = {6, 9, 30}
    assert summary.quarantined_rows == 3 and summary.rows == len(delivered) - 1 - 3
    assert summary.set_aside_values == 1
    assert summary.quarantined_by_file == ((str(path), 4),)

    held = quarantined(settings)
    assert [(q["line"], q["column_name"], q["value"], q["problem"]) for q in held] == sorted(
        [
            (6, "date", "someday", "bad_value"),
            (9, "period", "x", "bad_value"),
            (shot_line, "shot_distance", "far", "bad_value"),
            (30, "original_y", None, "wrong_field_count"),
        ]
    )
    ragged = next(q for q in held if q["line"] == 30)
    assert "Expected Number of Columns: 44 Found: 40" in ragged["reason"]
    assert ragged["raw_line"] == path.read_text(encoding="utf-8").splitlines()[29]
    dated = next(q for q in held if q["line"] == 6)
    assert '"date":"someday"' in dated["row_values"].replace(" ", "")
    assert all(q["source_file"] == str(path) and q["loaded_at"] for q in held)

    # every good row is loaded, numbered by its own line, rows after the ragged one too
    loaded = loaded_rows(settings, path)
    good = [(line, row) for line, row in enumerate(delivered, 1) if line > 1 and line not in bad_lines]
    assert [r["source_row"] + 1 for r in loaded] == [line for line, _ in good]
    assert [r["play_id"] for r in loaded] == [row[RAW_COLUMNS.index("play_id")] for _, row in good]
    quirky = next(r for r in loaded if r["source_row"] == 11)
    assert quirky["original_x"] == "unknown" and quirky["original_y"] is None
    far = next(r for r in loaded if r["source_row"] == shot_line - 1)
    assert (
        far["shot_distance"] is None and far["event_type"] == delivered[shot_line - 1][RAW_COLUMNS.index("event_type")]
    )


def test_the_cli_names_each_bad_row_by_file_and_line_and_exits_1(bad_rows_file, cli):
    path, _, _ = bad_rows_file
    result = cli("load", path)
    assert result.exit_code == 1, result.output
    assert "quarantined 3 rows and set aside 1 value" in result.output
    assert f"{path}:6: date='someday': not a date (M/D/YYYY or YYYY-MM-DD)" in result.output
    assert f"{path}:9: period='x': not a whole number from 1" in result.output
    assert re.search(
        rf"{re.escape(str(path))}:\d+: shot_distance='far': not a number \(set aside, row loaded\)", result.output
    )
    assert f"{path}:30: wrong number of fields" in result.output
    assert "Traceback" not in result.output


def test_the_cli_summarises_past_a_few_dozen_bad_rows(one_date, tmp_path, cli):
    source = game_files(one_date)[0]
    path = copy_with(source, tmp_path / "many.csv", {line: {"period": "?"} for line in range(2, 102)})
    result = cli("load", path)
    assert result.exit_code == 1
    named = re.findall(rf"^  {re.escape(str(path))}:(\d+): period='\?'", result.output, re.M)
    assert named == [str(line) for line in range(2, 32)]
    assert f"... and 70 more bad rows: {path} (70)" in result.output


def test_required_values_may_not_be_empty_but_others_may(one_date, settings, tmp_path):
    source = game_files(one_date)[0]
    path = copy_with(
        source,
        tmp_path / "empties.csv",
        {
            2: {"game_id": ""},
            3: {"date": " "},
            4: {"period": ""},
            5: {"points": "", "shot_distance": "", "away_score": "", "remaining_time": "", "original_x": ""},
            6: {"game_id": "no digits"},
            7: {"elapsed": "12 minutes"},
            8: {"converted_y": "UNKNOWN"},
            9: {"num": "1.5x"},
            10: {"period": "0"},
        },
    )
    summary = load(settings, [path])
    found = {(p.line, p.column, p.reason) for p in summary.problems}
    assert found == {
        (2, "game_id", "required value is empty"),
        (3, "date", "required value is empty"),
        (4, "period", "required value is empty"),
        (6, "game_id", "game id needs 1 to 10 digits"),
        (7, "elapsed", "not a clock (h:mm:ss)"),
        (9, "num", "not a whole number"),
        (10, "period", "not a whole number from 1"),
    }
    # the bad clock and number are set aside; their rows load
    assert summary.rows == len(read_rows(source)) - 1 - 5 and summary.set_aside_values == 2


def test_a_row_with_several_bad_values_is_one_bad_row(one_date, settings, tmp_path, cli):
    path = copy_with(game_files(one_date)[0], tmp_path / "two.csv", {5: {"date": "?", "period": "?"}})
    summary = load(settings, [path])
    assert (summary.quarantined_rows, summary.problem_count) == (1, 2)
    result = cli("load", "--all", path)
    assert f"{path}:5: date='?': not a date (M/D/YYYY or YYYY-MM-DD); period='?'" in result.output


def test_broken_quoting_is_quarantined(one_date, settings, tmp_path):
    source = game_files(one_date)[0]
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].rstrip("\n") + ',"unterminated\n'
    path = tmp_path / "quote.csv"
    path.write_text("".join(lines), encoding="utf-8")
    summary = load(settings, [path])
    assert summary.exit_code == 1 and 0 < summary.rows < len(lines) - 1
    [problem] = summary.problems
    assert problem.line == 5 and problem.reason.startswith("broken quoting")


def test_a_file_loaded_twice_leaves_no_duplicates(bad_rows_file, settings):
    path, _, _ = bad_rows_file
    first = load(settings, [path])
    second = load(settings, [path], reread=True)
    assert (second.rows, second.quarantined_rows) == (first.rows, first.quarantined_rows)
    assert raw_counts(settings)["rows"] == first.rows
    held = quarantined(settings)
    assert len(held) == 4 and len({(q["line"], q["column_name"]) for q in held}) == 4


def test_reloading_a_corrected_file_replaces_its_quarantined_rows(bad_rows_file, settings, tmp_path):
    path, source, _ = bad_rows_file
    load(settings, [path])
    shutil.copy(source, path)  # the corrected delivery, under the same name
    summary = load(settings, [path])
    assert summary.exit_code == 0
    assert not quarantined(settings)
    assert len(loaded_rows(settings, path)) == len(read_rows(source)) - 1


def test_a_file_that_lost_a_game_loses_its_rows(one_date, settings, tmp_path):
    files = game_files(one_date)
    combined = tmp_path / "combined.csv"
    write_rows(combined, [list(RAW_COLUMNS)] + read_rows(files[0])[1:] + read_rows(files[1])[1:])
    load(settings, [combined])
    write_rows(combined, [list(RAW_COLUMNS)] + read_rows(files[0])[1:])
    load(settings, [combined])
    assert raw_counts(settings)["rows"] == len(read_rows(files[0])) - 1


def test_exit_2_wins_over_1_and_good_input_still_loads(one_date, bad_rows_file, settings, tmp_path, cli):
    path, _, _ = bad_rows_file
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    others = [p for p in game_files(one_date) if p.name != path.name][1:]
    result = cli("load", path, empty, *others)
    assert result.exit_code == 2, result.output
    assert f"rejected {empty}" in result.output and f"{path}:6:" in result.output
    loaded = raw_counts(settings)
    assert loaded["files"] == 1 + len(others)


def test_nothing_to_load_is_exit_2(tmp_path, cli):
    (tmp_path / "nothing").mkdir()
    result = cli("load", tmp_path / "nothing")
    assert result.exit_code == 2 and "no .csv or .csv.gz files" in result.output
    result = cli("load", tmp_path / "missing.csv")
    assert result.exit_code == 2 and "missing.csv: no such file or directory" in result.output
    missing = tmp_path / "not-yet"
    assert load(replace(Settings(), duckdb_path=missing / "w.duckdb"), [tmp_path / "missing.csv"]).rejected
    assert not missing.exists(), "nothing read: no warehouse, no folder, no lock file"
    with pytest.raises(LoadError):
        load(replace(Settings(), duckdb_path=tmp_path / "w.duckdb"), [tmp_path / "nothing"])


# --- schedule --------------------------------------------------------------------------------------


def test_load_schedule(one_date, settings, tmp_path, cli):
    schedule = one_date / "schedule.csv"
    with schedule.open(newline="") as handle:
        delivered = list(csv.DictReader(handle))
    result = cli("load-schedule", schedule)
    assert result.exit_code == 0, result.output
    assert f"Loaded {len(delivered)} scheduled games" in result.output
    # again, from the directory, with one game's id spelled differently: replaced, not doubled
    changed = tmp_path / "schedule.csv"
    rows = [dict(row) for row in delivered]
    rows[0]["game_id"] = rows[0]["game_id"].lstrip("0")
    rows[0]["game_date"] = "10/30/2022"
    with changed.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(delivered[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = load_schedule(settings, [tmp_path])
    assert summary.exit_code == 0 and summary.games == len(delivered)
    loaded = query(settings, "select * from nba_raw.schedule order by game_id")
    assert len(loaded) == len(delivered)
    assert [r["game_id"] for r in loaded] == sorted(r["game_id"] for r in delivered)
    first = next(r for r in loaded if r["game_id"] == delivered[0]["game_id"])
    assert str(first["game_date"]) == "2022-10-30" and first["season"] == int(delivered[0]["season"])
    assert first["source_file"] == str(changed) and first["away_team"] == delivered[0]["away_team"]


def test_load_schedule_rejects_files_it_cannot_read(one_date, settings, tmp_path, cli):
    foreign = tmp_path / "teams.csv"
    foreign.write_text("team,city\nDEN,Denver\n")
    bad = tmp_path / "bad-schedule.csv"
    bad.write_text("season,game_id,game_date,away_team,home_team\n2022,0022200001,soon,CLE,CHI\n")
    result = cli("load-schedule", foreign, bad, one_date / "schedule.csv")
    assert result.exit_code == 2
    assert f"rejected {foreign}: not BigDataBall schedule, missing columns: season, game_id," in result.output
    assert f"rejected {bad}: rows that do not parse, nothing loaded: line 2: game_date='soon'" in result.output
    assert query(settings, "select count(*) as n from nba_raw.schedule")[0]["n"] > 0
    assert "Traceback" not in result.output


def test_load_skips_the_schedule_in_a_directory(one_date, settings):
    summary = load(settings, [one_date])
    assert summary.exit_code == 0 and summary.files == len(game_files(one_date))


@pytest.mark.parametrize("quirks", ["lines are records", "lines are not records"])
def test_files_read_together_load_as_each_file_read_alone(quirks, one_date, bad_rows_file, settings, tmp_path):
    """Small files are read in bundles (load/bundles.py): a load of many files, with problems
    in several and the quirks that make a file's lines differ from its records or not, gives
    every row and every problem the file and line it gets when the file is loaded on its own."""
    games = game_files(one_date)
    bad, _, _ = bad_rows_file
    rows = read_rows(games[2])
    rows[6] = rows[6][:43]
    crlf = tmp_path / "crlf.csv"
    with crlf.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    files, expected = [games[0], bad, crlf, games[4]], {(str(bad), 30), (str(crlf), 7)}
    if quirks == "lines are not records":
        rows = read_rows(games[1])
        rows[9][RAW_COLUMNS.index("description")] = "a description\nover two lines"
        rows[19] = rows[19][:30]
        multiline = write_rows(tmp_path / "multiline.csv", rows)
        # an even number of quotes, yet a quote left open once the reader has refused line 5
        lines = games[3].read_text(encoding="utf-8").splitlines(keepends=True)
        lines[4] = lines[4].rstrip("\n") + ',x"y\n'
        lines[8] = lines[8].rstrip("\n") + ',"open\n'
        trap = tmp_path / "trap.csv"
        trap.write_text("".join(lines), encoding="utf-8")
        files[2:2] = [multiline, trap]
        expected |= {(str(multiline), 20), (str(trap), 5)}

    def loaded(settings: Settings) -> tuple[list, list]:
        return (
            query(
                settings,
                "select source_file, source_row, play_id, description"
                " from nba_raw.bigdataball_play_by_play order by all",
            ),
            query(
                settings,
                f"select source_file, line, column_name, problem, reason, raw_line from {QUARANTINE} order by all",
            ),
        )

    together = load(settings, files + games[5:8])
    alone = replace(settings, duckdb_path=tmp_path / "alone.duckdb")
    for path in files + games[5:8]:
        load(alone, [path])
    assert together.files == len(files) + 3
    assert loaded(settings) == loaded(alone)
    assert expected <= {(q["source_file"], q["line"]) for q in loaded(settings)[1]}
