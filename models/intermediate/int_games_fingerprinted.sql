{{ config(materialized='ephemeral') }}

with

plays as (

    select * from {{ source('bigdataball', 'play_by_play') }}
    where
        {{ every_game_date('game_date') }}
        and {{ loaded_after('loaded_at') }}

),

hashed as (

    select
        game_date,
        {{ canonical_game_id('game_id') }} as game_id,
        {{ row_hash(var('delivered_columns')) }} as row_hash,
        loaded_at
    from plays

),

final as (

    select
        game_date,
        game_id,
        count(*) as row_count,
        cast(sum(row_hash) as {{ dbt.type_string() }}) as content_hash,
        max(loaded_at) as loaded_at
    from hashed
    group by game_date, game_id

)

select * from final
