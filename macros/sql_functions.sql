{#- Portable building blocks whose spelling differs between warehouses. -#}

{% macro regexp_replace_all(expression, pattern, replacement) %}
    {{ return(adapter.dispatch('regexp_replace_all', 'shotzones')(expression, pattern, replacement)) }}
{% endmacro %}

{% macro default__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro duckdb__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro bigquery__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, r'{{ pattern }}', '{{ replacement }}')
{%- endmacro %}


{% macro strip_accents(expression) %}
    {{ return(adapter.dispatch('strip_accents', 'shotzones')(expression)) }}
{% endmacro %}

{% macro default__strip_accents(expression) -%}
    {{ expression }}
{%- endmacro %}

{% macro duckdb__strip_accents(expression) -%}
    strip_accents({{ expression }})
{%- endmacro %}

{% macro bigquery__strip_accents(expression) -%}
    regexp_replace(normalize({{ expression }}, nfkd), r'\p{M}', '')
{%- endmacro %}


{#- A number, or NULL for anything that does not parse (`unknown`, empty). -#}
{% macro try_to_double(expression) %}
    {{ return(adapter.dispatch('try_to_double', 'shotzones')(expression)) }}
{% endmacro %}

{% macro default__try_to_double(expression) -%}
    try_cast(nullif(trim({{ expression }}), '') as double)
{%- endmacro %}

{% macro bigquery__try_to_double(expression) -%}
    safe_cast(nullif(trim({{ expression }}), '') as float64)
{%- endmacro %}


{% macro try_to_integer(expression) %}
    {{ return(adapter.dispatch('try_to_integer', 'shotzones')(expression)) }}
{% endmacro %}

{% macro default__try_to_integer(expression) -%}
    try_cast(nullif(trim({{ expression }}), '') as integer)
{%- endmacro %}

{% macro bigquery__try_to_integer(expression) -%}
    safe_cast(nullif(trim({{ expression }}), '') as int64)
{%- endmacro %}


{#- `M/D/YYYY` or `YYYY-MM-DD`, both seen in one file. -#}
{% macro parse_game_date(expression) %}
    {{ return(adapter.dispatch('parse_game_date', 'shotzones')(expression)) }}
{% endmacro %}

{% macro default__parse_game_date(expression) -%}
    coalesce(
        try_strptime(trim({{ expression }}), '%m/%d/%Y'),
        try_strptime(trim({{ expression }}), '%Y-%m-%d')
    )::date
{%- endmacro %}

{% macro bigquery__parse_game_date(expression) -%}
    coalesce(
        safe.parse_date('%m/%d/%Y', trim({{ expression }})),
        safe.parse_date('%Y-%m-%d', trim({{ expression }}))
    )
{%- endmacro %}


{#- `h:mm:ss` clock strings to whole seconds. -#}
{% macro clock_to_seconds(expression) %}
    {{ return(adapter.dispatch('clock_to_seconds', 'shotzones')(expression)) }}
{% endmacro %}

{% macro default__clock_to_seconds(expression) -%}
    cast(extract(epoch from try_cast(trim({{ expression }}) as interval)) as integer)
{%- endmacro %}

{% macro bigquery__clock_to_seconds(expression) -%}
    time_diff(safe.parse_time('%H:%M:%S', trim({{ expression }})), time '00:00:00', second)
{%- endmacro %}


{#- How many rows of the group satisfy a condition; zero, never NULL. -#}
{% macro count_where(condition) -%}
    cast(sum(case when {{ condition }} then 1 else 0 end) as {{ dbt.type_bigint() }})
{%- endmacro %}
