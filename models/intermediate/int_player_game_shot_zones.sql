{{ config(
    **game_date_partitioned()
) }}

with

plays as (

    select * from {{ ref('stg_bigdataball__play_by_play') }}
    where {{ in_batch('game_date') }}

),

shots as (

    select * from {{ ref('int_shots_classified') }}
    where {{ in_batch('game_date') }}

),

-- everyone who took part in the batches' games, in any role, and the side a play's lineup
-- puts him on (int_game_players: the one home of both)
appearances as (

    select * from {{ ref('int_game_players') }}
    where {{ in_batch('game_date') }}

),

-- every player seen in the game, in any role, and the side his lineup slots put him on
players as (

    select
        game_id,
        player_lookup,
        min(game_date) as game_date,
        min(season) as season,
        is_playoffs,
        max(side) as side
    from appearances
    group by game_id, player_lookup, is_playoffs

),

-- each play's actor, with the team the play carries and the side its lineup puts him on
acting_events as (

    select
        game_id,
        player_lookup,
        team_abbr,
        side
    from appearances
    where role = 'actor' and team_abbr is not null

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
        {{ count_where('is_made') }} as fgm,
        {%- for group, prefix in [('paint', 'paint'), ('mid_range', 'mid_range'), ('three', 'three_pt')] %}
        {{ count_where("zone_group = '" ~ group ~ "'") }} as {{ prefix }}_fga,
        {{ count_where("zone_group = '" ~ group ~ "' and is_made") }} as {{ prefix }}_fgm,
        {%- endfor %}
        {{ count_where("shot_zone in ('Left Corner 3', 'Right Corner 3')") }} as corner_three_fga,
        {{ count_where('is_assisted') }} as assisted_fgm,
        {{ count_where('is_made and not is_assisted') }} as unassisted_fgm,
        {{ count_where('blocker_player_lookup is not null') }} as blocked_fga
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
        {{ count_where("zone_group = 'paint'") }} as blocks_paint,
        {{ count_where("zone_group = 'mid_range'") }} as blocks_mid_range,
        {{ count_where("zone_group = 'three'") }} as blocks_three
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
        {%- for count_column in [
            'fga', 'fgm', 'paint_fga', 'paint_fgm', 'mid_range_fga', 'mid_range_fgm',
            'three_pt_fga', 'three_pt_fgm', 'corner_three_fga', 'assisted_fgm', 'unassisted_fgm', 'blocked_fga',
        ] %}
        coalesce(shooting.{{ count_column }}, 0) as {{ count_column }},
        {%- endfor %}
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
