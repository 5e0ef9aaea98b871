{{ config(materialized='view') }}

with

features as (

    select * from {{ ref('player_shot_zone_features') }}

),

schedule as (

    select * from {{ ref('stg_bigdataball__schedule') }}

),

-- the league's pooled rates over every game before each date
league_rates as (

    {{ league_rates_before('features', 'game_date') }}

),

final as (

    select
        features.game_id,
        features.player_lookup,
        features.game_date,
        features.season,
        features.team_abbr,
        case
            when features.team_abbr = schedule.home_team_abbr then schedule.away_team_abbr
            when features.team_abbr = schedule.away_team_abbr then schedule.home_team_abbr
        end as opponent_abbr,
        case
            when features.team_abbr = schedule.home_team_abbr then true
            when features.team_abbr = schedule.away_team_abbr then false
        end as is_home,
        {{ filled_features('features', 'league_rates') }}
    from features
    left join league_rates
        on features.game_date = league_rates.as_of_date
    left join schedule
        on features.game_id = schedule.game_id

)

select * from final
