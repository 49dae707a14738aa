"""The shared pattern's arithmetic: how a job is sized, sliced into batches and children."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from {{ cookiecutter.package_name }}.temporal.fanout import (
    BATCH_SIZE,
    KEY_RANGE_BATCH_SIZE,
    STAGED_MERGES_IN_FLIGHT,
    job_size,
    records_of,
    slice_of,
    staged_batch_size,
)
from {{ cookiecutter.package_name }}.temporal.worker import create_workers, running

from .helpers import (
    StubUpserts,
    application_error,
    events,
    handle_histories,
    records,
    result_within,
    serving_stubs,
)
from .module_under_test import FIELDS, MODULE, NAME, Job, Record, Workflow

JOB: Any = {"records": records(101, 102, 103), "key_range": {"first": 1, "count": 5}}


def test_a_job_counts_its_records_and_its_range() -> None:
    assert job_size(JOB) == 8
    assert job_size({}) == 0


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [
        (0, 2, {"records": records(101, 102)}),
        (2, 5, {"records": records(103), "key_range": {"first": 1, "count": 2}}),
        (5, 8, {"key_range": {"first": 3, "count": 3}}),
        (7, 20, {"key_range": {"first": 5, "count": 1}}),
    ],
)
def test_a_slice_is_a_job_of_its_own(start: int, stop: int, expected: Any) -> None:
    assert slice_of(JOB, start, stop) == expected


def test_slices_cover_every_item_once() -> None:
    job: Any = {**JOB, "batch_size": 3, "max_activities_per_run": 2}
    parts = [slice_of(job, start, start + 3) for start in range(0, job_size(job), 3)]
    assert all(part["batch_size"] == 3 for part in parts)
    items = [record for part in parts for record in records_of(part, Record)]
    assert items == records_of(job, Record)
    assert len({tuple(getattr(item, name) for name in FIELDS.key) for item in items}) == 8


def test_a_deployment_can_refuse_numbered_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBERED_RECORDS", "off")
    with pytest.raises(ValueError, match=r"refuses \(NUMBERED_RECORDS=off\)"):
        records_of(JOB, Record)
    # Records sent in the job itself are still taken.
    [one] = records(1)
    assert records_of({"records": [one]}, Record) == [Record.from_dict(one)]
    monkeypatch.setenv("NUMBERED_RECORDS", "on")
    assert len(records_of(JOB, Record)) == 8


async def test_a_key_range_alone_goes_in_bigger_batches_than_records(
    client: Client, task_queue: str
) -> None:
    # A key_range's batches carry two numbers, records travel in theirs.
    assert (BATCH_SIZE, KEY_RANGE_BATCH_SIZE) == (1000, 5000)
    ranged: Any = {"key_range": {"first": 1, "count": 2 * KEY_RANGE_BATCH_SIZE + 1}}
    mixed: Any = {"records": records(0), "key_range": {"first": 1, "count": BATCH_SIZE}}
    sizes = []
    for job in (ranged, mixed):
        stub = StubUpserts()
        async with serving_stubs(client, task_queue, stub):
            handle = await client.start_workflow(
                Workflow.run, job, id=f"batches-{uuid.uuid4()}", task_queue=task_queue
            )
            await result_within(handle)
        sizes.append(sorted(stub.batch_sizes))
    assert sizes == [[1, KEY_RANGE_BATCH_SIZE, KEY_RANGE_BATCH_SIZE], [1, BATCH_SIZE]]


def test_a_loads_merges_take_at_most_200_000_rows_each_and_share_its_rows_evenly() -> None:
    # Two merges at once: an even number of merges of equal size leaves none to run alone
    # at the end while a database core idles.
    assert STAGED_MERGES_IN_FLIGHT == 2
    sizes = {1: 1, 6: 3, 100_000: 50_000, 400_000: 200_000, 400_001: 100_001}
    sizes |= {1_000_000: 166_667, 10_000_000: 200_000, 10_000_001: 192_308}
    assert {rows: staged_batch_size(rows) for rows in sizes} == sizes
    for rows in range(2, 2_000_000, 99_991):
        merges = -(-rows // staged_batch_size(rows))
        assert staged_batch_size(rows) <= 200_000 and merges % 2 == 0, rows


class FirstBatchFails:
    """The upsert activity under its real name: batch 1 fails for good once every other
    batch is running, and the others heartbeat until they are cancelled, never ending
    on their own. The test paces the failure; nothing waits on the clock."""

    def __init__(self, batches: int) -> None:
        self.others = batches - 1
        self.others_running = asyncio.Event()
        self.running: list[str] = []

    @activity.defn(name=f"{NAME}Activities.upsert")
    async def upsert(self, batch: Job) -> int:
        number = activity.info().activity_id  # activities are numbered as they are scheduled
        if number == "1":
            await self.others_running.wait()
            raise ApplicationError("the table refused a row", type="PermanentError")
        self.running.append(number)
        if len(self.running) == self.others:
            self.others_running.set()
        while True:  # until cancelled: a heartbeat brings the cancellation
            activity.heartbeat()
            await asyncio.sleep(0.05)


async def test_a_failing_batch_stops_the_others_before_the_run_fails(
    client: Client, task_queue: str
) -> None:
    batches = 5
    job: Job = {"records": records(*range(1, batches + 1)), "batch_size": 1}
    stub = FirstBatchFails(batches)
    workflows = create_workers(client, None, [MODULE], task_queue=task_queue, role="workflows")
    # Heartbeats go out at once, so a cancellation reaches the stub without delay.
    every = timedelta(milliseconds=100)
    activities = Worker(
        client,
        task_queue=task_queue,
        activities=[stub.upsert],
        default_heartbeat_throttle_interval=every,
        max_heartbeat_throttle_interval=every,
    )
    async with running([*workflows, activities]):
        handle = await client.start_workflow(
            Workflow.run, job, id=f"fails-{uuid.uuid4()}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await result_within(handle)
    # The run's failure says which batch failed, and why, with its type.
    error = failure.value.cause
    assert isinstance(error, ApplicationError)
    assert error.message == f"batch 1 of {batches}: items 1 to 1: the table refused a row"
    assert error.type == "PermanentError"
    assert application_error(error).message == "the table refused a row"  # behind it
    # Every other batch was cancelled, and had ended, before the run failed.
    [history] = await handle_histories(client, handle)
    [failed] = events([history], EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
    cancelled = events([history], EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
    assert len(cancelled) == batches - 1
    assert all(event.event_id < failed.event_id for event in cancelled)
