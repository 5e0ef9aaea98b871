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
