"""Realistic, deterministic synthetic BigDataBall play-by-play.

`generate()` writes `schedule.csv` and one play-by-play file per game, named like the real
deliveries (`[2023-10-24]-0022300001-LAL@DEN.csv`), in the 44 columns of SPEC section 2.

How it stays deterministic and cheap:

* The league (players, careers, rosters, trades, injuries, shooting-profile drift) is planned a
  season at a time from RNGs seeded by `seed` and the season only; nothing in the plan depends on
  simulated games, so a later season is the same whether or not earlier games were written.
* Every game is simulated with its own RNG seeded from (`seed`, game id) and the planned state of
  the league on its date, so `max_dates_per_season` only stops writing: the files written are
  byte-identical to the same files of a full run.
* Simulation produces format-neutral events; a second RNG seeded from (`seed`, game id) drives
  only the rendering quirks (date and game-id spellings, play-id disorder, `unknown` shot types),
  so the three format generations describe exactly the same basketball.

The modules, in the order the data flows:

* `teams`, `players`, `league`: the thirty teams; players, their names and shooting profiles;
  rosters, careers, trades and injuries, planned a season at a time.
* `schedule`, `postseason`: a regular season's dates and matchups; the play-in and playoffs.
* `rotation`, `court`, `simulation`: one team's state in one game (who is available, the
  rotation); the shot zones and spots; the game itself, a `GameSimulation` whose methods are
  its events, producing the format-neutral events of `events`.
* `render`: those events as the rows of each BigDataBall format generation.
* `write`: seasons played and written to files (in worker processes when asked), schedule.csv.
"""

from .league import SEASONS
from .render import COLUMNS, FORMAT_GENERATIONS, format_generation_for
from .write import GenerationSummary, generate

__all__ = [
    "COLUMNS",
    "FORMAT_GENERATIONS",
    "SEASONS",
    "GenerationSummary",
    "generate",
    "format_generation_for",
]
