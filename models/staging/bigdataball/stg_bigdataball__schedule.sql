with

source as (

    select * from {{ source('bigdataball', 'schedule') }}

),

renamed as (

    select
        game_id,
        game_date,
        season,
        away_team as away_team_abbr,
        home_team as home_team_abbr
    from source

)

select * from renamed
