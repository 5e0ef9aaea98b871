{{ config(materialized='view') }}

{%- set features = {
    'paint_rate_last_10': ('paint_fga', 'fga'),
    'mid_range_rate_last_10': ('mid_range_fga', 'fga'),
    'three_pt_rate_last_10': ('three_pt_fga', 'fga'),
    'assisted_rate_last_10': ('assisted_fgm', 'fgm'),
} %}

with

features as (

    select * from {{ ref('player_shot_zone_features') }}

),

player_games as (

    select * from {{ ref('int_player_game_shot_zones') }}

),

daily_totals as (

    select
        game_date,
        sum(fga) as fga,
        sum(fgm) as fgm,
        sum(paint_fga) as paint_fga,
        sum(mid_range_fga) as mid_range_fga,
        sum(three_pt_fga) as three_pt_fga,
        sum(assisted_fgm) as assisted_fgm
    from player_games
    group by game_date

),

-- the league's pooled rates over every game before each date
league_rates as (

    select
        {%- for feature, (numerator, denominator) in features.items() %}
        100.0 * sum({{ numerator }}) over earlier_dates
        / nullif(sum({{ denominator }}) over earlier_dates, 0) as league_{{ feature }},
        {%- endfor %}
        game_date
    from daily_totals
    window earlier_dates as (order by game_date rows between unbounded preceding and 1 preceding)

),

final as (

    select
        features.game_id,
        features.player_lookup,
        features.game_date,
        features.season,
        features.team_abbr,
        {%- for feature in features %}
        coalesce(features.{{ feature }}, league_rates.league_{{ feature }}) as {{ feature }},
        features.{{ feature }} is null as {{ feature }}_is_filled,
        {%- endfor %}
        features.games_in_window
    from features
    left join league_rates
        on features.game_date = league_rates.game_date

)

select * from final
