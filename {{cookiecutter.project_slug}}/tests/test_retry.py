"""The upsert's retry policy: a PermanentError fails at once, anything else is retried."""

from __future__ import annotations

import dataclasses
import uuid

import psycopg
import pytest
from psycopg import sql
from temporalio.client import Client, WorkflowFailureError

from {{ cookiecutter.package_name }} import db
from {{ cookiecutter.package_name }}.db import Database

from .helpers import (
    activity_attempts,
    application_error,
    assert_eventually,
    free_port,
    handle_histories,
    has_failed_attempt,
    records,
    result_within,
    serving,
    stored,
)
from .module_under_test import (
    FIELDS,
    MODULE,
    UPSERT_OPTIONS,
    ActivitiesImpl,
    Job,
    Record,
    Workflow,
)


async def test_a_row_the_table_refuses_fails_the_workflow_without_retry(
    client: Client, database_url: str, task_queue: str
) -> None:
    # A record the workflow accepts but the table refuses (here a CHECK this test
    # adds): no retry can fix that, so the activity raises PermanentError.
    [record] = records(1)
    [key, *_] = FIELDS.key
    check = sql.SQL("ALTER TABLE {} ADD CHECK ({} <> {})").format(
        sql.Identifier(MODULE.table),
        sql.Identifier(key),
        sql.Literal(getattr(Record.from_dict(record), key)),
    )
    with psycopg.connect(database_url) as conn:
        conn.execute(check)
    job: Job = {"records": [record]}
    async with serving(client, database_url, task_queue):
        handle = await client.start_workflow(
            Workflow.run, job, id=f"permanent-{uuid.uuid4()}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await result_within(handle, timeout=30)
    error = application_error(failure.value)
    assert error.type == "PermanentError"
    # It names the record and the field, never the value: it travels in plain text.
    assert error.message.startswith(
        f"record 1 of 1 in the batch is refused by table {MODULE.table} (field {key}): "
    ), error.message
    assert str(getattr(Record.from_dict(record), key)) not in error.message
    assert activity_attempts(await handle_histories(client, handle)) == [1]
    assert stored(database_url) == []


async def test_transient_error_is_retried_until_it_heals(
    client: Client, database_url: str, task_queue: str
) -> None:
    # The database is "down" (a closed port) for the first attempts, then comes back.
    database = Database(f"postgresql://app@127.0.0.1:{free_port()}/app")
    module = dataclasses.replace(MODULE, activities=lambda _: ActivitiesImpl(database).all())
    job: Job = {"records": records(1)}
    async with serving(client, database_url, task_queue, modules=[module]):
        handle = await client.start_workflow(
            Workflow.run, job, id=f"transient-{uuid.uuid4()}", task_queue=task_queue
        )
        await assert_eventually(
            "an attempt failed to connect",
            lambda: has_failed_attempt(handle, "cannot connect to PostgreSQL"),
            timeout=30,
        )
        database.url = database_url  # the outage ends
        result = await result_within(handle)
    assert result == {"upserted": 1}
    assert max(activity_attempts(await handle_histories(client, handle))) >= 2
    assert [{name: row[name] for name in row if name != "id"} for row in stored(database_url)] == (
        job["records"]
    )


def test_an_attempt_outlasts_its_wait_for_a_connection() -> None:
    """Waiting the full bound for a connection must leave an attempt time to upsert.

    Otherwise every attempt on a slow-to-connect database would time out, and retry, for ever.
    """
    attempt = UPSERT_OPTIONS["start_to_close_timeout"].total_seconds()
    assert attempt >= max(db.POOL_TIMEOUT, db.CONNECT_TIMEOUT) + 1
