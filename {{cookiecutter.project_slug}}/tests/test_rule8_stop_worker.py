"""Rule 8: stop_worker_faster() stops workers quickly, even with an activity in flight.

The guide's number is 0.5 s: the helper looks every half second whether the worker
is down. Written here rather than read from the code, so loosening it fails a test.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from {{ cookiecutter.package_name }}.temporal.worker import (
    WorkerStopTimeoutError,
    stop_worker_faster,
)

GUIDE_POLL_SECONDS = 0.5
# What a loaded 2-core machine adds to a wake-up; far less than a poll interval.
SCHEDULING_SLACK = 0.4

started = asyncio.Event()
cancelled = asyncio.Event()
release = asyncio.Event()


@activity.defn(name="tests.heartbeating_sleep")
async def heartbeating_sleep() -> None:
    """A long activity that heartbeats and honours cancellation, as long activities must."""
    started.set()
    try:
        while True:
            activity.heartbeat()
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        cancelled.set()
        raise


@activity.defn(name="tests.stubborn_sleep")
async def stubborn_sleep() -> None:
    """An activity that ignores cancellation until released: what makes shutdown hang."""
    started.set()
    while not release.is_set():
        try:
            await asyncio.wait_for(asyncio.shield(release.wait()), timeout=0.1)
        except (asyncio.CancelledError, asyncio.TimeoutError):
            continue


@workflow.defn(name="tests.OneActivity")
class OneActivity:
    @workflow.run
    async def run(self, activity_name: str) -> None:
        await workflow.execute_activity(
            activity_name,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=5),
        )


def worker_for(client: Client, task_queue: str, graceful: timedelta) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[OneActivity],
        activities=[heartbeating_sleep, stubborn_sleep],
        graceful_shutdown_timeout=graceful,
    )


async def busy_worker(
    client: Client, task_queue: str, activity_name: str, graceful: timedelta
) -> tuple[Worker, asyncio.Task[None]]:
    """A running worker, and its task, once ``activity_name`` has started on it."""
    worker = worker_for(client, task_queue, graceful)
    run = asyncio.create_task(worker.run())
    await client.start_workflow(
        OneActivity.run, activity_name, id=f"stop-{uuid.uuid4()}", task_queue=task_queue
    )
    await asyncio.wait_for(started.wait(), timeout=15)
    return worker, run


@pytest.fixture(autouse=True)
def fresh_events() -> None:
    for event in (started, cancelled, release):
        event.clear()


async def test_stops_a_worker_with_an_activity_in_flight(client: Client, task_queue: str) -> None:
    graceful = timedelta(seconds=0.5)
    worker, run = await busy_worker(client, task_queue, "tests.heartbeating_sleep", graceful)

    began = time.monotonic()
    await stop_worker_faster(worker, timeout=10)
    elapsed = time.monotonic() - began
    await run

    assert worker.is_shutdown
    assert cancelled.is_set(), "the in-flight activity was told to stop"
    print(f"worker with an activity in flight stopped in {elapsed:.2f}s")


async def test_raises_when_the_worker_is_not_down_in_time(client: Client, task_queue: str) -> None:
    graceful = timedelta(seconds=0.2)
    worker, run = await busy_worker(client, task_queue, "tests.stubborn_sleep", graceful)

    began = time.monotonic()
    try:
        with pytest.raises(WorkerStopTimeoutError):
            await stop_worker_faster(worker, timeout=0.2)
        raised_after = time.monotonic() - began
    finally:
        # Let the stubborn activity end, then finish stopping, so no worker outlives
        # the test, even when an assertion above failed.
        release.set()
        await stop_worker_faster(worker, timeout=10)
        await run
    # A stuck worker is noticed at the first look after the bound: within one poll.
    assert raised_after <= 0.2 + GUIDE_POLL_SECONDS + SCHEDULING_SLACK


async def test_returns_within_half_a_second_of_the_worker_being_down(
    client: Client, task_queue: str
) -> None:
    worker = worker_for(client, task_queue, graceful=timedelta(seconds=0.5))
    run = asyncio.create_task(worker.run())
    await asyncio.sleep(0.5)  # polling
    down_at: list[float] = []
    real_shutdown = worker.shutdown

    async def recorded_shutdown() -> None:
        await real_shutdown()
        down_at.append(time.monotonic())

    worker.shutdown = recorded_shutdown  # type: ignore[method-assign]
    await stop_worker_faster(worker, timeout=10)
    returned_at = time.monotonic()
    await run
    assert down_at, "the worker was shut down"
    assert returned_at - down_at[0] <= GUIDE_POLL_SECONDS + SCHEDULING_SLACK
