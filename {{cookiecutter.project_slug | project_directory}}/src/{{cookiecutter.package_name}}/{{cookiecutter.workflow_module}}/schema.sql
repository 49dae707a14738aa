-- Tables of the {{ cookiecutter.workflow_name }} workflow. Applied by `init-db` and `dev`; safe to apply again.
-- Every activity write is an upsert against the UNIQUE key below, so an activity
-- that Temporal runs twice leaves the same rows as one that ran once. One column
-- per field of {{ cookiecutter.workflow_name }}RecordDict, with the same name.
CREATE TABLE IF NOT EXISTS {{ cookiecutter.table_name }} (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key     TEXT NOT NULL CHECK (key <> '' AND char_length(key) <= 200),
    value   TEXT NOT NULL CHECK (char_length(value) <= 2000),
    CONSTRAINT {{ cookiecutter.table_name[:54] }}_key_key UNIQUE (key)
);
