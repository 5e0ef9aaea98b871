"""Value checks and the quarantine: what is wrong with the rows read, and what becomes of it.

A row the reader cannot split into the header's fields (ragged, broken quoting), or that cannot
be placed (no usable game, date or period: `GATING_COLUMNS`), is held back in the quarantine
table, one row per problem with file, line, column, value and reason. Any other value that fails
`value_checks()` costs no more than itself: it is recorded there the same way, and its row is
loaded with that value missing (NULL), "set aside".

Validation is set-based SQL: the checks run on each column's distinct values, and only rows
holding a bad value are looked at one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from shotzones.code import DuckDBMacro
from shotzones.load.tables import quote
from shotzones.settings import RAW_COLUMNS, Settings
from shotzones.warehouse import duckdb_string

# The summary carries this many quarantine problems in detail (counts are always complete);
# the table holds them all.
PROBLEM_DETAIL_LIMIT = 1000

# Canonical game id (SPEC 3) and game date (both delivered formats) in DuckDB SQL: the dbt
# macros the staging model uses, compiled for DuckDB on first use (cached) in the load's project.
CANONICAL_GAME_ID_SQL = DuckDBMacro("canonical_game_id('{0}')")
GAME_DATE_SQL = DuckDBMacro("parse_game_date('{0}')")


@dataclass(frozen=True)
class Problem:
    """One recorded problem: a value that does not parse, or a row the reader refused. `set_aside`:
    the row was loaded with this value missing; otherwise the row is held back."""

    source_file: str
    line: int
    column: str | None
    value: str | None
    reason: str
    set_aside: bool = False

    def describe(self) -> str:
        if self.value is not None:
            kept = " (set aside, row loaded)" if self.set_aside else ""
            return f"{self.column}={self.value!r}: {self.reason}{kept}"
        return self.reason


# --- the reader's rejected lines ---------------------------------------------------------------


READER_PROBLEMS = {
    # DuckDB error type: (problem, reason prefix)
    "MISSING COLUMNS": ("wrong_field_count", "wrong number of fields"),
    "TOO MANY COLUMNS": ("wrong_field_count", "wrong number of fields"),
    "UNQUOTED VALUE": ("bad_quoting", "broken quoting"),
    "LINE SIZE OVER MAXIMUM": ("line_too_long", "line too long"),
    "INVALID ENCODING": ("bad_encoding", "invalid encoding"),
}


def reader_problems_sql() -> str:
    cases = " ".join(
        f"when {duckdb_string(kind)} then {duckdb_string(problem)}" for kind, (problem, _) in READER_PROBLEMS.items()
    )
    reasons = " ".join(
        f"when {duckdb_string(kind)} then {duckdb_string(reason)}" for kind, (_, reason) in READER_PROBLEMS.items()
    )
    return f"""
        select link_targets.target as source_file, read_rejects.line,
               read_rejects.column_name, null::varchar as value,
               case read_rejects.error_type {cases} else 'unreadable_row' end as problem,
               coalesce(case read_rejects.error_type {reasons} end, 'unreadable row')
                   || ' (' || read_rejects.error_message || ')' as reason,
               read_rejects.csv_line as raw_line, null::json as row_values
        from read_rejects
        inner join link_targets on read_rejects.link = link_targets.link
    """


# --- value checks ----------------------------------------------------------------------------


INTEGER_COLUMNS = ("away_score", "home_score", "play_id", "points", "num", "outof")
COORDINATE_COLUMNS = ("original_x", "original_y", "converted_x", "converted_y")
CLOCK_COLUMNS = ("remaining_time", "elapsed")
# BigDataBall's play_length is the elapsed clock minus the previous row's: negative, with the sign
# on the hours or the minutes (`00:-12:00`, `00:-5:00`), on the row starting each period.
SIGNED_CLOCK_COLUMNS = ("play_length",)
_CLOCK = "[0-9]+:[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?"
_SIGNED_CLOCK = "(-?[0-9]+:[0-5][0-9]|[0-9]+:-[0-5]?[0-9]):[0-5][0-9](\\.[0-9]+)?"
# Without these a row cannot be placed (no game, no partition, no order): a bad one holds the
# row back. A bad value anywhere else is set aside and the row loaded without it.
GATING_COLUMNS = ("game_id", "date", "period")
# a recorded problem that is a value set aside (its row loaded), not a row held back
SET_ASIDE_SQL = (
    "(row_values is not null and column_name not in (" + ", ".join(f"'{column}'" for column in GATING_COLUMNS) + "))"
)
_EMPTY = "nullif(trim({v}), '') is null"
_MISSING = ("missing_value", "required value is empty", _EMPTY)


def value_checks(settings: Settings) -> dict[str, list[tuple[str, str, str]]]:
    """Per column, (problem, reason, SQL over the value `{v}` true when it has the problem), the
    first that applies being the value's problem.

    Required (GATING_COLUMNS): game_id (1 to 10 digits), date (M/D/YYYY or YYYY-MM-DD) and period
    (a whole number from 1): without them a row has no game, no partition, no order. Every other
    value may be empty (a rebound has no points, a free throw no coordinates), but when present
    numbers must be numbers, coordinates numbers or `unknown`, clocks `h:mm:ss` and play_length a
    signed one. Numbers are checked with the same casts the staging model uses, so what passes
    here never turns NULL there.
    """
    present = "nullif(trim({v}), '') is not null and "
    checks: dict[str, list[tuple[str, str, str]]] = {
        "game_id": [
            _MISSING,
            (
                "bad_value",
                "game id needs 1 to 10 digits",
                "length(regexp_replace({v}, '[^0-9]', '', 'g')) not between 1 and 10",
            ),
        ],
        "date": [
            _MISSING,
            (
                "bad_value",
                "not a date (M/D/YYYY or YYYY-MM-DD)",
                GAME_DATE_SQL.sql(settings).replace("{0}", "{v}") + " is null",
            ),
        ],
        "period": [
            _MISSING,
            ("bad_value", "not a whole number from 1", "coalesce(try_cast(trim({v}) as integer) < 1, true)"),
        ],
    }
    for column in INTEGER_COLUMNS:
        checks[column] = [("bad_value", "not a whole number", present + "try_cast(trim({v}) as integer) is null")]
    checks["shot_distance"] = [("bad_value", "not a number", present + "try_cast(trim({v}) as double) is null")]
    for column in COORDINATE_COLUMNS:
        checks[column] = [
            (
                "bad_value",
                "not a number or `unknown`",
                present + "lower(trim({v})) <> 'unknown' and try_cast(trim({v}) as double) is null",
            )
        ]
    for column in CLOCK_COLUMNS:
        checks[column] = [
            (
                "bad_value",
                "not a clock (h:mm:ss)",
                present + f"not regexp_full_match(trim({{v}}), '{_CLOCK}')",
            )
        ]
    for column in SIGNED_CLOCK_COLUMNS:
        checks[column] = [
            (
                "bad_value",
                "not a signed clock (h:mm:ss, 00:-12:00)",
                present + f"not regexp_full_match(trim({{v}}), '{_SIGNED_CLOCK}')",
            )
        ]
    return checks


def find_bad_values(con, settings: Settings, table: str) -> None:
    """The temp table `bad_values`: the distinct values of each checked column that fail a check
    (column_name, value, problem, reason). Checking distinct values (a few thousand per column)
    instead of rows keeps validation to one cheap pass over the data. The distinct values are
    materialised first: a filter over them would otherwise be pushed down to every row."""
    checks = value_checks(settings)
    con.execute(
        "create or replace temp table distinct_values as "
        + " union all ".join(
            f"select {duckdb_string(column)} as column_name, v from (select distinct {quote(column)} as v from {table})"
            for column in checks
        )
    )
    parts = []
    for column, column_checks in checks.items():
        verdict = " ".join(
            f"when {condition.format(v='v')} then {{'problem': {duckdb_string(problem)}, 'reason': {duckdb_string(reason)}}}"
            for problem, reason, condition in column_checks
        )
        parts.append(
            f"""
            select column_name, v as value, verdict.problem as problem, verdict.reason as reason
            from (
                select column_name, v, case {verdict} end as verdict
                from distinct_values
                where column_name = {duckdb_string(column)}
            )
            where verdict is not null
            """
        )
    con.execute("create or replace temp table bad_values as " + " union all ".join(parts))


# --- the quarantine ----------------------------------------------------------------------------

# a bad value of a row, matched to its problem
_BAD_ROW_VALUES = """
    bad_rows inner join bad_values
        on bad_rows.checked.c = bad_values.column_name
        and bad_rows.checked.v is not distinct from bad_values.value
"""


def quarantine(con, settings: Settings, numbered: str, table: str) -> list[str]:
    """The temp table `quarantine_new`, every problem of the rows of `table` (numbered by
    `numbered`: with `rid`, `target` and `source_row`) and of the lines the reader refused; and
    the columns holding a bad value. The temp table `bad_rows` holds each bad value's row."""
    find_bad_values(con, settings, table)
    bad_columns = [
        column
        for (column,) in con.execute("select distinct column_name from bad_values order by column_name").fetchall()
    ]
    row_values = "{" + ", ".join(f"{duckdb_string(name)}: {quote(name)}" for name in RAW_COLUMNS) + "}"
    if bad_columns:
        # the rows holding a bad value, each with its problems
        holds_bad = " or ".join(
            f"(exists (select 1 from bad_values where column_name = {duckdb_string(column)}"
            f" and value is not distinct from {quote(column)}))"
            for column in bad_columns
        )
        values = ", ".join(f"{{'c': {duckdb_string(c)}, 'v': {quote(c)}}}" for c in bad_columns)
        con.execute(
            f"""
            create or replace temp table bad_rows as
            select rid, target, source_row, to_json({row_values}) as row_values,
                   unnest([{values}]) as checked
            from {numbered}
            where {holds_bad}
            """
        )
        value_problems = f"""
            select bad_rows.target, bad_rows.source_row + 1, bad_values.column_name,
                   bad_values.value, bad_values.problem, bad_values.reason, null,
                   bad_rows.row_values
            from {_BAD_ROW_VALUES}
        """
    else:
        value_problems = "select null, null, null, null, null, null, null, null where false"
    con.execute(
        f"""
        create or replace temp table quarantine_new as
        {reader_problems_sql()}
        union all
        {value_problems}
        """
    )
    return bad_columns


def set_aside(con, table: str, rows: str, bad_columns: list[str]) -> None:
    """Of the rows of `table` matching `rows`, which `quarantine` checked: those that cannot be
    placed (a bad gating value) are deleted, held back; any other bad value is made NULL, set
    aside (the recorded problem keeps it as delivered)."""
    if not bad_columns:
        return
    gating = ", ".join(duckdb_string(column) for column in GATING_COLUMNS)
    con.execute(
        f"""
        delete from {table}
        where rowid in (
            select bad_rows.rid
            from {_BAD_ROW_VALUES}
            where bad_values.column_name in ({gating})
        )
        """
    )
    for column in bad_columns:
        if column not in GATING_COLUMNS:
            con.execute(
                f"""
                update {table} set {quote(column)} = null
                where {rows} and {quote(column)} in (
                    select value from bad_values where column_name = {duckdb_string(column)}
                )
                """
            )


def problem_summary(con) -> dict:
    """The LoadSummary fields that count and list `quarantine_new`."""
    by_file = con.execute(
        "select source_file, count(distinct line) from quarantine_new group by source_file order by source_file"
    ).fetchall()
    problem_count, held_back, set_aside = con.execute(
        f"""
        select count(*), count(distinct case when not {SET_ASIDE_SQL} then (source_file, line) end),
               count(*) filter (where {SET_ASIDE_SQL})
        from quarantine_new
        """
    ).fetchone()
    problems = con.execute(
        f"""
        select source_file, line, column_name, value, reason, {SET_ASIDE_SQL} from quarantine_new
        order by source_file, line, column_name
        limit {PROBLEM_DETAIL_LIMIT}
        """
    ).fetchall()
    return dict(
        quarantined_rows=held_back,
        set_aside_values=set_aside,
        problem_count=problem_count,
        problems=tuple(Problem(*problem) for problem in problems),
        quarantined_by_file=tuple((file, count) for file, count in by_file),
    )
