{#-
    The features the props model reads, from their one home: var `model_features` in
    dbt_project.yml. Every model, macro and the runner read them through here.
-#}

{#-
    The feature list, each entry a dict of name, numerator, denominator (counts of
    int_player_game_shot_zones) and window (player-games; default var window_games). A malformed
    entry stops the compile with a message naming it.
-#}
{% macro model_features() %}
    {%- set features = [] -%}
    {%- set entries = var('model_features') -%}
    {%- if entries is string or entries is mapping or entries is not iterable or entries | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "var model_features must be a non-empty list of {name, numerator, denominator[, window]}, got " ~ entries
        ) }}
    {%- endif -%}
    {%- for entry in entries -%}
        {%- set window = entry.get('window', checked_var('window_games')) if entry is mapping else none -%}
        {%- if entry is not mapping
            or not modules.re.fullmatch('[a-z][a-z0-9_]*', entry.get('name') | string)
            or not modules.re.fullmatch('[a-z][a-z0-9_]*', entry.get('numerator') | string)
            or not modules.re.fullmatch('[a-z][a-z0-9_]*', entry.get('denominator') | string)
            or window is not number or window is boolean or window < 1 or window != window | int -%}
            {{ exceptions.raise_compiler_error(
                "var model_features: entry " ~ loop.index ~ " must be {name, numerator, denominator[, window]}"
                ~ " (lowercase names, a window of at least 1 game), got " ~ entry
            ) }}
        {%- endif -%}
        {%- do features.append({
            'name': entry['name'], 'numerator': entry['numerator'], 'denominator': entry['denominator'],
            'window': window | int,
        }) -%}
    {%- endfor -%}
    {{ return(features) }}
{% endmacro %}


{#- Every count the features read, denominators first, each once: the league totals and the labels. -#}
{% macro feature_counts() %}
    {%- set counts = [] -%}
    {%- for side in ['denominator', 'numerator'] -%}
        {%- for feature in model_features() if feature[side] not in counts -%}
            {%- do counts.append(feature[side]) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(counts) }}
{% endmacro %}


{#- The window lengths the features table computes, in games, each once, shortest first. -#}
{% macro window_lengths() %}
    {%- set lengths = [checked_var('window_games'), checked_var('long_window_games')] -%}
    {%- for feature in model_features() -%}
        {%- do lengths.append(feature.window) -%}
    {%- endfor -%}
    {{ return(lengths | unique | sort) }}
{% endmacro %}
