{{ config(materialized='view') }}

with

features as (

    select * from {{ ref('player_shot_zone_features_model_ready') }}

),

player_games as (

    select * from {{ ref('int_player_game_shot_zones') }}

),

-- the model-ready features before each game (all of its columns, whatever they become), and
-- what the player then shot in it: the labels
final as (

    select
        features.*,
        player_games.fga as actual_fga,
        player_games.fgm as actual_fgm,
        player_games.paint_fga as actual_paint_fga,
        player_games.mid_range_fga as actual_mid_range_fga,
        player_games.three_pt_fga as actual_three_pt_fga,
        player_games.assisted_fgm as actual_assisted_fgm
    from features
    inner join player_games
        on
            features.game_id = player_games.game_id
            and features.player_lookup = player_games.player_lookup

)

select * from final  -- noqa: AM04
