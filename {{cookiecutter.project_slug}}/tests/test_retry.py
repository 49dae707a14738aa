"""The default retry policy: a PermanentError fails at once, anything else is retried."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import Client, WorkflowFailureError

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Dict,
    {{ cookiecutter.workflow_name }}Workflow,
    {{ cookiecutter.workflow_name }}WorkflowInput,
)

from .support import (
    activity_attempts,
    application_error,
    closed_port,
    handle_histories,
    running,
    service_worker,
    table_rows,
    wait_for_failed_attempt,
)


async def test_permanent_error_fails_the_workflow_without_retry(
    client: Client, database_url: str, task_queue: str
) -> None:
    # An empty name passes the shape check but breaks the table's CHECK constraint:
    # no retry can fix that, so the activity raises PermanentError.
    nameless: {{ cookiecutter.workflow_name }}Dict = {
        "name": "",
        "surname": "Kardashian",
        "known_for": "",
    }
    workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput = {
        "family": "Kardashian",
        "members": [nameless],
    }
    async with running(service_worker(client, database_url, task_queue)):
        handle = await client.start_workflow(
            {{ cookiecutter.workflow_name }}Workflow.run,
            workflow_input,
            id=f"permanent-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(handle.result(), timeout=30)
    assert application_error(failure.value).type == "PermanentError"
    assert activity_attempts(await handle_histories(client, handle)) == [1]
    assert table_rows(database_url) == []


async def test_transient_error_is_retried_until_it_heals(
    client: Client, database_url: str, task_queue: str
) -> None:
    # The database is "down" (a closed port) for the first attempts, then comes back.
    unreachable = f"postgresql://app@127.0.0.1:{closed_port()}/app"
    activities = {{ cookiecutter.workflow_name }}ActivitiesImpl(unreachable)
    member: {{ cookiecutter.workflow_name }}Dict = {
        "name": "Kim",
        "surname": "Kardashian",
        "known_for": "business",
    }
    workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput = {
        "family": "Kardashian",
        "members": [member],
    }
    async with running(service_worker(client, database_url, task_queue, activities=activities)):
        handle = await client.start_workflow(
            {{ cookiecutter.workflow_name }}Workflow.run,
            workflow_input,
            id=f"transient-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        # The activities run in the first (here the only) child workflow.
        child = client.get_workflow_handle(f"{handle.id}/items-0")
        await wait_for_failed_attempt(child, "cannot connect to PostgreSQL")
        activities.database_url = database_url  # the outage ends
        result = await asyncio.wait_for(handle.result(), timeout=60)
    assert result == {"upserted": 1, "family_size": 1}
    attempts = activity_attempts(await handle_histories(client, handle))
    assert max(attempts) >= 2
    assert [row[1:] for row in table_rows(database_url)] == [("Kim", "Kardashian", "business")]
