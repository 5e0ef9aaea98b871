{#-
    Every scheduled game has play-by-play: one row per game_date whose share of scheduled games
    with any play-by-play row is below warn_min_coverage (0-1), naming the games without any,
    with its `band` and both bounds. Below min_coverage the row is in the error band and the
    test fails; below warn_min_coverage only, in the warn band, and the test warns (macro
    error_band_only). Only dates up to the latest delivered game date are compared: a game
    after it is upcoming and cannot have play-by-play yet (the runner's loaded dates end there
    too), while a past scheduled date without any still fails. No schedule loaded: nothing to
    compare, nothing fails.
-#}
{% test schedule_coverage(model, min_coverage, warn_min_coverage=none) %}

{{ config(error_if=error_band_only()) }}

{%- set warn_min_coverage = warn_min_coverage if warn_min_coverage is not none else min_coverage %}

{%- set schedule = adapter.get_relation(
    database=target.database, schema=var('raw_schema'), identifier='schedule'
) %}
{%- if schedule is none %}

select 'no schedule loaded' as band where false

{%- else %}

with

latest_delivery as (

    -- over every date, not the batch's: a batch of dates with no play-by-play must still fail
    select max(game_date) as game_date
    from {{ source('bigdataball', 'play_by_play') }}
    where {{ every_game_date('game_date') }}

),

scheduled as (

    select game_date, game_id from {{ model }}
    where game_date <= (select game_date from latest_delivery)

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

),

banded as (

    select
        *,
        case
            when coverage < {{ min_coverage }} then 'error'
            when coverage < {{ warn_min_coverage }} then 'warn'
        end as band,
        {{ min_coverage }} as min_coverage,
        {{ warn_min_coverage }} as warn_min_coverage
    from coverage

)

select * from banded
where band is not null

{%- endif %}

{% endtest %}
