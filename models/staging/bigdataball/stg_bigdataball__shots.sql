-- deprecated: the old name of int_shots_classified, kept for readers of it until its
-- deprecation_date (see the YAML)
with

shots as (

    select * from {{ ref('int_shots_classified') }}

)

-- every column of the new model, whatever they become: an alias, not a contract
select * from shots  -- noqa: AM04
