-- models/marts/player_shot_zone_features.sql: point-in-time rolling features per player-game.
-- Like ours, it reads its lookback explicitly: the interval's players' earlier games, however
-- long ago, from the whole upstream table, not only the interval SQLMesh is filling.
MODEL (
    name shotzones.player_shot_zone_features,
    kind INCREMENTAL_BY_TIME_RANGE (
        time_column (game_date, '%Y-%m-%d'),
        batch_size @VAR('batch_size')
    ),
    grain (game_id, player_lookup),
    audits (
        -- the project's data tests on this model (models/marts/player_shot_zone_features.yml):
        -- the zone rates are NULL together, so paint stands for the three
        feature_null_rate(column := paint_rate_last_10, max_rate := 0.10),
        feature_null_rate(column := assisted_rate_last_10, max_rate := 0.10),
        feature_null_rate(column := paint_rate_last_10, max_rate := 0.03, blocking := false),
        feature_null_rate(column := assisted_rate_last_10, max_rate := 0.03, blocking := false)
    )
);

with

player_games as (

    select * from shotzones.int_player_game_shot_zones

),

batch_players as (

    select distinct player_lookup from player_games
    where game_date between @start_date and @end_date

),

-- every earlier game of the interval's players, however long ago: the windows' lookback
player_histories as (

    select
        player_games.*,
        player_games.game_date between @start_date and @end_date as is_in_batch,
        row_number() over (
            partition by player_games.player_lookup
            order by player_games.game_date, player_games.game_id
        ) as game_number
    from player_games
    inner join batch_players
        on player_games.player_lookup = batch_players.player_lookup
    where player_games.game_date <= @end_date

),

-- each interval player's first game in the interval
first_batch_games as (

    select
        player_lookup,
        min(game_number) as first_batch_game_number
    from player_histories
    where is_in_batch
    group by player_lookup

),

-- of that history, what the longest window (20 games) reaches back from there, onwards
lookbacks as (

    select player_histories.*
    from player_histories
    inner join first_batch_games
        on player_histories.player_lookup = first_batch_games.player_lookup
    where player_histories.game_number >= first_batch_games.first_batch_game_number - 20

),

windowed as (

    select
        game_id,
        player_lookup,
        game_date,
        season,
        team_abbr,

        -- the v3 model's four features
        @window_rate(paint_fga, fga, last_10) as paint_rate_last_10,
        @window_rate(mid_range_fga, fga, last_10) as mid_range_rate_last_10,
        @window_rate(three_pt_fga, fga, last_10) as three_pt_rate_last_10,
        @window_rate(assisted_fgm, fgm, last_10) as assisted_rate_last_10,
        @window_rate(unassisted_fgm, fgm, last_10) as unassisted_rate_last_10,
        count(*) over last_10 as games_in_window,
        coalesce(sum(fga) over last_10, 0) as fga_in_window,

        -- shooting by zone over the window
        @window_rate(paint_fgm, paint_fga, last_10) as paint_fg_pct_last_10,
        @window_per_game(paint_fga, last_10) as paint_fga_per_game_last_10,
        @window_rate(mid_range_fgm, mid_range_fga, last_10) as mid_range_fg_pct_last_10,
        @window_per_game(mid_range_fga, last_10) as mid_range_fga_per_game_last_10,
        @window_rate(three_pt_fgm, three_pt_fga, last_10) as three_pt_fg_pct_last_10,
        @window_per_game(three_pt_fga, last_10) as three_pt_fga_per_game_last_10,
        @window_per_game(and1_count, last_10) as and1_per_game_last_10,
        @window_per_game(blocks_paint, last_10) as blocks_paint_per_game_last_10,
        @window_per_game(blocks_mid_range, last_10) as blocks_mid_range_per_game_last_10,
        @window_per_game(blocks_three, last_10) as blocks_three_per_game_last_10,

        -- the longer window, only once it is mostly full
        count(*) over last_20 as games_in_window_20,
        case
            when count(*) over last_20 >= 15 then @window_rate(paint_fga, fga, last_20)
        end as paint_rate_last_20,
        case
            when count(*) over last_20 >= 15 then @window_rate(mid_range_fga, fga, last_20)
        end as mid_range_rate_last_20,
        case
            when count(*) over last_20 >= 15 then @window_rate(three_pt_fga, fga, last_20)
        end as three_pt_rate_last_20,
        case
            when count(*) over last_20 >= 15 then @window_rate(assisted_fgm, fgm, last_20)
        end as assisted_rate_last_20

    from lookbacks
    window
        last_10 as (
            partition by player_lookup
            order by game_date, game_id
            rows between 10 preceding and 1 preceding
        ),
        last_20 as (
            partition by player_lookup
            order by game_date, game_id
            rows between 20 preceding and 1 preceding
        )

),

final as (

    select * from windowed
    where game_date between @start_date and @end_date

)

select * from final
