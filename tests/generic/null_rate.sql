{#-
    The share of NULLs in a column stays within bounds, per group (e.g. per game_date): one
    failing row per group outside [min_rate, max_rate], with its rate. Rates are fractions (0-1).
    Apply it twice, with `severity: warn` and tighter bounds and `severity: error` and looser
    ones, for the old validation's pass / investigate / fail bands.
-#}
{% test null_rate(model, column_name, max_rate, min_rate=none, group_by=none, where=none) %}

{%- set groups = group_by if group_by is not none else [] %}
{%- set groups = [groups] if groups is string else groups %}

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

)

select
    *,
    {{ max_rate }} as max_rate,
    {{ min_rate if min_rate is not none else 'null' }} as min_rate
from rates
where
    null_rate > {{ max_rate }}
    {%- if min_rate is not none %}
    or null_rate < {{ min_rate }}
    {%- endif %}

{% endtest %}
