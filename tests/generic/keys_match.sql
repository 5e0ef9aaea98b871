{#- The model and `other` (its rows where `other_where` holds) hold exactly the same keys: none
    missing, none extra. Within a run's batches, `other` is compared on the batches' dates, as the
    model is. -#}
{% test keys_match(model, columns, other, other_where='true') %}

with

missing as (

    select {{ columns | join(', ') }}, 'missing from {{ model.name }}' as problem
    from {{ other }}
    where {{ in_batch('game_date') }} and {{ other_where }}
    except distinct
    select {{ columns | join(', ') }}, 'missing from {{ model.name }}' as problem
    from {{ model }}

),

extra as (

    select {{ columns | join(', ') }}, 'not in {{ other.name }}' as problem
    from {{ model }}
    except distinct
    select {{ columns | join(', ') }}, 'not in {{ other.name }}' as problem
    from {{ other }}
    where {{ in_batch('game_date') }} and {{ other_where }}

)

select * from missing
union all
select * from extra

{% endtest %}
