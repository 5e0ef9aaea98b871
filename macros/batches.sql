{#-
    A run builds one wave of batches: the game-date ranges in the environment variable
    SHOTZONES_BATCHES (`[["2021-10-19", "2021-10-25"], ...]`, as the runner passes them), or
    the single range start_date..end_date (inclusive) a user may pass as vars. With neither it
    builds every loaded date. Incremental models replace exactly the dates of their batches, so
    a batch can be rebuilt any number of times and never duplicates a row.

    An environment variable, not a var: dbt re-parses the whole project whenever vars change,
    but only the files that read a changed environment variable. SQL needs the batches only
    when it runs (`execute`), so nothing reads it while dbt parses and a new wave re-parses
    nothing; BigQuery's static `partitions` config alone needs them at parse time
    (`for_config`), which re-parses the two incremental models.
-#}

{% macro batch_ranges(for_config=false) -%}
    {%- set from_env = env_var('SHOTZONES_BATCHES', '') if execute or for_config else '' -%}
    {%- set ranges = fromjson(from_env) if from_env else none -%}
    {%- set start_date, end_date = checked_var('start_date'), checked_var('end_date') -%}
    {%- if ranges is none and (start_date is not none or end_date is not none) -%}
        {%- set ranges = [[start_date, end_date]] -%}
    {%- endif -%}
    {%- if ranges is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set checked = [] -%}
    {%- for first, last in ranges -%}
        {%- set first, last = first | string, last | string -%}
        {%- if not modules.re.fullmatch('\\d{4}-\\d{2}-\\d{2}', first)
            or not modules.re.fullmatch('\\d{4}-\\d{2}-\\d{2}', last) or first > last -%}
            {{ exceptions.raise_compiler_error(
                "a batch needs YYYY-MM-DD bounds with start <= end, got " ~ first ~ " and " ~ last
            ) }}
        {%- endif -%}
        {%- do checked.append((first, last)) -%}
    {%- endfor -%}
    {{ return(checked) }}
{%- endmacro %}


{#-
    True for every date. A comparison, not `is not null`: BigQuery accepts only a filter it can
    prune partitions with where a table requires one (from the first NBA game: var
    first_game_date).
-#}
{% macro every_game_date(column) -%}
    {{ column }} >= date '{{ var('first_game_date') }}'
{%- endmacro %}


{#- True for rows of the batches. Always a filter on the partition column, as BigQuery requires. -#}
{% macro in_batch(column) -%}
    {%- set ranges = batch_ranges() -%}
    {%- if ranges is none -%}
        {{ every_game_date(column) }}
    {%- else -%}
        (
        {%- for first, last in ranges %}
            {{ 'or ' if not loop.first }}{{ column }} between date '{{ first }}' and date '{{ last }}'
        {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}


{#- True for rows up to the last batch's end: all a rolling window can look back into. -#}
{% macro up_to_batch_end(column) -%}
    {%- set ranges = batch_ranges() -%}
    {%- if ranges is none -%}
        {{ every_game_date(column) }}
    {%- else -%}
        {{ column }} <= date '{{ ranges | map(attribute=1) | max }}'
    {%- endif -%}
{%- endmacro %}


{#-
    Data tests look only at the batches a run built, and at every loaded date in a plain
    `dbt build`; either way through a filter on game_date, which BigQuery's
    require_partition_filter demands of every read of the raw table. Only relations partitioned
    by game_date are filtered: those whose YAML declares a game_date column (every model and
    source here that has one declares it). Any other relation is tested whole.
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if has_game_date(relation) -%}
        {%- set where = in_batch('game_date') ~ (' and (' ~ where ~ ')' if where else '') -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') as dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}


{#- True when the model or source behind a relation declares a game_date column in its YAML. -#}
{% macro has_game_date(relation) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | list
        + graph.sources.values() | list -%}
    {%- for node in nodes -%}
        {%- set identifier = node.get('identifier') or node.get('alias') -%}
        {%- if (identifier | lower, node.schema | lower) == (relation.identifier | lower, relation.schema | lower) -%}
            {{ return('game_date' in node.columns) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}


{#- Config shared by the incremental models partitioned by game_date. -#}
{% macro game_date_partitioned() %}
    {{ return(adapter.dispatch('game_date_partitioned', 'shotzones')()) }}
{% endmacro %}

{% macro default__game_date_partitioned() %}
    {{ return({'incremental_strategy': 'replace_batch'}) }}
{% endmacro %}

{% macro bigquery__game_date_partitioned() %}
    {%- set partitions = none -%}
    {%- set ranges = batch_ranges(for_config=true) -%}
    {%- if ranges is not none -%}
        {%- set partitions = [] -%}
        {%- for first, last in ranges -%}
            {%- set day = modules.datetime.date.fromisoformat(first) -%}
            {%- for offset in range((modules.datetime.date.fromisoformat(last) - day).days + 1) -%}
                {%- do partitions.append("date '" ~ (day + modules.datetime.timedelta(days=offset)).isoformat() ~ "'") -%}
            {%- endfor -%}
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
    The `replace_batch` incremental strategy: delete the batches' dates, insert the new rows. The
    dbt-duckdb incremental materialization runs both inside one transaction, so readers see the
    old partitions or the new ones, never a gap.
-#}
{% macro get_incremental_replace_batch_sql(arg_dict) -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ in_batch('game_date') }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
