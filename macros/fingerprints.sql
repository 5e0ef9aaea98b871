{#- The game fingerprint's building blocks (models/intermediate/int_games_fingerprinted.sql). -#}

{#- An integer hash of a row's columns (names, quoted here), for order-independent sums. -#}
{% macro row_hash(column_names) %}
    {{ return(adapter.dispatch('row_hash', 'shotzones')(column_names)) }}
{% endmacro %}

{% macro default__row_hash(column_names) -%}
    {{ unsupported_on_adapter('row_hash') }}
{%- endmacro %}

{% macro duckdb__row_hash(column_names) -%}
    hash(
        {%- for name in column_names %}{{ adapter.quote(name) }}{{ ', ' if not loop.last }}{% endfor -%}
    )
{%- endmacro %}

{#- 48 bits of an MD5: sums of a game's few hundred rows stay inside INT64. -#}
{% macro bigquery__row_hash(column_names) -%}
    cast(concat('0x', substr(to_hex(md5(to_json_string(struct(
        {%- for name in column_names %}{{ adapter.quote(name) }}{{ ', ' if not loop.last }}{% endfor -%}
    )))), 1, 12)) as int64)
{%- endmacro %}


{#-
    Rows loaded after the session variable shotzones_loaded_after, when it is set: the runner's
    survey re-hashes only the games loaded since its cached fingerprints (survey.LOADED_AFTER),
    and DuckDB cannot push its filter on a game's latest loaded_at below the aggregation.
    Unset, every row. Elsewhere the query's own filter on loaded_at is all there is: correct,
    as the loader writes a game whole, and as costly (BigQuery bills the columns read).
-#}
{% macro loaded_after(loaded_at) %}
    {{ return(adapter.dispatch('loaded_after', 'shotzones')(loaded_at)) }}
{% endmacro %}

{% macro default__loaded_after(loaded_at) -%}
    true
{%- endmacro %}

{% macro duckdb__loaded_after(loaded_at) -%}
    {{ loaded_at }} > coalesce(getvariable('shotzones_loaded_after'), timestamp '-infinity')
{%- endmacro %}
