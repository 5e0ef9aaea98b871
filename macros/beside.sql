{#-
    A rebuild beside the live tables: while the runner builds a new version of a model (a schema
    change, a change of code, `backfill --full-refresh`), the models it names in the
    environment variable SHOTZONES_BESIDE (comma-separated: the rebuilt models and every model
    downstream of them) are built as `<name>__next`, and every ref to them reads that. The live
    tables and views stay as they are until the new version is complete and tested; the runner
    then swaps it in (runner/shotzones/rebuild.py). Unset: every model under its own name.
-#}
{% macro default__generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- set beside = env_var('SHOTZONES_BESIDE', '').split(',') -%}
    {%- set name = custom_alias_name | trim if custom_alias_name else node.name -%}
    {%- if node.resource_type == 'model' and node.name in beside -%}
        {{ return(name ~ var('beside_suffix')) }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}
