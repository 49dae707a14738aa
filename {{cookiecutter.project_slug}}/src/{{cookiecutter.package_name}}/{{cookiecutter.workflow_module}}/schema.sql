-- Tables of the {{ cookiecutter.workflow_name }} workflow. Applied by `init-db` and `dev`; safe to apply again.
-- Every activity write is an upsert against one of the UNIQUE keys below, so an
-- activity that Temporal runs twice leaves the same rows as one that ran once.
CREATE TABLE IF NOT EXISTS {{ cookiecutter.table_name }} (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL CHECK (name <> '' AND char_length(name) <= 200),
    surname     TEXT NOT NULL CHECK (surname <> '' AND char_length(surname) <= 200),
    known_for   TEXT NOT NULL DEFAULT '' CHECK (char_length(known_for) <= 2000),
    CONSTRAINT {{ cookiecutter.table_name[:50] }}_name_surname_key UNIQUE (name, surname)
);
