{#-
    The share of NULLs in a column stays within bounds, per group (e.g. per game_date): one
    row per group outside its warn band, with its rate, its `band` and the bounds. Rates are
    fractions (0-1). Outside [min_rate, max_rate] the row is in the error band and the test
    fails; outside the tighter [warn_min_rate, warn_max_rate] only, it is in the warn band and
    the test warns (macro error_band_only). Without warn bounds there is no warn band.
-#}
{% test null_rate(
    model, column_name, max_rate, min_rate=none, warn_max_rate=none, warn_min_rate=none,
    group_by=none, where=none
) %}

{{ config(error_if=error_band_only()) }}

{%- set groups = group_by if group_by is not none else [] %}
{%- set groups = [groups] if groups is string else groups %}
{%- set warn_max_rate = warn_max_rate if warn_max_rate is not none else max_rate %}
{%- set warn_min_rate = warn_min_rate if warn_min_rate is not none else min_rate %}

with

scoped as (

    select * from {{ model }}
    {%- if where %}
    where {{ where }}
    {%- endif %}

),

rates as (

    select
        {%- for column in groups %}
        {{ column }},
        {%- endfor %}
        count(*) as row_count,
        {{ count_where(column_name ~ ' is null') }} as null_count,
        {{ count_where(column_name ~ ' is null') }} / count(*) as null_rate
    from scoped
    {%- if groups %}
    group by {{ groups | join(', ') }}
    {%- endif %}

),

banded as (

    select
        *,
        case
            when null_rate > {{ max_rate }}
                {%- if min_rate is not none %} or null_rate < {{ min_rate }}{% endif %} then 'error'
            when null_rate > {{ warn_max_rate }}
                {%- if warn_min_rate is not none %} or null_rate < {{ warn_min_rate }}{% endif %} then 'warn'
        end as band,
        {{ max_rate }} as max_rate,
        {{ min_rate if min_rate is not none else 'null' }} as min_rate,
        {{ warn_max_rate }} as warn_max_rate,
        {{ warn_min_rate if warn_min_rate is not none else 'null' }} as warn_min_rate
    from rates

)

select * from banded
where band is not null

{% endtest %}
