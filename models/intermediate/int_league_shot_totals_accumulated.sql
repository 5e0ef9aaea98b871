{{ config(materialized='view') }}

{#- every numerator and denominator of the model's features -#}
{%- set counts = feature_counts() %}

with

player_games as (

    select * from {{ ref('int_player_game_shot_zones') }}

),

daily_totals as (

    select
        {%- for count in counts %}
        sum({{ count }}) as {{ count }},
        {%- endfor %}
        game_date
    from player_games
    group by game_date

),

-- the league's totals over every game up to and including each game date
final as (

    select
        {%- for count in counts %}
        sum({{ count }}) over through_date as {{ count }},
        {%- endfor %}
        game_date
    from daily_totals
    window through_date as (order by game_date rows between unbounded preceding and current row)

)

select * from final
