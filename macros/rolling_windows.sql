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
    {%- if var('rate_method') == 'pooled' -%}
    100.0 * sum({{ numerator }}){{ over }} / nullif(sum({{ denominator }}){{ over }}, 0)
    {%- elif var('rate_method') == 'per_game_mean' -%}
    avg(100.0 * {{ numerator }} / nullif({{ denominator }}, 0)){{ over }}
    {%- else -%}
    {{ exceptions.raise_compiler_error(
        "var rate_method must be 'pooled' or 'per_game_mean', got '" ~ var('rate_method') ~ "'"
    ) }}
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


{#- The PARTITION BY of the windows: across seasons (the default) or within one. -#}
{% macro window_partition() -%}
    {%- if var('window_scope') == 'all' -%}
    player_lookup
    {%- elif var('window_scope') == 'season' -%}
    player_lookup, season
    {%- else -%}
    {{ exceptions.raise_compiler_error(
        "var window_scope must be 'all' or 'season', got '" ~ var('window_scope') ~ "'"
    ) }}
    {%- endif -%}
{%- endmacro %}


{#- True when a game of `season` is in the windows of a game on `day` (window_partition's rule). -#}
{% macro in_window_scope(season, day) -%}
    {%- if var('window_scope') == 'season' -%}
    {{ season }} = {{ season_of(day) }}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}
