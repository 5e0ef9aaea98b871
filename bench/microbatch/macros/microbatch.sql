{#-
    How the shotzones models become dbt microbatch models, without touching their SQL.
-#}

{#- The models' config: dbt's microbatch strategy, one batch per calendar day. -#}
{% macro default__game_date_partitioned() %}
    {{ return({
        'incremental_strategy': 'microbatch',
        'event_time': 'game_date',
        'batch_size': 'day',
        'begin': '2015-10-01',
    }) }}
{% endmacro %}


{#-
    The models take their batches from SHOTZONES_BATCHES (macros/batches.sql: in_batch,
    up_to_batch_end). In a microbatch run it is the day dbt is building, so each batch runs
    exactly the SQL the shotzones runner runs for a one-day batch. Every other variable goes to
    dbt's own env_var().
-#}
{% macro env_var() -%}
    {%- set batch = model.get('batch') if model is mapping else none -%}
    {%- if varargs and varargs[0] == 'SHOTZONES_BATCHES' and batch and batch.get('event_time_start') -%}
        {%- set first = modules.datetime.date.fromisoformat((batch.get('event_time_start') | string)[:10]) -%}
        {%- set last = modules.datetime.date.fromisoformat((batch.get('event_time_end') | string)[:10])
            - modules.datetime.timedelta(days=1) -%}
        {{ return(tojson([[first.isoformat(), last.isoformat()]])) }}
    {%- endif -%}
    {{ return(builtins.env_var(*varargs, **kwargs)) }}
{%- endmacro %}


{#-
    The microbatch trap (SPEC 9): dbt filters every ref to a model with `event_time` to the
    batch, which would cut player_shot_zone_features' windows to one day. `.render()` is dbt's
    documented opt-out; the model reads its players' history itself (up_to_batch_end).
-#}
{% macro ref() -%}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- if relation is not none and relation.event_time_filter is not none -%}
        {{ return(relation.render()) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}


{#-
    dbt-duckdb's microbatch strategy, less its refusal of `unique_key` (the models declare their
    key; microbatch ignores it): delete the batch's days, insert the batch's rows.
-#}
{% macro duckdb__get_incremental_microbatch_sql(arg_dict) -%}
    {%- set event_time = config.get('event_time') -%}
    {%- set batch = model.get('batch') -%}
    {%- set predicate -%}
        {{ event_time }} >= '{{ batch.get('event_time_start') }}' and {{ event_time }} < '{{ batch.get('event_time_end') }}'
    {%- endset -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }} where {{ predicate }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }} where {{ predicate }};
{%- endmacro %}
