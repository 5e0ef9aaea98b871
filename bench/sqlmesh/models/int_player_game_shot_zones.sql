-- models/intermediate/int_player_game_shot_zones.sql: one row per player per game
MODEL (
    name shotzones.int_player_game_shot_zones,
    kind INCREMENTAL_BY_TIME_RANGE (
        time_column (game_date, '%Y-%m-%d'),
        batch_size @VAR('batch_size')
    ),
    grain (game_id, player_lookup),
    audits (
        unique_combination_of_columns(columns := (game_id, player_lookup)),
        -- the staging views' checks, on the interval's rows (audits/staging.sql)
        plays_typed,
        shots_null_rate(column := player_lookup, max_rate := 0.01),
        shots_null_rate(column := player_lookup, max_rate := 0.001, blocking := false),
        shots_null_rate(column := original_x, max_rate := 0.25),
        shots_null_rate(column := original_x, max_rate := 0.05, blocking := false)
    )
);

with

plays as (

    select * from shotzones.stg_bigdataball__play_by_play
    where game_date between @start_date and @end_date

),

shots as (

    select * from shotzones.stg_bigdataball__shots
    where game_date between @start_date and @end_date

),

roles as (

    select
        game_id,
        game_date,
        season,
        a1_player_lookup as a1,
        a2_player_lookup as a2,
        a3_player_lookup as a3,
        a4_player_lookup as a4,
        a5_player_lookup as a5,
        h1_player_lookup as h1,
        h2_player_lookup as h2,
        h3_player_lookup as h3,
        h4_player_lookup as h4,
        h5_player_lookup as h5,
        player_lookup as actor,
        assist_player_lookup as assister,
        block_player_lookup as blocker
    from plays

),

appearances as (

    select
        game_id,
        game_date,
        season,
        role,
        appearing_player_lookup
    from roles
    unpivot (
        appearing_player_lookup for role in (a1, a2, a3, a4, a5, h1, h2, h3, h4, h5, actor, assister, blocker)
    )

),

-- every player seen in the game, in any role, and the side his lineup slots put him on
players as (

    select
        game_id,
        appearing_player_lookup as player_lookup,
        min(game_date) as game_date,
        min(season) as season,
        -- macros/identifiers.sql is_playoff_game: playoffs 004..., play-in 005...
        substr(game_id, 1, 3) in ('004', '005') as is_playoffs,
        max(
            case
                when role like 'a_' then 'away'
                when role like 'h_' then 'home'
            end
        ) as side
    from appearances
    group by game_id, appearing_player_lookup

),

acting_events as (

    select
        game_id,
        player_lookup,
        team_abbr,
        case
            when player_lookup in (
                a1_player_lookup, a2_player_lookup, a3_player_lookup, a4_player_lookup, a5_player_lookup
            ) then 'away'
            when player_lookup in (
                h1_player_lookup, h2_player_lookup, h3_player_lookup, h4_player_lookup, h5_player_lookup
            ) then 'home'
        end as side
    from plays
    where player_lookup is not null and team_abbr is not null

),

-- a player's team is the one his own events carry most often
own_teams as (

    select
        game_id,
        player_lookup,
        team_abbr
    from acting_events
    group by game_id, player_lookup, team_abbr
    qualify row_number() over (
        partition by game_id, player_lookup order by count(*) desc, team_abbr
    ) = 1

),

-- players without events of their own take the team of their lineup side
side_teams as (

    select
        game_id,
        side,
        team_abbr
    from acting_events
    where side is not null
    group by game_id, side, team_abbr
    qualify row_number() over (
        partition by game_id, side order by count(*) desc, team_abbr
    ) = 1

),

shooting as (

    select
        game_id,
        player_lookup,
        count(*) as fga,
        @count_where(is_made) as fgm,
        @count_where(zone_group = 'paint') as paint_fga,
        @count_where(zone_group = 'paint' and is_made) as paint_fgm,
        @count_where(zone_group = 'mid_range') as mid_range_fga,
        @count_where(zone_group = 'mid_range' and is_made) as mid_range_fgm,
        @count_where(zone_group = 'three') as three_pt_fga,
        @count_where(zone_group = 'three' and is_made) as three_pt_fgm,
        @count_where(shot_zone in ('Left Corner 3', 'Right Corner 3')) as corner_three_fga,
        @count_where(is_assisted) as assisted_fgm,
        @count_where(is_made and not is_assisted) as unassisted_fgm,
        @count_where(blocker_player_lookup is not null) as blocked_fga
    from shots
    where player_lookup is not null
    group by game_id, player_lookup

),

-- a free throw `1 of 1` follows a made, fouled shot; technical and flagrant ones are typed otherwise
and_ones as (

    select
        game_id,
        player_lookup,
        count(*) as and1_count
    from plays
    where
        player_lookup is not null
        and lower(event_subtype) in ('free throw 1 of 1', 'free throw 1/1')
    group by game_id, player_lookup

),

blocking as (

    select
        game_id,
        blocker_player_lookup as player_lookup,
        @count_where(zone_group = 'paint') as blocks_paint,
        @count_where(zone_group = 'mid_range') as blocks_mid_range,
        @count_where(zone_group = 'three') as blocks_three
    from shots
    where blocker_player_lookup is not null
    group by game_id, blocker_player_lookup

),

final as (

    select
        players.game_id,
        players.player_lookup,
        players.game_date,
        players.season,
        players.is_playoffs,
        coalesce(own_teams.team_abbr, side_teams.team_abbr) as team_abbr,
        coalesce(shooting.fga, 0) as fga,
        coalesce(shooting.fgm, 0) as fgm,
        coalesce(shooting.paint_fga, 0) as paint_fga,
        coalesce(shooting.paint_fgm, 0) as paint_fgm,
        coalesce(shooting.mid_range_fga, 0) as mid_range_fga,
        coalesce(shooting.mid_range_fgm, 0) as mid_range_fgm,
        coalesce(shooting.three_pt_fga, 0) as three_pt_fga,
        coalesce(shooting.three_pt_fgm, 0) as three_pt_fgm,
        coalesce(shooting.corner_three_fga, 0) as corner_three_fga,
        coalesce(shooting.assisted_fgm, 0) as assisted_fgm,
        coalesce(shooting.unassisted_fgm, 0) as unassisted_fgm,
        coalesce(shooting.blocked_fga, 0) as blocked_fga,
        coalesce(and_ones.and1_count, 0) as and1_count,
        coalesce(blocking.blocks_paint, 0) as blocks_paint,
        coalesce(blocking.blocks_mid_range, 0) as blocks_mid_range,
        coalesce(blocking.blocks_three, 0) as blocks_three
    from players
    left join own_teams
        on players.game_id = own_teams.game_id and players.player_lookup = own_teams.player_lookup
    left join side_teams
        on players.game_id = side_teams.game_id and players.side = side_teams.side
    left join shooting
        on players.game_id = shooting.game_id and players.player_lookup = shooting.player_lookup
    left join and_ones
        on players.game_id = and_ones.game_id and players.player_lookup = and_ones.player_lookup
    left join blocking
        on players.game_id = blocking.game_id and players.player_lookup = blocking.player_lookup

)

select * from final
