"""What a workflow did, read from its histories and those of its children.

The walk over continued runs and children is the service's own
(``temporal.histories.every_history``), which the bench also reads.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle, WorkflowHistory

from {{ cookiecutter.package_name }}.temporal.histories import every_history


async def handle_histories(
    client: Client, handle: WorkflowHandle[Any, Any]
) -> list[WorkflowHistory]:
    """Every history a started workflow produced, children and continued runs included."""
    run_id = handle.first_execution_run_id or handle.run_id
    assert run_id, "a handle from start_workflow knows its first run"
    return await every_history(client, handle.id, run_id)


def events(histories: list[WorkflowHistory], event_type: int) -> list[HistoryEvent]:
    return [e for history in histories for e in history.events if e.event_type == event_type]


def scheduled_activity_names(histories: list[WorkflowHistory]) -> list[str]:
    scheduled = events(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    return [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled]


def activity_attempts(histories: list[WorkflowHistory]) -> list[int]:
    """The attempt on which each activity last started (1 means it was never retried)."""
    started = events(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    return [e.activity_task_started_event_attributes.attempt for e in started]
