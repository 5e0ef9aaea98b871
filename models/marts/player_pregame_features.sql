{{ config(materialized='view') }}

with

schedule as (

    select * from {{ ref('stg_bigdataball__schedule') }}
    where {{ scheduled_for_slate('game_date') }}

),

player_games as (

    {{ games_in_windows() }}

),

-- both sides of every scheduled game
scheduled_sides as (

    select
        game_id,
        game_date,
        season,
        away_team_abbr as team_abbr,
        home_team_abbr as opponent_abbr,
        false as is_home
    from schedule
    union all
    select
        game_id,
        game_date,
        season,
        home_team_abbr as team_abbr,
        away_team_abbr as opponent_abbr,
        true as is_home
    from schedule

),

-- each team's games in order, with the date of its next one
team_games as (

    select
        team_abbr,
        game_id,
        game_date,
        row_number() over (partition by team_abbr order by game_date, game_id) as team_game_number,
        lead(game_date) over (partition by team_abbr order by game_date, game_id) as next_game_date
    from (
        select distinct
            team_abbr,
            game_id,
            game_date
        from player_games
        where team_abbr is not null
    ) as played

),

-- each side's latest game before its date
latest_team_games as (

    select
        scheduled_sides.game_id as scheduled_game_id,
        scheduled_sides.game_date as scheduled_date,
        scheduled_sides.team_abbr,
        team_games.team_game_number as latest_team_game_number
    from scheduled_sides
    inner join team_games
        on
            scheduled_sides.team_abbr = team_games.team_abbr
            and scheduled_sides.game_date > team_games.game_date
            and (
                team_games.next_game_date is null
                or scheduled_sides.game_date <= team_games.next_game_date
            )

),

-- and its last games up to it: where its expected players come from
recent_team_games as (

    select
        latest_team_games.scheduled_game_id,
        latest_team_games.scheduled_date,
        latest_team_games.team_abbr,
        team_games.game_id
    from latest_team_games
    inner join team_games
        on
            latest_team_games.team_abbr = team_games.team_abbr
            and latest_team_games.latest_team_game_number - {{ checked_var('slate_recent_team_games') }}
            < team_games.team_game_number
            and latest_team_games.latest_team_game_number >= team_games.team_game_number

),

-- each player's next game after each of his games, to find his latest game before a date
player_game_spans as (

    select
        player_lookup,
        game_id,
        team_abbr,
        lead(game_date) over (
            partition by player_lookup order by game_date, game_id
        ) as next_game_date
    from player_games

),

-- a side expects the players of its recent games whose latest game before the date was one of them
expected_players as (

    select
        recent_team_games.scheduled_game_id,
        recent_team_games.team_abbr,
        player_game_spans.player_lookup
    from recent_team_games
    inner join player_game_spans
        on
            recent_team_games.game_id = player_game_spans.game_id
            and recent_team_games.team_abbr = player_game_spans.team_abbr
    where
        player_game_spans.next_game_date is null
        or player_game_spans.next_game_date >= recent_team_games.scheduled_date

),

slate as (

    select
        scheduled_sides.game_id,
        expected_players.player_lookup,
        scheduled_sides.game_date,
        scheduled_sides.season,
        scheduled_sides.team_abbr,
        scheduled_sides.opponent_abbr,
        scheduled_sides.is_home,
        scheduled_sides.game_date as as_of_date
    from scheduled_sides
    inner join expected_players
        on
            scheduled_sides.game_id = expected_players.scheduled_game_id
            and scheduled_sides.team_abbr = expected_players.team_abbr

),

pregame as (

    {{ point_in_time_features('slate') }}

),

final as (

    select
        game_id,
        player_lookup,
        game_date,
        season,
        team_abbr,
        opponent_abbr,
        is_home,
        {%- for feature in model_features() %}
        {{ feature.name }},
        {%- endfor %}
        {%- for feature in model_features() %}
        {{ feature.name }}_is_filled,
        {%- endfor %}
        games_in_window
    from pregame

)

select * from final
