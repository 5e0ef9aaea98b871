{#- Canonical identifiers, SPEC section 3. -#}

{#- The digits of the raw value, left-padded to 10: `21700002` and `="0021700002"` -> `0021700002`. -#}
{% macro canonical_game_id(expression) -%}
    lpad({{ regexp_replace_all(expression, '[^0-9]', '') }}, 10, '0')
{%- endmacro %}


{#-
    Player names to join keys: accents folded to ASCII, lowercased, split into [a-z0-9]+ tokens,
    suffix tokens (jr sr ii iii iv) dropped, tokens joined, leading digits (the NBA id prefix of
    2024-era files) stripped. Tokens are separated by two spaces and the string padded by one,
    so that adjacent suffix tokens each keep their own spaces for the suffix pattern.
-#}
{% macro player_lookup(expression) -%}
    {%- set folded = "lower(" ~ strip_accents(expression) ~ ")" -%}
    {%- set spaced = "concat(' ', " ~ regexp_replace_all(folded, '[^a-z0-9]+', '  ') ~ ", ' ')" -%}
    {%- set without_suffixes = regexp_replace_all(spaced, ' (jr|sr|ii|iii|iv) ', '') -%}
    {%- set joined = regexp_replace_all(without_suffixes, ' ', '') -%}
    nullif({{ regexp_replace_all(joined, '^[0-9]+', '') }}, '')
{%- endmacro %}


{#- Postseason games, from the canonical game_id: playoffs `004...`, play-in `005...` (SPEC 2). -#}
{% macro is_playoff_game(game_id) -%}
    substr({{ game_id }}, 1, 3) in ('004', '005')
{%- endmacro %}


{#- Whether a player-game counts in the rolling windows: var `include_playoffs` false leaves the
    postseason (play-in included) out of the windows and the features. -#}
{% macro counts_in_windows(is_playoffs) -%}
    {{ 'true' if checked_var('include_playoffs') else 'not ' ~ is_playoffs }}
{%- endmacro %}


{#- A season is named by its starting year: August onwards belongs to that year's season (the
    models' season column; `shotzones status` groups its calendar by it). -#}
{% macro season_of(date_expression) -%}
    case
        when extract(month from {{ date_expression }}) >= 8 then extract(year from {{ date_expression }})
        else extract(year from {{ date_expression }}) - 1
    end
{%- endmacro %}
