{#-
    Point-in-time features: one home for what a model is served before a game and what it is
    trained on afterwards (SPEC section 6). The model-ready view fills the features model's
    rows; the pre-game mart and the runner's historical read (`shotzones export --entities`)
    compute the same columns for a player as of any date, from his games strictly before it.
-#}

{#-
    The league's pooled rates over every game strictly before each date of `dates` (a relation
    or CTE with the date in `date_column`): one row per distinct date, as_of_date and
    league_<feature>. NULL before the first game.
-#}
{% macro league_rates_before(dates, date_column) %}
    select
        {%- for feature in model_features() %}
        100.0 * earlier.{{ feature.numerator }} / nullif(earlier.{{ feature.denominator }}, 0) as league_{{ feature.name }},
        {%- endfor %}
        asked.as_of_date
    from (select distinct {{ date_column }} as as_of_date from {{ dates }}) as asked
    -- an inner join, then an equality: BigQuery runs no outer join without one
    left join (
        select
            asked.as_of_date,
            accumulated.*
        from (select distinct {{ date_column }} as as_of_date from {{ dates }}) as asked
        inner join {{ ref('int_league_shot_totals_accumulated') }} as accumulated
            on asked.as_of_date > accumulated.game_date
        where true
        qualify row_number() over (
            partition by asked.as_of_date order by accumulated.game_date desc
        ) = 1
    ) as earlier
        on asked.as_of_date = earlier.as_of_date
{% endmacro %}


{#-
    The model-ready columns: each feature from the player's window (`features` alias), or the
    league's point-in-time rate (`rates` alias, from league_rates_before) where the window
    cannot give it, with a flag per value filled so. On the warehouse's first game date nothing
    precedes it, not even a league game: the value stays NULL and is not flagged filled, so a
    NULL value always means "no history at all" and a flagged one is always the league's rate.
-#}
{% macro filled_features(features, rates) %}
    {%- for feature in model_features() %}
    coalesce({{ features }}.{{ feature.name }}, {{ rates }}.league_{{ feature.name }}) as {{ feature.name }},
    {%- endfor %}
    {%- for feature in model_features() %}
    {{ features }}.{{ feature.name }} is null and {{ rates }}.league_{{ feature.name }} is not null
    as {{ feature.name }}_is_filled,
    {%- endfor %}
    coalesce({{ features }}.games_in_window, 0) as games_in_window
{%- endmacro %}


{#-
    For each row of `targets` (a relation with player_lookup and as_of_date), the model-ready
    features over the player's previous player-games strictly before as_of_date (SPEC 6), each
    over its own window, with the rate expressions of player_shot_zone_features: his latest
    game before the date, and the games up to it in his window order. A player without earlier
    games gets an empty window (filled from the league, flagged). Returns the targets'
    columns, then the model-ready columns.
-#}
{% macro point_in_time_features(targets) %}
    {%- set widest = ([checked_var('window_games')] + (model_features() | map(attribute='window') | list)) | max -%}
    with

    targets as (

        select * from {{ targets }}

    ),

    player_games as (

        {{ games_in_windows() }}

    ),

    asked as (

        select distinct
            player_lookup,
            as_of_date
        from targets

    ),

    -- each player's games numbered in window order, and the date of his next game
    numbered_games as (

        select
            player_games.*,
            row_number() over (
                partition by {{ window_partition() }} order by game_date, game_id
            ) as game_number,
            lead(game_date) over (
                partition by player_lookup order by game_date, game_id
            ) as next_game_date
        from player_games
        -- the asked players' games only: the windows are per player
        where player_lookup in (select asked.player_lookup from asked)

    ),

    -- the player's latest game before the date (none in the date's season: an empty window
    -- when windows are per season)
    latest_games as (

        select
            asked.player_lookup,
            asked.as_of_date,
            numbered_games.game_number as latest_game_number
        from asked
        inner join numbered_games
            on
                asked.player_lookup = numbered_games.player_lookup
                and numbered_games.game_date < asked.as_of_date
                and (
                    numbered_games.next_game_date is null
                    or numbered_games.next_game_date >= asked.as_of_date
                )
                and {{ in_window_scope('numbered_games.season', 'asked.as_of_date') }}

    ),

    -- the windows: the games up to the latest one, as many as the widest window reads
    history as (

        select
            latest_games.as_of_date,
            latest_games.latest_game_number,
            numbered_games.*
        from latest_games
        inner join numbered_games
            on
                latest_games.player_lookup = numbered_games.player_lookup
                and {{ in_window_scope('numbered_games.season', 'latest_games.as_of_date') }}
                and numbered_games.game_number
                between latest_games.latest_game_number - {{ widest }} + 1
                and latest_games.latest_game_number

    ),

    windows as (

        select
            player_lookup,
            as_of_date,
            {%- for feature in model_features() %}
            {{ window_rate(
                within_last(feature.numerator, feature.window, widest),
                within_last(feature.denominator, feature.window, widest)
            ) }} as {{ feature.name }},
            {%- endfor %}
            count({{ within_last('1', checked_var('window_games'), widest) }}) as games_in_window
        from history
        group by player_lookup, as_of_date

    ),

    league_rates as (

        {{ league_rates_before('asked', 'as_of_date') }}

    ),

    final as (

        select
            targets.*,
            {{ filled_features('windows', 'league_rates') }}
        from targets
        left join windows
            on
                targets.player_lookup = windows.player_lookup
                and targets.as_of_date = windows.as_of_date
        left join league_rates
            on targets.as_of_date = league_rates.as_of_date

    )

    select * from final
{% endmacro %}


{#-
    The scheduled games a pre-game read asks for. DuckDB pushes no filter into a CTE read twice,
    so `select ... where game_date = d` over player_pregame_features would compute every slate
    ever scheduled; `shotzones features` sets the session variable shotzones_slate_date (the
    runner's serving.SLATE_DATE_VARIABLE) to narrow the view to one date first. Unset, it is
    every scheduled game. Elsewhere the query's own filter is all there is.
-#}
{% macro scheduled_for_slate(game_date) %}
    {{ return(adapter.dispatch('scheduled_for_slate', 'shotzones')(game_date)) }}
{% endmacro %}

{% macro default__scheduled_for_slate(game_date) -%}
    true
{%- endmacro %}

{% macro duckdb__scheduled_for_slate(game_date) -%}
    {{ game_date }} = coalesce(getvariable('shotzones_slate_date'), {{ game_date }})
{%- endmacro %}


{#- `column` for the history's rows within the last `games` games before the date (of `widest`). -#}
{% macro within_last(column, games, widest) -%}
    {%- if games | int >= widest | int -%}
    {{ column }}
    {%- else -%}
    case when game_number > latest_game_number - {{ games }} then {{ column }} end
    {%- endif -%}
{%- endmacro %}
