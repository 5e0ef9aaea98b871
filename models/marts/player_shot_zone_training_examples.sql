{{ config(materialized='view') }}

with

features as (

    select * from {{ ref('player_shot_zone_features_model_ready') }}

),

player_games as (

    select * from {{ ref('int_player_game_shot_zones') }}

),

-- the model-ready features before each game (all of its columns, whatever they become), and
-- what the player then shot in it: the labels, every count the features read
final as (

    select
        features.*,
        {%- for count in feature_counts() %}
        player_games.{{ count }} as actual_{{ count }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from features
    inner join player_games
        on
            features.game_id = player_games.game_id
            and features.player_lookup = player_games.player_lookup

)

select * from final  -- noqa: AM04
