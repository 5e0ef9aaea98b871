{#-
    on-run-end: after a direct `dbt build` or `dbt run` (no runner in the loop), record what it
    built in shotzones_direct_builds, one row per invocation: every model's status and the md5
    of the SQL it compiled (without the warehouse's name, as runner/shotzones/code.py), and each failing test with the game_dates its stored failures name.
    The runner turns that row into ledger entries the next time it looks (`shotzones status`,
    `plan`, `backfill`), so the ledger stays true whoever builds. The runner records what its
    own invocations build itself (they set SHOTZONES_RUNNER): nothing is written for them, nor
    for a run that only tests.
-#}
{% macro record_direct_build(results) %}
    {%- if not execute or env_var('SHOTZONES_RUNNER', '') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set models = {} -%}
    {%- set failed_tests = [] -%}
    {%- for result in results -%}
        {%- set node = result.node -%}
        {%- if node.resource_type == 'model' -%}
            {%- do models.update({node.name: {
                'status': result.status | string,
                'compiled_md5': local_md5((node.compiled_code or '') | replace(adapter.quote(node.database) ~ '.', '')),
            }}) -%}
        {%- elif node.resource_type == 'test' and (result.status | string) in ('fail', 'error') -%}
            {%- do failed_tests.append({
                'name': node.name,
                'depends_on': node.depends_on.nodes,
                'game_dates': failing_game_dates(node) if (result.status | string) == 'fail' else none,
                'message': result.message,
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not models -%}
        {{ return('') }}
    {%- endif -%}
    {%- set payload = tojson({'command': flags.WHICH, 'models': models, 'failed_tests': failed_tests}) -%}
    {%- set table = target.schema ~ '.shotzones_direct_builds' -%}
    {%- do run_query(
        'create table if not exists ' ~ table ~ ' (invocation_id ' ~ dbt.type_string()
        ~ ', finished_at ' ~ dbt.type_timestamp() ~ ', payload ' ~ dbt.type_string() ~ ')'
    ) -%}
    {%- do run_query(
        'insert into ' ~ table ~ ' (invocation_id, finished_at, payload) select '
        ~ quoted_string(invocation_id) ~ ', cast(' ~ dbt.current_timestamp() ~ ' as ' ~ dbt.type_timestamp() ~ '), '
        ~ quoted_string(payload)
    ) -%}
    {#- dbt rolls the hook's connection back after a failure: commit what it recorded -#}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}


{#- The game_dates a failed test fails: those its stored failures name in the error band
    (macros/bands.sql, stored_failure_bands); none when they name no date. -#}
{% macro failing_game_dates(node) %}
    {%- if not node.relation_name -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- if 'game_date' not in columns -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query(
        'select cast(game_date as ' ~ dbt.type_string() ~ ') from ('
        ~ stored_failure_bands(relation, 'band' in columns) ~ ") as dates where band = 'error'"
    ) -%}
    {{ return(rows.columns[0].values() | list) }}
{% endmacro %}


{#- A string literal of any text. -#}
{% macro quoted_string(text) %}
    {{ return(adapter.dispatch('quoted_string', 'shotzones')(text)) }}
{% endmacro %}

{% macro default__quoted_string(text) -%}
    {{ return("'" ~ text | replace("'", "''") ~ "'") }}
{%- endmacro %}

{#- BigQuery escapes with backslashes, as JSON does -#}
{% macro bigquery__quoted_string(text) -%}
    {{ return(tojson(text)) }}
{%- endmacro %}
