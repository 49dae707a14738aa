"""Helpers shared by the tests: running a worker, reading rows and histories."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from {{ cookiecutter.package_name }}.temporal.worker import (
    create_worker,
    stop_worker_faster,
)

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    TABLE,
    WORKFLOWS,
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}WorkflowInput,
)

Row = tuple[Any, ...]

PROJECT_ROOT = Path(__file__).parent.parent
EXAMPLE = PROJECT_ROOT / "examples" / "{{ cookiecutter.workflow_module }}.json"
LARGE_EXAMPLE = PROJECT_ROOT / "examples" / "{{ cookiecutter.workflow_module }}_large.json"


def example_input(path: Path = EXAMPLE) -> {{ cookiecutter.workflow_name }}WorkflowInput:
    """An input the service ships in examples/, as any client would send it."""
    text = path.read_text(encoding="utf-8")
    data: {{ cookiecutter.workflow_name }}WorkflowInput = json.loads(text)
    return data


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    """Run ``worker`` for the block, then stop it with stop_worker_faster() (rule 8)."""
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        await stop_worker_faster(worker)
        await task


def service_worker(
    client: Client,
    database_url: str,
    task_queue: str,
    *,
    activities: {{ cookiecutter.workflow_name }}ActivitiesImpl | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),
    graceful_shutdown: timedelta = timedelta(seconds=1),
) -> Worker:
    """The service's own worker on a test's task queue, optionally with other activities."""
    if activities is None and not extra_activities:
        return create_worker(
            client, database_url, task_queue=task_queue, graceful_shutdown=graceful_shutdown
        )
    impl = activities or {{ cookiecutter.workflow_name }}ActivitiesImpl(database_url)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[*impl.all(), *extra_activities],
        graceful_shutdown_timeout=graceful_shutdown,
    )


def table_rows(database_url: str) -> list[Row]:
    """Every row of the example table, ordered, ids included."""
    query = sql.SQL("SELECT id, name, surname, known_for FROM {} ORDER BY id").format(TABLE)
    with psycopg.connect(database_url) as conn:
        return conn.execute(query).fetchall()


async def workflow_histories(
    client: Client, workflow_id: str, run_id: str
) -> list[WorkflowHistory]:
    """The history of this run, of the runs it continued as, and of all their children."""
    histories: list[WorkflowHistory] = []
    next_run: str | None = run_id
    while next_run:
        history = await client.get_workflow_handle(workflow_id, run_id=next_run).fetch_history()
        histories.append(history)
        next_run = None
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                child = event.child_workflow_execution_started_event_attributes.workflow_execution
                histories += await workflow_histories(client, child.workflow_id, child.run_id)
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                attributes = event.workflow_execution_continued_as_new_event_attributes
                next_run = attributes.new_execution_run_id
    return histories


async def handle_histories(
    client: Client, handle: WorkflowHandle[Any, Any]
) -> list[WorkflowHistory]:
    """Every history a started workflow produced, children and continued runs included."""
    run_id = handle.first_execution_run_id or handle.run_id
    assert run_id, "a handle from start_workflow knows its first run"
    return await workflow_histories(client, handle.id, run_id)


def events(histories: list[WorkflowHistory], event_type: int) -> list[HistoryEvent]:
    return [e for history in histories for e in history.events if e.event_type == event_type]


def scheduled_activity_names(histories: list[WorkflowHistory]) -> list[str]:
    scheduled = events(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    return [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled]


def activity_attempts(histories: list[WorkflowHistory]) -> list[int]:
    """The attempt on which each activity last started (1 means it was never retried)."""
    started = events(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    return [e.activity_task_started_event_attributes.attempt for e in started]


def application_error(error: BaseException) -> ApplicationError:
    """The first ApplicationError behind a workflow, child workflow or activity failure."""
    current: object = error
    while not isinstance(current, ApplicationError):
        # WorkflowFailureError, ChildWorkflowError and ActivityError each carry a .cause.
        current = getattr(current, "cause", None)
        if current is None:
            raise AssertionError(f"no ApplicationError behind {error!r}")
    return current


async def wait_for_failed_attempt(
    handle: WorkflowHandle[Any, Any], message: str, timeout: float = 30
) -> None:
    """Wait until the server shows a pending activity whose last attempt failed with ``message``."""

    async def poll() -> None:
        while True:
            try:
                description = await handle.describe()
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
            else:
                for pending in description.raw_description.pending_activities:
                    if message in pending.last_failure.message:
                        return
            await asyncio.sleep(0.2)

    await asyncio.wait_for(poll(), timeout)


def closed_port() -> int:
    """A local TCP port with nothing listening on it: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
