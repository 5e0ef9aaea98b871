{#-
    A banded data test returns one row per group outside its warn band, its `band` column
    saying which band the group breaks: 'warn' (outside the warn bound, within the error bound)
    or 'error'. The test warns on any row, and fails only when some row is in the error band:
    dbt compares its failure count, the rows, with `error_if`, so the test fails when there are
    more rows than warn-band ones. One node then does the work of a warn test and an error test.
-#}
{% macro error_band_only() -%}
    > count(case when band = 'warn' then 1 end)
{%- endmacro %}


{#-
    SQL selecting each game_date a data test's stored failures (`relation`) name, and the band
    the date breaks: 'error' when some row of it is outside the warn band (as error_band_only
    counts them), else 'warn'. Every row of a test without bands (`banded` false: it has no
    `band` column) breaks its error band. The one home of which dates a failed test fails: the
    on-run-end hook of a direct dbt run (failing_game_dates) and the runner's waves (compiled
    with a placeholder relation) read it.
-#}
{% macro stored_failure_bands(relation, banded) -%}
    select
        game_date,
        {% if banded -%}
            case when count(*) {{ error_band_only() }} then 'error' else 'warn' end
        {%- else -%}
            'error'
        {%- endif %} as band
    from {{ relation }}
    group by game_date
{%- endmacro %}
