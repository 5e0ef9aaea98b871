{{ config(materialized='view') }}

{%- set lineup_slots = ['a1', 'a2', 'a3', 'a4', 'a5', 'h1', 'h2', 'h3', 'h4', 'h5'] %}

with

plays as (

    select * from {{ ref('stg_bigdataball__play_by_play') }}

),

-- the 13 player columns of a play: on court (a1..a5 away, h1..h5 home), acting, assisting,
-- blocking
roles as (

    select
        game_id,
        game_date,
        season,
        is_playoffs,
        {%- for slot in lineup_slots %}
        {{ slot }}_player_lookup as {{ slot }},
        {%- endfor %}
        player_lookup as actor,
        assist_player_lookup as assister,
        block_player_lookup as blocker
    from plays

),

final as (

    select
        game_id,
        game_date,
        season,
        is_playoffs,
        role,
        player_lookup
    from roles
    unpivot (
        player_lookup for role in (
            {%- for slot in lineup_slots %}
            {{ slot }},
            {%- endfor %}
            actor,
            assister,
            blocker
        )
    )

)

select * from final
