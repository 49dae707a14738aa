"""Rule 3: no workflow run schedules more than its limit of activities.

Proved on the server's own histories: every run of the parent (across
continue-as-new) and of every child is read back with fetch_history().
"""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.model import parse_input
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    MAX_ACTIVITIES_PER_RUN,
    {{ cookiecutter.workflow_name }}Workflow,
    {{ cookiecutter.workflow_name }}WorkflowInput,
)

from .support import (
    LARGE_EXAMPLE,
    events,
    example_input,
    handle_histories,
    running,
    service_worker,
    table_rows,
)

SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
CHILD_INITIATED = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
PARENT_TYPE = "{{ cookiecutter.workflow_name }}Workflow"


def fans_only(fans: int, limit: int) -> {{ cookiecutter.workflow_name }}WorkflowInput:
    return {"family": "Fans", "members": [], "fans": fans, "max_activities_per_run": limit}


def workflow_type(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def scheduled_per_run(history: WorkflowHistory) -> int:
    """Activities and child workflows this one run scheduled."""
    return len(events([history], SCHEDULED)) + len(events([history], CHILD_INITIATED))


async def run_to_completion(
    client: Client,
    database_url: str,
    task_queue: str,
    workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput,
) -> tuple[Any, list[WorkflowHistory]]:
    async with running(service_worker(client, database_url, task_queue)):
        handle = await client.start_workflow(
            {{ cookiecutter.workflow_name }}Workflow.run,
            workflow_input,
            id=f"limits-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        result = await handle.result()
        progress = await handle.query({{ cookiecutter.workflow_name }}Workflow.progress)
    assert progress == {"done": result["upserted"], "total": result["upserted"]}
    return result, await handle_histories(client, handle)


async def test_35_items_with_a_limit_of_10_make_4_children(
    client: Client, database_url: str, task_queue: str
) -> None:
    result, histories = await run_to_completion(client, database_url, task_queue, fans_only(35, 10))
    assert result["upserted"] == 35
    parents = [h for h in histories if workflow_type(h) == PARENT_TYPE]
    children = [h for h in histories if workflow_type(h) != PARENT_TYPE]
    assert len(parents) == 1
    assert len(events(parents, CHILD_INITIATED)) == 4
    assert sorted(len(events([c], SCHEDULED)) for c in children) == [5, 10, 10, 10]
    assert all(scheduled_per_run(h) <= 10 for h in histories)
    assert len(table_rows(database_url)) == 35


async def test_a_parent_that_would_grow_too_long_continues_as_new(
    client: Client, database_url: str, task_queue: str
) -> None:
    # A limit of 3 lets each parent run start 2 children (one slot stays for the
    # final count), so 12 children of 3 items need 6 parent runs.
    result, histories = await run_to_completion(client, database_url, task_queue, fans_only(35, 3))
    assert result["upserted"] == 35
    parents = [h for h in histories if workflow_type(h) == PARENT_TYPE]
    assert len(parents) == 6
    assert len(events(parents, CHILD_INITIATED)) == 12
    assert all(scheduled_per_run(h) <= 3 for h in histories)
    rows = table_rows(database_url)
    assert len(rows) == 35
    assert len({(row[1], row[2]) for row in rows}) == 35


async def test_large_example_completes_with_every_row_once(
    client: Client, database_url: str, task_queue: str
) -> None:
    workflow_input = example_input(LARGE_EXAMPLE)
    job = parse_input(workflow_input)
    assert job.total > MAX_ACTIVITIES_PER_RUN  # the example really needs the fan-out

    result, histories = await run_to_completion(client, database_url, task_queue, workflow_input)
    assert result["upserted"] == job.total
    assert all(scheduled_per_run(h) <= MAX_ACTIVITIES_PER_RUN for h in histories)
    assert len(events(histories, SCHEDULED)) == job.total + 1  # one upsert each, one count
    rows = table_rows(database_url)
    assert len(rows) == job.total
    assert len({(row[1], row[2]) for row in rows}) == job.total
