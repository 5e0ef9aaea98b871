{{ config(materialized='view') }}

with

plays as (

    select * from {{ ref('stg_bigdataball__play_by_play') }}

),

field_goal_attempts as (

    select
        game_id,
        game_date,
        season,
        period,
        event_order,
        player_lookup,
        team_abbr,
        coalesce(result = 'made', false) as is_made,
        -- 2017-era files show a three only in the description; later ones type it `3pt ...`
        coalesce(
            upper(description) like '%3PT%'
            or lower(event_subtype) like '3pt%'
            or points = 3,
            false
        ) as is_three,
        assist_player_lookup,
        block_player_lookup as blocker_player_lookup,
        shot_distance,
        original_x,
        original_y
    from plays
    -- free throws are not field-goal attempts
    where event_type in ('shot', 'miss')

),

zoned as (

    select
        *,
        {{ shot_zone('original_x', 'original_y', 'shot_distance', 'is_three') }} as shot_zone,
        {{ zone_source('original_x', 'original_y') }} as zone_source
    from field_goal_attempts

),

final as (

    select
        game_id,
        game_date,
        season,
        period,
        event_order,
        player_lookup,
        team_abbr,
        shot_zone,
        {{ zone_group('shot_zone') }} as zone_group,
        zone_source,
        is_made,
        is_three,
        is_made and assist_player_lookup is not null as is_assisted,
        assist_player_lookup,
        blocker_player_lookup,
        shot_distance,
        original_x,
        original_y
    from zoned

)

select * from final
