"""The project's dbt macros (macros/*.sql, their duckdb__ variants), as SQLMesh macros.

Ported one for one so that the models read like ours; bench/sqlmesh_compare.py proves the
output equals the dbt models' row for row, which is what keeps these in step with the originals.
"""

from sqlmesh import macro


def _sql(expression) -> str:
    return expression.sql(dialect="duckdb")


@macro()
def canonical_game_id(evaluator, expression):
    """The digits of the raw value, left-padded to 10 (macros/identifiers.sql)."""
    return f"lpad(regexp_replace({_sql(expression)}, '[^0-9]', '', 'g'), 10, '0')"


@macro()
def player_lookup(evaluator, expression):
    """Names to join keys: accents folded, lowercased, [a-z0-9]+ tokens, suffixes dropped,
    leading digits stripped (macros/identifiers.sql)."""
    folded = f"lower(strip_accents({_sql(expression)}))"
    spaced = f"concat(' ', regexp_replace({folded}, '[^a-z0-9]+', '  ', 'g'), ' ')"
    without_suffixes = f"regexp_replace({spaced}, ' (jr|sr|ii|iii|iv) ', '', 'g')"
    joined = f"regexp_replace({without_suffixes}, ' ', '', 'g')"
    return f"nullif(regexp_replace({joined}, '^[0-9]+', '', 'g'), '')"


@macro()
def season_of(evaluator, expression):
    day = _sql(expression)
    return (
        f"case when extract(month from {day}) >= 8 then extract(year from {day}) else extract(year from {day}) - 1 end"
    )


@macro()
def try_to_integer(evaluator, expression):
    return f"try_cast(nullif(trim({_sql(expression)}), '') as integer)"


@macro()
def try_to_double(evaluator, expression):
    return f"try_cast(nullif(trim({_sql(expression)}), '') as double)"


@macro()
def parse_game_date(evaluator, expression):
    text = f"trim({_sql(expression)})"
    return f"coalesce(try_strptime({text}, '%m/%d/%Y'), try_strptime({text}, '%Y-%m-%d'))::date"


@macro()
def clock_to_seconds(evaluator, expression):
    return f"cast(extract(epoch from try_cast(trim({_sql(expression)}) as interval)) as integer)"


@macro()
def shot_zone(evaluator, x, y, distance, is_three):
    """NBA basic zones, the `official` scheme of macros/shot_zones.sql."""
    x, y, distance, is_three = map(_sql, (x, y, distance, is_three))
    return f"""
    case
        when {x} is not null and {y} is not null then
            case
                when {y} > 417.5 then 'Backcourt'
                when {is_three} and {y} <= 87.5 and {x} >= 220 then 'Right Corner 3'
                when {is_three} and {y} <= 87.5 and {x} <= -220 then 'Left Corner 3'
                when {is_three} then 'Above the Break 3'
                when sqrt({x} * {x} + {y} * {y}) <= 40 then 'Restricted Area'
                when abs({x}) <= 80 and {y} <= 137.5 then 'In The Paint (Non-RA)'
                else 'Mid-Range'
            end
        when {is_three} then 'Above the Break 3'
        when {distance} <= 4 then 'Restricted Area'
        when {distance} <= 8 then 'In The Paint (Non-RA)'
        else 'Mid-Range'
    end"""


@macro()
def zone_group(evaluator, shot_zone):
    zone = _sql(shot_zone)
    return (
        f"case when {zone} in ('Restricted Area', 'In The Paint (Non-RA)', 'Paint (Legacy)') then 'paint'"
        f" when {zone} in ('Mid-Range', 'Mid-Range (Legacy)') then 'mid_range' else 'three' end"
    )


@macro()
def count_where(evaluator, condition):
    """How many rows of the group satisfy a condition; zero, never NULL."""
    return f"cast(sum(case when {_sql(condition)} then 1 else 0 end) as bigint)"


@macro()
def window_rate(evaluator, numerator, denominator, window):
    """A pooled percentage over a named window, NULL when its denominator is 0."""
    n, d, w = _sql(numerator), _sql(denominator), window.name
    return f"100.0 * sum({n}) over {w} / nullif(sum({d}) over {w}, 0)"


@macro()
def window_per_game(evaluator, column, window):
    c, w = _sql(column), window.name
    return f"sum({c}) over {w} / nullif(count(*) over {w}, 0)"
