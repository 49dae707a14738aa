"""Helpers shared by the tests: running a worker, reading rows and histories."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import psycopg
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from {{ cookiecutter.package_name }}.temporal.worker import create_worker, stop_worker_faster

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
    {{ cookiecutter.workflow_name }}WorkflowImpl,
)

Row = tuple[Any, ...]


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
        workflows=[{{ cookiecutter.workflow_name }}WorkflowImpl],
        activities=[*impl.all(), *extra_activities],
        graceful_shutdown_timeout=graceful_shutdown,
    )


def table_rows(database_url: str) -> list[Row]:
    """Every row of the example table, ordered, ids included."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT id, name, surname, known_for FROM {{ cookiecutter.table_name }} ORDER BY id"
        ).fetchall()


async def history_events(handle: WorkflowHandle[Any, Any], event_type: int) -> list[HistoryEvent]:
    """The events of one type in the workflow's history, as the server recorded them."""
    history = await handle.fetch_history()
    return [event for event in history.events if event.event_type == event_type]


async def scheduled_activity_names(handle: WorkflowHandle[Any, Any]) -> list[str]:
    events = await history_events(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    return [e.activity_task_scheduled_event_attributes.activity_type.name for e in events]


async def activity_attempts(handle: WorkflowHandle[Any, Any]) -> list[int]:
    """The attempt on which each activity last started (1 means it was never retried)."""
    events = await history_events(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    return [e.activity_task_started_event_attributes.attempt for e in events]


async def wait_for_failed_attempt(
    handle: WorkflowHandle[Any, Any], message: str, timeout: float = 30
) -> None:
    """Wait until the server shows a pending activity whose last attempt failed with ``message``."""

    async def poll() -> None:
        while True:
            description = await handle.describe()
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
