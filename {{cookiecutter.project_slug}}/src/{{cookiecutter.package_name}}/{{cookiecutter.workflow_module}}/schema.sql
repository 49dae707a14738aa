{%- set fields = cookiecutter.record_fields | record_fields -%}
-- Tables of the {{ cookiecutter.workflow_name }} workflow. Applied by `init-db` and `dev`; safe to apply again.
-- Every activity write is an upsert against the UNIQUE key below, so an activity
-- that Temporal runs twice leaves the same rows as one that ran once. One column
-- per field of {{ cookiecutter.record_name }}Dict, with the same name, in the same order.
CREATE TABLE IF NOT EXISTS {{ cookiecutter.table_name }} (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
{%- for field in fields %}
    {{ field.name }} {{ field.sql_type }}{% if not field.optional %} NOT NULL{% endif %}
    {%- if field.key and field.type == "str" %}
        CHECK ({{ field.name }} <> '' AND char_length({{ field.name }}) <= 200)
    {%- endif %},
{%- endfor %}
    CONSTRAINT {{ cookiecutter.table_name[:54] }}_key_key
        UNIQUE ({{ fields | selectattr("key") | map(attribute="name") | join(", ") }})
);
