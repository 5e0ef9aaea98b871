{{ config(
    **game_date_partitioned()
) }}

{%- set zones = ['paint', 'mid_range', 'three_pt'] %}
{#- the windows of the `_last_10` and `_last_20` columns, which keep their v3 names whatever
    vars window_games and long_window_games say; a feature's own window is games_<its games> -#}
{%- set last_10 = 'games_' ~ checked_var('window_games') %}
{%- set last_20 = 'games_' ~ checked_var('long_window_games') %}

with

player_games as (

    {{ games_in_windows() }}

),

batch_players as (

    select distinct player_lookup from player_games
    where {{ in_batch('game_date') }}

),

-- every earlier game of the batches' players, however long ago: the windows' lookback. Reading
-- it here, not through a filter on the batch, is what keeps a window whole in any batch.
player_histories as (

    select
        player_games.*,
        {{ in_batch('player_games.game_date') }} as is_in_batch,
        row_number() over (
            partition by player_games.player_lookup
            order by player_games.game_date, player_games.game_id
        ) as game_number
    from player_games
    inner join batch_players
        on player_games.player_lookup = batch_players.player_lookup
    where {{ up_to_batch_end('player_games.game_date') }}

),

-- each batch player's first game in the batches
first_batch_games as (

    select
        player_lookup,
        min(game_number) as first_batch_game_number
    from player_histories
    where is_in_batch
    group by player_lookup

),

-- of that history, what the longest window reaches back from a player's first game
-- in the batches, onwards: the windows then run over a few dozen games a player, not careers
lookbacks as (

    select player_histories.*
    from player_histories
    inner join first_batch_games
        on player_histories.player_lookup = first_batch_games.player_lookup
    where player_histories.game_number >= first_batch_games.first_batch_game_number - {{ longest_window() }}

),

windowed as (

    select
        game_id,
        player_lookup,
        game_date,
        season,
        team_abbr,

        -- the features the props model reads (var model_features), each over its own window
        {%- for feature in model_features() %}
        {{ window_rate(feature.numerator, feature.denominator, 'games_' ~ feature.window) }} as {{ feature.name }},
        {%- endfor %}
        {{ window_rate('unassisted_fgm', 'fgm', last_10) }} as unassisted_rate_last_10,
        count(*) over {{ last_10 }} as games_in_window,
        coalesce(sum(fga) over {{ last_10 }}, 0) as fga_in_window,

        -- shooting by zone over the window
        {%- for zone in zones %}
        {{ window_percentage(zone ~ '_fgm', zone ~ '_fga', last_10) }} as {{ zone }}_fg_pct_last_10,
        {{ window_per_game(zone ~ '_fga', last_10) }} as {{ zone }}_fga_per_game_last_10,
        {%- endfor %}
        {{ window_per_game('and1_count', last_10) }} as and1_per_game_last_10,
        {%- for zone in ['paint', 'mid_range', 'three'] %}
        {{ window_per_game('blocks_' ~ zone, last_10) }} as blocks_{{ zone }}_per_game_last_10,
        {%- endfor %}

        -- the longer window, only once it is mostly full
        count(*) over {{ last_20 }} as games_in_window_20,
        {%- for zone in zones %}
        case
            when count(*) over {{ last_20 }} >= {{ checked_var('long_window_min_games') }}
                then {{ window_rate(zone ~ '_fga', 'fga', last_20) }}
        end as {{ zone }}_rate_last_20,
        {%- endfor %}
        case
            when count(*) over {{ last_20 }} >= {{ checked_var('long_window_min_games') }}
                then {{ window_rate('assisted_fgm', 'fgm', last_20) }}
        end as assisted_rate_last_20

    from lookbacks
    window {{ game_windows(window_lengths()) }}

),

final as (

    select * from windowed
    where {{ in_batch('game_date') }}

)

select * from final
