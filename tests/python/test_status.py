"""`status` on a long history: past three seasons the calendar is a line per season, and every
failed and stale date is still named."""

from __future__ import annotations

import re
from datetime import date, timedelta

from PIL import Image

from shotzones.status import SEASONS_IN_FULL, calendar_lines, write_png


def history(seasons: int) -> dict[date, str]:
    states = {}
    for season in range(1996, 1996 + seasons):
        for n in range(0, 240, 1 + season % 2):
            states[date(season, 10, 28) + timedelta(n)] = "done"
    return states


def plain(lines: list[str]) -> list[str]:
    return [re.sub(r"\[[^\]]*\]", "", line) for line in lines]


def test_thirty_seasons_summarise_by_season_and_list_every_failed_and_stale_date(tmp_path):
    states = history(30)
    failed = [date(1997, 1, 4), date(2019, 5, 2)]
    stale = [date(2008, 12, 1)]
    for day in failed:
        states[day] = "failed"
    for day in stale:
        states[day] = "stale"
    states[date(2025, 11, 3)] = "pending"
    lines = plain(calendar_lines(states))
    season_lines = [line for line in lines if re.match(r"\s+\d{4}-\d{2}\s", line)]
    assert [line.split()[0] for line in season_lines] == [f"{s}-{(s + 1) % 100:02d}" for s in range(1996, 2026)]
    assert len(lines) <= 30 + 3
    assert "1 failed" in season_lines[0] and "1 stale" in season_lines[12] and "1 pending" in season_lines[29]
    assert f"failed (2): {failed[0]}, {failed[1]}" in lines
    assert f"stale (1): {stale[0]}" in lines
    png = tmp_path / "status.png"
    write_png(states, png)
    width, height = Image.open(png).size
    assert height < 700 and width < 1400  # one row a season, not one a month


def test_a_few_seasons_keep_the_month_calendar():
    states = history(SEASONS_IN_FULL)
    states[date(1997, 1, 4)] = "failed"
    lines = plain(calendar_lines(states))
    assert sum(bool(re.match(r"\s+Jan \d{4}\s", line)) for line in lines) == SEASONS_IN_FULL
    assert not any(line.startswith("failed (") for line in lines)


def test_the_month_calendar_png_numbers_its_days(tmp_path):
    """Above each season's months, every day column has its number (text over the cells)."""
    png = tmp_path / "status.png"
    write_png(history(1), png)
    image = Image.open(png).convert("RGB")
    width, height = image.size
    pixels = image.load()
    cells = [(x, y) for x in range(width) for y in range(height) if pixels[x, y] == (0x2E, 0x7D, 0x32)]
    top = min(y for _, y in cells)
    # the columns of the days: from the widest row of cells (the legend's square is not one)
    widest = max({y for _, y in cells}, key=lambda row: sum(1 for _, y in cells if y == row))
    left, right = min(x for x, y in cells if y == widest), max(x for x, y in cells if y == widest)
    dark = {x for x in range(left, right + 1) for y in range(top) if pixels[x, y] != (255, 255, 255)}
    columns = [range(left + (right - left) * day // 31, left + (right - left) * (day + 1) // 31) for day in range(31)]
    numbered = [day + 1 for day, column in enumerate(columns) if dark & set(column)]
    assert numbered == list(range(1, 32))
