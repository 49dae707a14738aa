"""Recorded workflow histories, for the replay guard (tests/test_replay.py).

A history is a run's events as ``temporal workflow show --output json`` prints them.
The tests replay every file in ``tests/histories/`` against the current workflow code:
a change that running workflows could not survive (a new timer, activities in another
order) fails there, before a deploy, instead of in production after it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from .module import WorkflowModule

HISTORIES_DIR = Path("tests") / "histories"
# Twelve one-item batches at three activities per run: the first run starts three
# children, then continues as new (the fourth child runs in the second run).
FAN_OUT_JOB: dict[str, Any] = {
    "key_range": {"first": 1, "count": 12},
    "batch_size": 1,
    "max_activities_per_run": 3,
}


def payloads(message: Message) -> list[Payload]:
    """Every payload in a history event's message, however deep it sits."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for _, value in message.ListFields():
        if isinstance(value, Message):
            items: list[Any] = [value]
        elif hasattr(value, "values"):  # a map, such as a header's fields
            items = list(value.values())
        elif isinstance(value, (str, bytes, int, float)):
            continue
        else:  # a repeated field
            items = list(value)
        found += [inner for item in items if isinstance(item, Message) for inner in payloads(item)]
    return found


def stored_payloads(histories: list[WorkflowHistory]) -> list[Payload]:
    """Every payload the server holds for these runs, in the order of their events."""
    return [found for history in histories for event in history.events for found in payloads(event)]


def payload_sizes(histories: list[WorkflowHistory]) -> list[int]:
    """The size in bytes of every payload these runs hold: inputs, results, heartbeats."""
    return [payload.ByteSize() for payload in stored_payloads(histories)]


async def fetch(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    """One run's history: ``run_id``'s, or the latest run's."""
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


async def every_history(
    client: Client, workflow_id: str, run_id: str | None = None
) -> list[WorkflowHistory]:
    """The run's history, then those of the runs it continued as and of all their children.

    ``run_id`` None starts from the latest run. The tests read what a job did from
    these; the bench reads how large its histories grew.
    """
    histories: list[WorkflowHistory] = []
    next_run: str | None = run_id
    while True:
        history = await fetch(client, workflow_id, next_run)
        histories.append(history)
        next_run = None
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                child = event.child_workflow_execution_started_event_attributes.workflow_execution
                histories += await every_history(client, child.workflow_id, child.run_id)
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                next_run = (
                    event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                )
        if next_run is None:
            return histories


def write(history: WorkflowHistory, path: Path) -> Path:
    """The history as the CLI's JSON, indented so that two recordings diff line by line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(history.to_json_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def case_file(module: WorkflowModule, case: str) -> Path:
    return HISTORIES_DIR / f"{module.name}_{case}.json"


async def record_cases(client: Client, module: WorkflowModule, small_job: Any) -> list[Path]:
    """Run the module's small example and a fan-out job; write each first run's history.

    A worker for the module must poll its task queue. The ids are fixed, so a
    recording again replaces the earlier runs on the server and the files.
    """
    written = []
    for case, job in (("small", small_job), ("fan_out", FAN_OUT_JOB)):
        handle = await client.start_workflow(
            module.workflow_type,
            job,
            id=f"{module.workflow_type}-history-{case}",
            task_queue=module.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
        )
        await handle.result()
        # The first run: for the fan-out job, the one that starts children and
        # continues as new.
        history = await fetch(client, handle.id, handle.first_execution_run_id)
        written.append(write(history, case_file(module, case)))
    return written
