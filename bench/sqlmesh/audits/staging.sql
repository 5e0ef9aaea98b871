-- The staging views' data tests (models/staging/bigdataball/*.yml), run on the rows of the
-- interval being filled: SQLMesh evaluates a VIEW once, when a plan creates it, so checks on the
-- view itself would not see later days. Attached to int_player_game_shot_zones.

AUDIT (
    name plays_typed
);
-- not_null game_id and game_date; the model's own parse of `date` equals the loader's
select game_date, game_id, delivered_date, source_file, source_row
from shotzones.stg_bigdataball__play_by_play
where
    game_date between @start_date and @end_date
    and (game_id is null or delivered_date is distinct from game_date);

AUDIT (
    name shots_null_rate
);
-- tests/generic/null_rate.sql on stg_bigdataball__shots, per game_date
select
    game_date,
    count(*) as row_count,
    @count_where(@column is null) as null_count,
    @count_where(@column is null) / count(*) as null_rate
from shotzones.stg_bigdataball__shots
where game_date between @start_date and @end_date
group by game_date
having @count_where(@column is null) / count(*) > @max_rate;
