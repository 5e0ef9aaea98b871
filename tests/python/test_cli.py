"""The command line, end to end on one generated date."""

from __future__ import annotations

from click.testing import CliRunner

from shotzones.cli import main


def test_generate_load_backfill_report(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    runner = CliRunner()
    out = tmp_path / "files"

    generated = runner.invoke(
        main, ["generate", "--first-season", "2023", "--seasons", "1", "--seed", "3", "--out", str(out)]
    )
    assert generated.exit_code == 0, generated.output
    assert "1,230 games" in generated.output

    loaded = runner.invoke(main, ["load", str(out / "2023")])
    assert loaded.exit_code == 0, loaded.output
    assert "1,230 games" in loaded.output

    planned = runner.invoke(main, ["plan", "--start", "2023-10-24", "--end", "2023-11-30", "--batch-days", "20"])
    assert planned.exit_code == 0, planned.output
    assert "2023-10-24..2023-11-" in planned.output and "never built" in planned.output
    assert "scans" not in planned.output  # a cost estimate is BigQuery's

    built = runner.invoke(main, ["backfill", "--start", "2023-10-24", "--end", "2023-11-30"])
    assert built.exit_code == 0, built.output
    assert "partitions built, 0 failed" in built.output

    again = runner.invoke(main, ["backfill", "--start", "2023-10-24", "--end", "2023-11-30"])
    assert again.exit_code == 0 and "Nothing pending" in again.output

    reported = runner.invoke(main, ["report"])
    assert reported.exit_code == 0, reported.output
    assert "paint_rate_last_10" in reported.output


def test_usage_errors_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    result = CliRunner().invoke(main, ["backfill", "--start", "not-a-date"])
    assert result.exit_code == 2
    assert "not-a-date" in result.output


def test_backfill_before_any_load_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTZONES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    result = CliRunner().invoke(main, ["backfill"])
    assert result.exit_code == 2
    assert "shotzones load" in result.output
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing created by asking
