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
