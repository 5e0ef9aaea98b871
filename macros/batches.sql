{#-
    A run builds one batch: the game dates between vars start_date and end_date (inclusive).
    Without them it builds every loaded date. Incremental models replace exactly the dates of
    their batch, so a batch can be rebuilt any number of times and never duplicates a row.
-#}

{% macro batch_range() -%}
    {%- set start_date, end_date = var('start_date'), var('end_date') -%}
    {%- if start_date is none and end_date is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if start_date is none or end_date is none -%}
        {{ exceptions.raise_compiler_error("vars start_date and end_date go together") }}
    {%- endif -%}
    {%- set start_date, end_date = start_date | string, end_date | string -%}
    {%- if not modules.re.fullmatch('\d{4}-\d{2}-\d{2}', start_date)
        or not modules.re.fullmatch('\d{4}-\d{2}-\d{2}', end_date) or start_date > end_date -%}
        {{ exceptions.raise_compiler_error(
            "start_date and end_date must be YYYY-MM-DD with start_date <= end_date, got "
            ~ start_date ~ " and " ~ end_date
        ) }}
    {%- endif -%}
    {{ return((start_date, end_date)) }}
{%- endmacro %}


{#- True for rows of the batch. Always a filter on the partition column, as BigQuery requires. -#}
{% macro in_batch(column) -%}
    {%- set batch = batch_range() -%}
    {%- if batch is none -%}
        {{ column }} is not null
    {%- else -%}
        {{ column }} between date '{{ batch[0] }}' and date '{{ batch[1] }}'
    {%- endif -%}
{%- endmacro %}


{#- True for rows before the batch: the history a rolling window looks back into. -#}
{% macro before_batch(column) -%}
    {%- set batch = batch_range() -%}
    {%- if batch is none -%}
        false
    {%- else -%}
        {{ column }} < date '{{ batch[0] }}'
    {%- endif -%}
{%- endmacro %}


{#- Config shared by the incremental models partitioned by game_date. -#}
{% macro game_date_partitioned() %}
    {{ return(adapter.dispatch('game_date_partitioned', 'shotzones')()) }}
{% endmacro %}

{% macro default__game_date_partitioned() %}
    {{ return({'incremental_strategy': 'replace_batch'}) }}
{% endmacro %}

{% macro bigquery__game_date_partitioned() %}
    {%- set batch = batch_range() -%}
    {%- set partitions = none -%}
    {%- if batch is not none -%}
        {%- set first = modules.datetime.date.fromisoformat(batch[0]) -%}
        {%- set days = (modules.datetime.date.fromisoformat(batch[1]) - first).days -%}
        {%- set partitions = [] -%}
        {%- for offset in range(days + 1) -%}
            {%- do partitions.append("date '" ~ (first + modules.datetime.timedelta(days=offset)).isoformat() ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({
        'incremental_strategy': 'insert_overwrite',
        'partition_by': {'field': 'game_date', 'data_type': 'date', 'granularity': 'day'},
        'cluster_by': ['player_lookup'],
        'partitions': partitions,
    }) }}
{% endmacro %}


{#-
    The `replace_batch` incremental strategy: delete the batch's dates, insert the new rows. The
    dbt-duckdb incremental materialization runs both inside one transaction, so readers see the
    old partition or the new one, never a gap.
-#}
{% macro get_incremental_replace_batch_sql(arg_dict) -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ in_batch('game_date') }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
