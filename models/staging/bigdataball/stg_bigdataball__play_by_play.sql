{#- Every constrained var checked (macros/vars.sql), once a compile of the project: also the
    data-quality bands, which only data tests read. It adds nothing to the SQL. -#}
{%- do check_vars() -%}
with

source as (

    select * from {{ source('bigdataball', 'play_by_play') }}

),

typed as (

    select
        -- ids and dates
        {{ canonical_game_id('game_id') }} as game_id,
        -- the loader parses `date` into the partition column; delivered_date re-parses it here
        -- so that a test can prove both agree on every row
        game_date,
        {{ parse_game_date('date') }} as delivered_date,
        data_set,

        -- clock and order
        {{ try_to_integer('period') }} as period,
        {{ clock_to_seconds('remaining_time') }} as remaining_seconds,
        {{ clock_to_seconds('elapsed') }} as elapsed_seconds,
        {{ signed_clock_to_seconds('play_length') }} as play_length_seconds,
        {{ try_to_integer('play_id') }} as play_id,
        {{ try_to_integer('away_score') }} as away_score,
        {{ try_to_integer('home_score') }} as home_score,

        -- event
        nullif(trim(team), '') as team_abbr,
        lower(trim(event_type)) as event_type,
        lower(trim(result)) as result,
        nullif(trim(type), '') as event_subtype,
        nullif(trim(reason), '') as reason,
        nullif(trim(description), '') as description,
        {{ try_to_integer('points') }} as points,
        {{ try_to_integer('num') }} as free_throw_number,
        {{ try_to_integer('outof') }} as free_throws_awarded,

        -- shot location
        {{ try_to_double('shot_distance') }} as shot_distance,
        {{ try_to_double('original_x') }} as original_x,
        {{ try_to_double('original_y') }} as original_y,
        {{ try_to_double('converted_x') }} as converted_x,
        {{ try_to_double('converted_y') }} as converted_y,

        -- people, as join keys
        {{ player_lookup('player') }} as player_lookup,
        {{ player_lookup('assist') }} as assist_player_lookup,
        {{ player_lookup('block') }} as block_player_lookup,
        {{ player_lookup('steal') }} as steal_player_lookup,
        {{ player_lookup('entered') }} as entered_player_lookup,
        {{ player_lookup('"left"') }} as left_player_lookup,
        {{ player_lookup('opponent') }} as opponent_player_lookup,
        {%- for slot in lineup_slots() %}
        {{ player_lookup(slot) }} as {{ slot }}_player_lookup,
        {%- endfor %}

        -- people, as delivered
        nullif(trim(player), '') as player_name,

        -- lineage
        source_file,
        source_row,
        loaded_at

    from source

),

final as (

    select
        *,
        {{ season_of('game_date') }} as season,
        {{ is_playoff_game('game_id') }} as is_playoffs,
        -- play_id is not monotonic in delivered files: order by the game clock, then file row.
        row_number() over (
            partition by game_date, game_id
            order by period, elapsed_seconds, source_file, source_row
        ) as event_order
    from typed

)

select * from final
