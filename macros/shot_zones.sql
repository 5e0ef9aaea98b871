{#-
    Shot zone classification, SPEC section 4. The one place zones are defined: `shot_zone` gives
    the zone, `zone_source` says what it came from, `zone_group` rolls zones up for the features.
    var('zone_scheme'): `official` (NBA.com basic zones) or `legacy_distance` (the old pipeline;
    macros/vars.sql refuses anything else).
-#}

{% macro shot_zone(x, y, distance, is_three) -%}
    {%- set scheme = checked_var('zone_scheme') -%}
    {%- if scheme == 'official' -%}
    case
        when {{ x }} is not null and {{ y }} is not null then
            case
                when {{ y }} > 417.5 then 'Backcourt'
                when {{ is_three }} and {{ y }} <= 87.5 and {{ x }} >= 220 then 'Right Corner 3'
                when {{ is_three }} and {{ y }} <= 87.5 and {{ x }} <= -220 then 'Left Corner 3'
                when {{ is_three }} then 'Above the Break 3'
                when sqrt({{ x }} * {{ x }} + {{ y }} * {{ y }}) <= 40 then 'Restricted Area'
                when abs({{ x }}) <= 80 and {{ y }} <= 137.5 then 'In The Paint (Non-RA)'
                else 'Mid-Range'
            end
        when {{ is_three }} then 'Above the Break 3'
        when {{ distance }} <= 4 then 'Restricted Area'
        when {{ distance }} <= 8 then 'In The Paint (Non-RA)'
        else 'Mid-Range'
    end
    {%- elif scheme == 'legacy_distance' -%}
    case
        when {{ distance }} <= 8 then 'Paint (Legacy)'
        when {{ is_three }} or {{ distance }} >= 23.75 then 'Three (Legacy)'
        else 'Mid-Range (Legacy)'
    end
    {%- endif -%}
{%- endmacro %}


{% macro zone_source(x, y) -%}
    {%- if checked_var('zone_scheme') == 'official' -%}
    case when {{ x }} is not null and {{ y }} is not null then 'coordinates' else 'distance' end
    {%- else -%}
    'distance'
    {%- endif -%}
{%- endmacro %}


{% macro zone_group(shot_zone) -%}
    case
        when {{ shot_zone }} in ('Restricted Area', 'In The Paint (Non-RA)', 'Paint (Legacy)') then 'paint'
        when {{ shot_zone }} in ('Mid-Range', 'Mid-Range (Legacy)') then 'mid_range'
        else 'three'
    end
{%- endmacro %}

