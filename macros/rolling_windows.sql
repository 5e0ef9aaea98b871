{#-
    Rolling-window expressions for player_shot_zone_features. `window` names a window of the
    model's WINDOW clause; every window ends one row before the current game, so nothing of a
    game reaches its own features.
-#}

{#-
    A percentage over the window, NULL when its denominator is 0 (or the window is empty).
    Without a window: the same over the rows of a GROUP BY (a point-in-time read's history).
-#}
{% macro window_rate(numerator, denominator, window=none) -%}
    {%- set over = ' over ' ~ window if window else '' -%}
    {#- var rate_method: pooled or per_game_mean (macros/vars.sql) -#}
    {%- if checked_var('rate_method') == 'pooled' -%}
    100.0 * sum({{ numerator }}){{ over }} / nullif(sum({{ denominator }}){{ over }}, 0)
    {%- else -%}
    avg(100.0 * {{ numerator }} / nullif({{ denominator }}, 0)){{ over }}
    {%- endif -%}
{%- endmacro %}


{#- A pooled percentage whatever rate_method says (FG% is always made over attempted). -#}
{% macro window_percentage(numerator, denominator, window) -%}
    100.0 * sum({{ numerator }}) over {{ window }} / nullif(sum({{ denominator }}) over {{ window }}, 0)
{%- endmacro %}


{#- A per-game average over the window, NULL for an empty window. -#}
{% macro window_per_game(column, window) -%}
    sum({{ column }}) over {{ window }} / nullif(count(*) over {{ window }}, 0)
{%- endmacro %}


{#-
    The named windows of a WINDOW clause, `games_<n> as (...)` for each length: the player's
    previous n games (window_partition), never the game itself.
-#}
{% macro game_windows(lengths) -%}
    {%- for games in lengths %}
        games_{{ games }} as (
            partition by {{ window_partition() }}
            order by game_date, game_id
            rows between {{ games }} preceding and 1 preceding
        ){{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- The PARTITION BY of the windows: across seasons (the default) or within one. -#}
{% macro window_partition() -%}
    {#- var window_scope: all or season (macros/vars.sql) -#}
    {%- if checked_var('window_scope') == 'all' -%}
    player_lookup
    {%- else -%}
    player_lookup, season
    {%- endif -%}
{%- endmacro %}


{#- True when a game of `season` is in the windows of a game on `day` (window_partition's rule). -#}
{% macro in_window_scope(season, day) -%}
    {%- if checked_var('window_scope') == 'season' -%}
    {{ season }} = {{ season_of(day) }}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{#-
    The player-games the rolling windows read: every game, or (var include_playoffs false) the
    regular season only. The features model, the point-in-time reads and the runner's window
    reach all read this, so they count the same games.
-#}
{% macro games_in_windows() -%}
    select * from {{ ref('int_player_game_shot_zones') }}
    where {{ counts_in_windows('is_playoffs') }}
{%- endmacro %}


{#- The longest window, in games: as far back as any feature reads. -#}
{% macro longest_window() -%}
    {{ window_lengths() | max }}
{%- endmacro %}


{#-
    For each changed game in `changed_players` (change_id, d0: the changed game's date,
    player_lookup: each of its players), the later dates whose windows read it: each player's
    next games as the windows count them (games_in_windows, window_partition's scope), up to
    the longest window. The runner's survey runs it (survey.window_reach) to find the features
    partitions a re-delivered or late game makes stale.
-#}
{% macro window_reach(changed_players) %}
    with

    player_games as (

        {{ games_in_windows() }}

    ),

    later_games as (

        select
            changed.change_id,
            player_games.game_date,
            row_number() over (
                partition by changed.change_id, changed.player_lookup
                order by player_games.game_date, player_games.game_id
            ) as games_after
        from {{ changed_players }} as changed
        inner join player_games
            on
                changed.player_lookup = player_games.player_lookup
                and player_games.game_date > changed.d0
                and {{ in_window_scope('player_games.season', 'changed.d0') }}

    )

    select distinct
        change_id,
        game_date
    from later_games
    where games_after <= {{ longest_window() }}
{% endmacro %}
