{%- set record = cookiecutter.record_name -%}
"""The {{ cookiecutter.workflow_name }} module end to end, under its own names.

The rule tests (``tests/test_rule*.py``) prove the guide's pattern on the module that
``tests/module_under_test.py`` names. This file comes with the module, also when the
template's ``workflow/`` sub-template adds one, and proves what is the module's own:
the names the server knows, its declared record in its table, and its example input.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
from psycopg import sql
from temporalio.client import Client

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }} import MODULE
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.record import (
    FIELDS,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.record import (
    {{ record }} as Record,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Job,
    {{ cookiecutter.workflow_name }}Workflow,
)

from ..helpers import (
    PROJECT_ROOT,
    handle_histories,
    result_within,
    scheduled_activity_names,
    serving,
)

EXAMPLE = PROJECT_ROOT / "examples" / "{{ cookiecutter.workflow_module }}.json"
# The names the module was made with, as the server, the worker and PostgreSQL know it.
WORKFLOW_TYPE = "{{ cookiecutter.workflow_name }}Workflow"
ACTIVITY_TYPE = "{{ cookiecutter.workflow_name }}Activities.upsert"
TASK_QUEUE = "{{ cookiecutter.task_queue }}"
TABLE = "{{ cookiecutter.table_name }}"
# Each declared type's column, as PostgreSQL's format_type() names it.
COLUMN_TYPES = {
    "str": "text",
    "int": "bigint",
    "float": "double precision",
    "bool": "boolean",
    "decimal": "numeric",
    "date": "date",
    "datetime": "timestamp with time zone",
    "uuid": "uuid",
    "json": "jsonb",
    "list[str]": "text[]",
    "list[int]": "bigint[]",
}


def example() -> {{ cookiecutter.workflow_name }}Job:
    job: {{ cookiecutter.workflow_name }}Job = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return job


def rows(database_url: str) -> list[Record]:
    """The table's rows as records, in the order they were written."""
    query = sql.SQL("SELECT {} FROM {} ORDER BY id").format(
        sql.SQL(", ").join(map(sql.Identifier, FIELDS.names)), sql.Identifier(TABLE)
    )
    with psycopg.connect(database_url) as conn:
        found = conn.execute(query).fetchall()
    return [Record(**dict(zip(FIELDS.names, row, strict=True))) for row in found]


async def test_the_example_runs_twice_and_reads_back_exactly(
    client: Client, database_url: str, task_queue: str
) -> None:
    job = example()
    sent = job.get("records", [])
    written: list[dict[str, Any]] = [dict(r) for r in sent]
    # The service's worker, for this module only; serving() stops it with
    # stop_worker_faster(), as the guide asks of tests.
    async with serving(client, database_url, task_queue, modules=[MODULE]):
        for attempt in range(2):
            handle = await client.start_workflow(
                {{ cookiecutter.workflow_name }}Workflow.run,
                job,
                id=f"{MODULE.workflow_type}-{attempt}-{uuid.uuid4()}",
                task_queue=task_queue,
            )
            assert await result_within(handle) == {"upserted": len(sent)}
            # Each record once, on its natural key, however often it was upserted.
            stored = rows(database_url)
            assert len(stored) == len({tuple(r[name] for name in FIELDS.key) for r in written})
    # Every value as it was sent: equal as Python values (a datetime is the same
    # instant), and in payload form digit for digit (a decimal keeps its zeros).
    assert stored == [Record.from_dict(r) for r in sent]
    assert [r.to_dict() for r in stored] == [Record.from_dict(r).to_dict() for r in sent]
    for name in FIELDS.of_type("decimal"):
        assert [dict(r.to_dict())[name] for r in stored] == [r[name] for r in written]
    histories = await handle_histories(client, handle)
    assert set(scheduled_activity_names(histories)) == {ACTIVITY_TYPE}


def test_the_table_has_the_declared_columns_and_key(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        columns = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod), NOT attnotnull FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (TABLE,),
        ).fetchall()
        unique: list[Any] = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'u'",
            (TABLE,),
        ).fetchall()
    # One column per field of the record, in its order, of its type, null only if optional.
    assert columns == [
        ("id", "bigint", False),
        *((field.name, COLUMN_TYPES[field.type], field.optional) for field in FIELDS.all),
    ]
    # The unique key is exactly the key fields.
    assert unique == [(f"UNIQUE ({', '.join(FIELDS.key)})",)]


def test_the_module_is_known_by_its_own_names() -> None:
    assert MODULE.workflow_type == WORKFLOW_TYPE
    assert MODULE.task_queue == TASK_QUEUE
    assert MODULE.table == TABLE
    assert f"CREATE TABLE IF NOT EXISTS {TABLE} (" in MODULE.schema_sql()
