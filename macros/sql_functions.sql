{#- Portable building blocks whose spelling differs between warehouses. Each has a duckdb__ and a
    bigquery__ version; any other adapter stops at compile time rather than run SQL that fails
    there or, worse, runs and means something else. -#}

{% macro unsupported_on_adapter(macro_name) -%}
    {{ exceptions.raise_compiler_error(
        macro_name ~ " is not supported on " ~ adapter.type() ~ ": add a "
        ~ adapter.type() ~ "__" ~ macro_name ~ " macro"
    ) }}
{%- endmacro %}

{% macro regexp_replace_all(expression, pattern, replacement) %}
    {{ return(adapter.dispatch('regexp_replace_all', 'shotzones')(expression, pattern, replacement)) }}
{% endmacro %}

{#- Postgres, for one, replaces only the first match unless told otherwise. -#}
{% macro default__regexp_replace_all(expression, pattern, replacement) -%}
    {{ unsupported_on_adapter('regexp_replace_all') }}
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
    {{ unsupported_on_adapter('strip_accents') }}
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
    {{ unsupported_on_adapter('try_to_double') }}
{%- endmacro %}

{% macro duckdb__try_to_double(expression) -%}
    try_cast(nullif(trim({{ expression }}), '') as double)
{%- endmacro %}

{% macro bigquery__try_to_double(expression) -%}
    safe_cast(nullif(trim({{ expression }}), '') as float64)
{%- endmacro %}


{% macro try_to_integer(expression) %}
    {{ return(adapter.dispatch('try_to_integer', 'shotzones')(expression)) }}
{% endmacro %}

{% macro default__try_to_integer(expression) -%}
    {{ unsupported_on_adapter('try_to_integer') }}
{%- endmacro %}

{% macro duckdb__try_to_integer(expression) -%}
    try_cast(nullif(trim({{ expression }}), '') as integer)
{%- endmacro %}

{#- BigQuery's string-to-INT64 cast refuses `3.0`, which DuckDB's reads as 3: through NUMERIC,
    whose cast to INT64 rounds half away from zero as DuckDB's string cast does (`3.5` is 4,
    `-2.5` is -3); blank, empty and `abc` are NULL on both. -#}
{% macro bigquery__try_to_integer(expression) -%}
    safe_cast(safe_cast(nullif(trim({{ expression }}), '') as numeric) as int64)
{%- endmacro %}


{#- `M/D/YYYY` or `YYYY-MM-DD`, both seen in one file. -#}
{% macro parse_game_date(expression) %}
    {{ return(adapter.dispatch('parse_game_date', 'shotzones')(expression)) }}
{% endmacro %}

{% macro default__parse_game_date(expression) -%}
    {{ unsupported_on_adapter('parse_game_date') }}
{%- endmacro %}

{% macro duckdb__parse_game_date(expression) -%}
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


{#- `h:mm:ss` clock strings, with or without fractional seconds (`0:11:45.6`), to whole seconds
    (rounded half to even, as DuckDB casts its interval's epoch). -#}
{% macro clock_to_seconds(expression) %}
    {{ return(adapter.dispatch('clock_to_seconds', 'shotzones')(expression)) }}
{% endmacro %}

{% macro default__clock_to_seconds(expression) -%}
    {{ unsupported_on_adapter('clock_to_seconds') }}
{%- endmacro %}

{% macro duckdb__clock_to_seconds(expression) -%}
    cast(extract(epoch from try_cast(trim({{ expression }}) as interval)) as integer)
{%- endmacro %}

{#- Every clock the loader accepts (`[0-9]+:[0-5][0-9]:[0-5][0-9](\.[0-9]+)?`), as DuckDB reads it:
    hours past 23 (PARSE_TIME refuses them), fractions cut to microseconds, then rounded half to
    even; anything else NULL. -#}
{% macro bigquery__clock_to_seconds(expression) -%}
    if(
        regexp_contains(trim({{ expression }}), r'^[0-9]+:[0-5]?[0-9]:[0-5][0-9](\.[0-9]*)?$'),
        safe_cast(round(
            safe_cast(split(trim({{ expression }}), ':')[safe_offset(0)] as numeric) * 3600
            + safe_cast(split(trim({{ expression }}), ':')[safe_offset(1)] as numeric) * 60
            + safe_cast(
                regexp_extract(trim({{ expression }}), r':([0-9]{2}(?:\.[0-9]{1,6})?)\.?[0-9]*$')
                as numeric
            ),
            0, 'ROUND_HALF_EVEN'
        ) as int64),
        null
    )
{%- endmacro %}


{#- BigDataBall's play_length, a signed duration: `h:mm:ss`, negative with the sign on the hours or
    the minutes (`00:-12:00`, `00:-5:00`, on the row starting each period). Portable as it stands:
    the magnitude through clock_to_seconds, whose minutes may then be a single digit. -#}
{% macro signed_clock_to_seconds(expression) -%}
    case when strpos(trim({{ expression }}), '-') > 0 then -1 else 1 end
    * {{ clock_to_seconds("replace(" ~ expression ~ ", '-', '')") }}
{%- endmacro %}


{#- How many rows of the group satisfy a condition; zero, never NULL. -#}
{% macro count_where(condition) -%}
    cast(sum(case when {{ condition }} then 1 else 0 end) as {{ dbt.type_bigint() }})
{%- endmacro %}
