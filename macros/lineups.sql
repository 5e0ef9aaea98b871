{#-
    Who is on court for which side: a play's ten lineup slots (SPEC section 2), a1..a5 the away
    team's five, h1..h5 the home team's. The one home of the slots and their sides: staging reads
    the slots, int_game_players names each player's side in a play from them.
-#}

{#- The lineup slots, in delivered order: of one side ('away' or 'home'), or of both. -#}
{% macro lineup_slots(side=none) %}
    {%- set slots = {'away': ['a1', 'a2', 'a3', 'a4', 'a5'], 'home': ['h1', 'h2', 'h3', 'h4', 'h5']} -%}
    {{ return(slots[side] if side else slots['away'] + slots['home']) }}
{% endmacro %}


{#-
    SQL: the side ('away' or 'home') of the lineup slot `expression` is found in, NULL if in
    neither (away first, should a play list a player on both). `slot` writes what a slot is
    compared as, `{}` standing for the slot's name: its column in a play (`{}_player_lookup`),
    or its name as a string (`'{}'`, for a role named after its slot).
-#}
{% macro lineup_side(expression, slot='{}') -%}
    case
        {%- for side in ['away', 'home'] %}
            {%- set slots = [] -%}
            {%- for name in lineup_slots(side) -%}
                {%- do slots.append(slot.replace('{}', name)) -%}
            {%- endfor %}
        when {{ expression }} in ({{ slots | join(', ') }}) then '{{ side }}'
        {%- endfor %}
    end
{%- endmacro %}
