AUDIT (
    name feature_null_rate
);
-- tests/generic/null_rate.sql on a v3 feature, per game_date, for players with a full window
select
    game_date,
    count(*) as row_count,
    @count_where(@column is null) as null_count,
    @count_where(@column is null) / count(*) as null_rate
from @this_model
where games_in_window >= 10
group by game_date
having @count_where(@column is null) / count(*) > @max_rate;

AUDIT (
    name keys_match_player_games
);
-- tests/generic/keys_match.sql: the features hold exactly the player-games' keys of the interval
with

player_games as (

    select game_id, player_lookup, game_date
    from shotzones.int_player_game_shot_zones
    where game_date between @start_date and @end_date

),

features as (

    select game_id, player_lookup, game_date from @this_model

),

missing as (

    select *, 'missing from player_shot_zone_features' as problem from player_games
    except distinct
    select *, 'missing from player_shot_zone_features' as problem from features

),

extra as (

    select *, 'not in int_player_game_shot_zones' as problem from features
    except distinct
    select *, 'not in int_player_game_shot_zones' as problem from player_games

)

select * from missing
union all
select * from extra;
