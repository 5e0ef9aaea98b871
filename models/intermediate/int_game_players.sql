{{ config(materialized='view') }}

with

plays as (

    select * from {{ ref('stg_bigdataball__play_by_play') }}

),

-- the 13 player columns of a play: on court (the lineup slots, macros/lineups.sql), acting,
-- assisting, blocking; and the side the play's lineup puts each of the last three on
roles as (

    select
        game_id,
        game_date,
        season,
        is_playoffs,
        team_abbr,
        {%- for slot in lineup_slots() %}
        {{ slot }}_player_lookup as {{ slot }},
        {%- endfor %}
        player_lookup as actor,
        assist_player_lookup as assister,
        block_player_lookup as blocker,
        {{ lineup_side('player_lookup', '{}_player_lookup') }} as actor_side,
        {{ lineup_side('assist_player_lookup', '{}_player_lookup') }} as assister_side,
        {{ lineup_side('block_player_lookup', '{}_player_lookup') }} as blocker_side
    from plays

),

appearances as (

    select *
    from roles
    unpivot (
        player_lookup for role in (
            {%- for slot in lineup_slots() %}
            {{ slot }},
            {%- endfor %}
            actor,
            assister,
            blocker
        )
    )

),

final as (

    select
        game_id,
        game_date,
        season,
        is_playoffs,
        team_abbr,
        role,
        player_lookup,
        case role
            when 'actor' then actor_side
            when 'assister' then assister_side
            when 'blocker' then blocker_side
            else {{ lineup_side('role', "'{}'") }}
        end as side
    from appearances

)

select * from final
