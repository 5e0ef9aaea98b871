with

source as (

    select * from {{ source('bigdataball', 'schedule') }}

),

renamed as (

    select
        game_id,
        game_date,
        -- the loader's table holds an INTEGER on DuckDB: a BIGINT, as the player-games' season,
        -- so the pre-game slate and the training set type it alike
        cast(season as {{ dbt.type_bigint() }}) as season,
        away_team as away_team_abbr,
        home_team as home_team_abbr
    from source

)

select * from renamed
