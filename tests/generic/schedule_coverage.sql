{#-
    Every scheduled game has play-by-play: one failing row per game_date whose share of
    scheduled games with any play-by-play row is below min_coverage (0-1), naming the games
    without any. No schedule loaded:
    nothing to compare, nothing fails.
-#}
{% test schedule_coverage(model, min_coverage) %}

{%- set schedule = adapter.get_relation(
    database=target.database, schema=var('raw_schema'), identifier='schedule'
) %}
{%- if schedule is none %}

select 1 as no_schedule_loaded where false

{%- else %}

with

scheduled as (

    select game_date, game_id from {{ model }}

),

delivered as (

    select distinct {{ canonical_game_id('game_id') }} as game_id
    from {{ source('bigdataball', 'play_by_play') }}
    where {{ in_batch('game_date') }}

),

coverage as (

    select
        scheduled.game_date,
        count(*) as scheduled_games,
        count(delivered.game_id) as games_with_play_by_play,
        count(delivered.game_id) / count(*) as coverage,
        string_agg(case when delivered.game_id is null then scheduled.game_id end, ', ') as missing_games
    from scheduled
    left join delivered on scheduled.game_id = delivered.game_id
    group by scheduled.game_date

)

select * from coverage
where coverage < {{ min_coverage }}

{%- endif %}

{% endtest %}
