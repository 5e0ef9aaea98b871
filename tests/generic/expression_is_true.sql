{#- Every row satisfies the expression; rows where it is false or NULL fail. `columns` picks
    what a failing row shows (default all; fewer columns spare a view the work of the others). -#}
{% test expression_is_true(model, expression, columns=none) %}

select {{ columns | join(', ') if columns else '*' }}
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
