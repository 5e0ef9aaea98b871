{#-
    What each constrained var accepts: the one home of these rules (dbt_project.yml says what
    each var means). Models and macros read a constrained var through `checked_var(name)`, so
    compiling (or parsing) a model that reads a bad value stops with one line,
    "var <name> must be <what it accepts>, got <value>", which the runner shows alone;
    `check_vars()` checks every one at once (stg_bigdataball__play_by_play calls it, so a
    compile of the project checks the vars only data tests read too: the data-quality bands).
    var model_features is checked where it is read (macros/model_features.sql).
-#}

{#- Each constrained var: its kind (choice, whole, fraction, boolean, date) and what it accepts. -#}
{% macro var_rules() %}
    {%- set fraction = {'kind': 'fraction', 'accepts': 'a fraction from 0 to 1'} -%}
    {%- set whole = {'kind': 'whole', 'least': 1, 'accepts': 'a whole number of at least 1'} -%}
    {{ return({
        'zone_scheme': {'kind': 'choice', 'choices': ['official', 'legacy_distance']},
        'rate_method': {'kind': 'choice', 'choices': ['pooled', 'per_game_mean']},
        'window_scope': {'kind': 'choice', 'choices': ['all', 'season']},
        'window_games': whole,
        'long_window_games': whole,
        'long_window_min_games': {
            'kind': 'whole', 'least': 1, 'most': 'long_window_games',
            'accepts': 'a whole number from 1 to long_window_games',
        },
        'slate_recent_team_games': whole,
        'include_playoffs': {'kind': 'boolean', 'accepts': 'true or false'},
        'shot_player_null_rate_warn': fraction,
        'shot_player_null_rate_error': fraction,
        'shots_without_coordinates_warn': fraction,
        'shots_without_coordinates_error': fraction,
        'feature_null_rate_warn': fraction,
        'feature_null_rate_error': fraction,
        'schedule_coverage_warn': fraction,
        'schedule_coverage_error': fraction,
        'start_date': {
            'kind': 'date', 'other': 'end_date', 'order': 'before',
            'accepts': 'a date (YYYY-MM-DD) on or before end_date, or null with end_date null',
        },
        'end_date': {
            'kind': 'date', 'other': 'start_date', 'order': 'after',
            'accepts': 'a date (YYYY-MM-DD) on or after start_date, or null with start_date null',
        },
    }) }}
{% endmacro %}


{#- A value as the user wrote it in YAML: 'text', 12, true, null. -#}
{% macro var_as_written(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is boolean -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is string -%}
        '{{ value }}'
    {%- else -%}
        {{ value }}
    {%- endif -%}
{%- endmacro %}


{#- A date as YAML gives it (2022-10-18) or as a string: YYYY-MM-DD. -#}
{% macro is_var_date(value) %}
    {{ return(value is not none and value is not number and value is not boolean and modules.re.fullmatch(
        '\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])', value | string) is not none) }}
{% endmacro %}


{#- var(name), after checking it against its rule in var_rules(): a bad value stops the compile. -#}
{% macro checked_var(name) %}
    {%- set rules = var_rules() -%}
    {%- if name not in rules -%}
        {{ exceptions.raise_compiler_error("checked_var: var " ~ name ~ " has no rule in var_rules()") }}
    {%- endif -%}
    {%- set rule = rules[name] -%}
    {%- set value = var(name) -%}
    {%- set accepts = rule.get('accepts') -%}
    {%- if rule.kind == 'choice' -%}
        {%- set ok = value is string and value in rule.choices -%}
        {%- set quoted = [] -%}
        {%- for choice in rule.choices -%}
            {%- do quoted.append("'" ~ choice ~ "'") -%}
        {%- endfor -%}
        {%- set accepts = (quoted[:-1] | join(', ')) ~ ' or ' ~ quoted[-1] -%}
    {%- elif rule.kind == 'whole' -%}
        {%- set most = checked_var(rule.most) if rule.get('most') else none -%}
        {%- set ok = value is integer and value >= rule.least and (most is none or value <= most) -%}
        {%- if most is not none -%}
            {%- set accepts = accepts ~ ' (' ~ most ~ ')' -%}
        {%- endif -%}
    {%- elif rule.kind == 'fraction' -%}
        {%- set ok = value is number and value is not boolean and 0 <= value <= 1 -%}
    {%- elif rule.kind == 'boolean' -%}
        {%- set ok = value is boolean -%}
    {%- elif rule.kind == 'date' -%}
        {#- both bounds of one range, or neither; a bad or missing other bound is the other's error -#}
        {%- set other = var(rule.other) -%}
        {%- if value is none -%}
            {%- set ok = not is_var_date(other) -%}
        {%- elif is_var_date(value) -%}
            {%- set ok = not is_var_date(other)
                or (rule.order == 'before' and value | string <= other | string)
                or (rule.order == 'after' and value | string >= other | string) -%}
        {%- else -%}
            {%- set ok = false -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not ok -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be " ~ accepts ~ ", got " ~ var_as_written(value)
        ) }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}


{#- Every constrained var checked: the first bad one stops the compile. -#}
{% macro check_vars() %}
    {%- for name in var_rules() -%}
        {%- do checked_var(name) -%}
    {%- endfor -%}
{% endmacro %}
