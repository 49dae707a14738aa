"""Rule 3: no workflow run schedules more than 1000 activities and child workflows.

Proved on the server's own histories: every run of the parent (across
continue-as-new) and of every child is read back with fetch_history(). The limits are
the workflow's, so the upsert is a stub under its real name that notes each item: no
database, and every item must reach it exactly once.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from {{ cookiecutter.package_name }}.temporal.fanout import (
    BATCH_SIZE,
    MAX_BATCHES_IN_FLIGHT,
    PROGRESS_QUERY,
    job_size,
)

from .helpers import (
    LARGE_EXAMPLE,
    StubUpserts,
    events,
    example_input,
    handle_histories,
    result_within,
    serving_stubs,
)
from .module_under_test import Workflow

# The guide's number, written here rather than read from the code, so that
# raising the code's limit fails this test.
GUIDE_LIMIT = 1000
SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
CHILD_INITIATED = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED


def numbered(count: int, limit: int, batch_size: int = 1) -> dict[str, Any]:
    return {
        "key_range": {"first": 1, "count": count},
        "max_activities_per_run": limit,
        "batch_size": batch_size,
    }


def scheduled_per_run(history: WorkflowHistory) -> int:
    """Activities and child workflows this one run scheduled."""
    return len(events([history], SCHEDULED)) + len(events([history], CHILD_INITIATED))


def most_in_flight(history: WorkflowHistory) -> int:
    """The most activities this run had scheduled and not yet seen finish at one time."""
    finished = {
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    }
    running = most = 0
    for event in history.events:
        if event.event_type == SCHEDULED:
            running += 1
            most = max(most, running)
        elif event.event_type in finished:
            running -= 1
    return most


def is_child(history: WorkflowHistory) -> bool:
    return history.events[0].workflow_execution_started_event_attributes.HasField(
        "parent_workflow_execution"
    )


async def run_to_completion(
    client: Client, task_queue: str, job: Any
) -> tuple[Any, list[WorkflowHistory]]:
    """Run ``job`` to its end on stub upserts; every item must have been upserted once."""
    stub = StubUpserts()
    async with serving_stubs(client, task_queue, stub):
        handle = await client.start_workflow(
            Workflow.run, job, id=f"limits-{uuid.uuid4()}", task_queue=task_queue
        )
        result = await result_within(handle, timeout=240)
        progress = await handle.query(PROGRESS_QUERY)
    assert progress == {"done": result["upserted"], "total": result["upserted"], "children": []}
    stub.expect_every_item_once(job_size(job))
    return result, await handle_histories(client, handle)


async def test_35_items_with_a_limit_of_10_make_4_children(client: Client, task_queue: str) -> None:
    result, histories = await run_to_completion(client, task_queue, numbered(35, 10))
    assert result["upserted"] == 35
    parents = [h for h in histories if not is_child(h)]
    children = [h for h in histories if is_child(h)]
    assert len(parents) == 1
    assert len(events(parents, CHILD_INITIATED)) == 4
    assert sorted(len(events([c], SCHEDULED)) for c in children) == [5, 10, 10, 10]
    assert all(scheduled_per_run(h) <= 10 for h in histories)


@pytest.mark.slow
async def test_a_parent_that_would_grow_too_long_continues_as_new(
    client: Client, task_queue: str
) -> None:
    # A limit of 3 gives children of 3 items and lets each parent run start 3 of
    # them, so 12 children need 4 parent runs.
    result, histories = await run_to_completion(client, task_queue, numbered(35, 3))
    assert result["upserted"] == 35
    parents = [h for h in histories if not is_child(h)]
    assert len(parents) == 4
    assert len(events(parents, CHILD_INITIATED)) == 12
    assert all(scheduled_per_run(h) <= 3 for h in histories)


async def test_an_activity_upserts_a_batch(client: Client, task_queue: str) -> None:
    job = numbered(35, 1000, batch_size=4)
    result, histories = await run_to_completion(client, task_queue, job)
    assert result["upserted"] == 35
    assert len(histories) == 1  # small enough for one run: no children
    assert len(events(histories, SCHEDULED)) == 9  # 8 batches of 4, one of 3


@pytest.mark.slow
async def test_past_1000_activities_the_default_limit_fans_out(
    client: Client, task_queue: str
) -> None:
    # One item per activity, the default limit: 1001 activities need two runs' worth.
    job = {"key_range": {"first": 1, "count": GUIDE_LIMIT + 1}, "batch_size": 1}
    result, histories = await run_to_completion(client, task_queue, job)
    assert result["upserted"] == GUIDE_LIMIT + 1
    children = [h for h in histories if is_child(h)]
    assert sorted(len(events([c], SCHEDULED)) for c in children) == [1, GUIDE_LIMIT]
    assert all(scheduled_per_run(h) <= GUIDE_LIMIT for h in histories)
    # A run's thousand batches go out a hundred at a time (temporal/fanout.py says why).
    assert MAX_BATCHES_IN_FLIGHT == 100
    assert max(most_in_flight(child) for child in children) == MAX_BATCHES_IN_FLIGHT


def test_the_large_example_is_more_than_one_run_can_hold() -> None:
    """The guide's million items: at the default batch size, more than 1000 activities."""
    total = job_size(example_input(LARGE_EXAMPLE))
    assert total > 1_000_000
    assert math.ceil(total / BATCH_SIZE) > GUIDE_LIMIT
