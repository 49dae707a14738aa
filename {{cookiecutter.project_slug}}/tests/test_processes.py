"""The production shape: Temporal, PostgreSQL and the worker each in a process of their own.

The worker is started with ``python -m <package> worker``; the workflow is started
by the ``temporal`` CLI by its type name, with the input file the service ships.
"""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from {{ cookiecutter.package_name }}.temporal import runs
from {{ cookiecutter.package_name }}.temporal.client import new_client
from {{ cookiecutter.package_name }}.temporal.fanout import PROGRESS_QUERY, Progress, job_size

from .helpers import (
    EXAMPLE,
    LARGE_EXAMPLE,
    assert_eventually,
    background,
    cli,
    events,
    example_input,
    expect_every_row_once,
    handle_histories,
    result_within,
    run_cli,
    service_env,
    stored,
    table_locked,
    temporal_cli,
)
from .module_under_test import MODULE, Record

pytestmark = pytest.mark.processes


def test_worker_process_runs_the_example_started_by_the_temporal_cli_twice(
    temporal_address: str, database_url: str, tmp_path: Path
) -> None:
    env = service_env(temporal_address, database_url)
    queue = f"processes-{uuid.uuid4()}"
    init = run_cli("init-db", env=env)
    assert init.returncode == 0, init.stderr
    assert "schema applied" in init.stdout

    snapshots = []
    with background(cli("worker", "--task-queue", queue), env=env) as worker:
        for attempt in range(2):
            started = temporal_cli(
                temporal_address,
                "workflow", "execute",
                "--type", MODULE.workflow_type,
                "--task-queue", queue,
                "--workflow-id", f"cli-{attempt}-{uuid.uuid4()}",
                "--input-file", str(EXAMPLE),
                "--output", "json",
            )  # fmt: skip
            assert started.returncode == 0, started.stdout + started.stderr
            assert json.loads(started.stdout)["status"] == "COMPLETED"
            snapshots.append(stored(database_url))

        # Our own CLI starts the same input and prints the result.
        ran = run_cli("run", "--input-file", str(EXAMPLE), "--task-queue", queue, env=env)
        assert ran.returncode == 0, ran.stderr
        small = job_size(example_input())
        assert json.loads(ran.stdout) == {"upserted": small}

        # A bigger job through our CLI: fan-out, and progress on stderr. Output is a
        # pipe here, so progress comes as plain lines, not a redrawn bar.
        large = 20_000
        job = {"key_range": {"first": 1, "count": large}, "batch_size": 100}
        job["max_activities_per_run"] = 50  # 200 batches: 4 children
        job_file = tmp_path / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        ran = run_cli("run", "--input-file", str(job_file), "--task-queue", queue, env=env)
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout) == {"upserted": large}
        progress = [line for line in ran.stderr.splitlines() if line.startswith("progress: ")]
        assert progress[-1].startswith(f"progress: {large:,}/{large:,} items (100%)")
        assert "\r" not in ran.stderr

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0

    assert len(snapshots[0]) == small
    assert snapshots[1] == snapshots[0]
    # Each value as the example sent it, read back through the record (a decimal with
    # its digits, a datetime as the same instant).
    sent = [Record.from_dict(data).to_dict() for data in example_input()["records"]]
    assert [{name: row[name] for name in row if name != "id"} for row in snapshots[0]] == sent
    assert len(stored(database_url)) == large + small


# Ten children of 500 items, each in 10 batches of 50: 100 activities to share. The
# large example, a thousand times bigger, shares the same way in `make test-large`.
SHARED_JOB: dict[str, Any] = {
    "key_range": {"first": 1, "count": 5_000},
    "batch_size": 50,
    "max_activities_per_run": 10,
}


WORKFLOWS_ONLY = "--workflows-only"
ACTIVITIES_ONLY = "--activities-only"
# The large example takes about 30 s on 2 cores; room for a slow CI machine.
LARGE_RUN_TIMEOUT = 300.0


def pid_of(identity: str) -> int:
    """The process id in a worker's identity: the SDK's default is ``pid@host``."""
    return int(identity.split("@", 1)[0])


async def poller_pids(client: Client, queue: str, kind: TaskQueueType.ValueType) -> set[int]:
    request = DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=queue), task_queue_type=kind
    )
    described = await client.workflow_service.describe_task_queue(request)
    return {pid_of(poller.identity) for poller in described.pollers}


def pids_that_ran(histories: list[WorkflowHistory], event_type: EventType.ValueType) -> set[int]:
    """Which worker processes started the tasks of ``event_type`` in these histories."""
    started = events(histories, event_type)
    if event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        return {pid_of(e.workflow_task_started_event_attributes.identity) for e in started}
    return {pid_of(e.activity_task_started_event_attributes.identity) for e in started}


async def pids_with_batches_started(client: Client, workflow_id: str) -> set[int]:
    """The worker processes running an activity of the job's running children now."""
    # The parent's own answer lists its running children; their counts are not needed.
    progress = await client.get_workflow_handle(workflow_id).query(
        PROGRESS_QUERY, result_type=Progress
    )
    pids = set()
    for child in progress["children"]:
        try:
            described = await client.get_workflow_handle(child).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:  # listed, not started yet
                continue
            raise
        pending = described.raw_description.pending_activities
        pids |= {pid_of(a.last_worker_identity) for a in pending if a.last_worker_identity}
    return pids


class SharedRun(NamedTuple):
    workers: list[subprocess.Popen[bytes]]
    histories: list[WorkflowHistory]
    took_batches: set[int]
    """The processes seen running a batch while every batch was held (``share_out``)."""


async def run_shared_job(
    temporal_address: str,
    database_url: str,
    roles: list[list[str]],
    job: dict[str, Any] = SHARED_JOB,
    *,
    share_out: bool = False,
) -> SharedRun:
    """Run ``job`` on one worker process per entry of ``roles`` (extra worker options).

    The job starts once every process polls, so that each can take a share. Which
    process the server hands each batch to is its choice: with ``share_out`` every
    upsert waits on a locked table until each activity process is seen running one.
    Each can run only so many at once, so the job's many batches reach them all,
    however fast or busy any one of them is.
    """
    env = service_env(temporal_address, database_url)
    queue = f"shared-{uuid.uuid4()}"
    client = await new_client(target_host=temporal_address)
    with ExitStack() as stack:
        workers = [
            stack.enter_context(background(cli("worker", "--task-queue", queue, *role), env))
            for role in roles
        ]
        both = list(zip(workers, roles, strict=True))
        runs_workflows = {worker.pid for worker, role in both if ACTIVITIES_ONLY not in role}
        runs_activities = {worker.pid for worker, role in both if WORKFLOWS_ONLY not in role}

        async def all_polling() -> bool:
            workflow = await poller_pids(client, queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
            activity = await poller_pids(client, queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
            return workflow >= runs_workflows and activity >= runs_activities

        await assert_eventually("every worker process polls", all_polling)
        took_batches: set[int] = set()
        with table_locked(database_url) if share_out else nullcontext():
            # An id of its own: the id derived from the input would find an earlier test's run.
            handle = await runs.start(client, MODULE, job, queue, task_queue=queue)

            async def each_took_a_batch() -> bool:
                took_batches.update(await pids_with_batches_started(client, handle.id))
                return took_batches >= runs_activities

            if share_out:
                await assert_eventually("each activity process runs a batch", each_took_a_batch)
        result = await result_within(handle, timeout=LARGE_RUN_TIMEOUT)
    assert result["upserted"] == job_size(job)
    expect_every_row_once(database_url, job_size(job))
    return SharedRun(workers, await handle_histories(client, handle), took_batches)


async def test_a_workflows_only_and_an_activities_only_worker_share_a_job(
    temporal_address: str, database_url: str
) -> None:
    workers, histories, _ = await run_shared_job(
        temporal_address, database_url, [[WORKFLOWS_ONLY], [ACTIVITIES_ONLY]]
    )
    workflows_only, activities_only = (worker.pid for worker in workers)
    ran_workflow_tasks = pids_that_ran(histories, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    ran_activities = pids_that_ran(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    assert ran_workflow_tasks == {workflows_only}
    assert ran_activities == {activities_only}


async def test_three_worker_processes_share_a_job_and_write_each_row_once(
    temporal_address: str, database_url: str
) -> None:
    workers, histories, took_batches = await run_shared_job(
        temporal_address, database_url, [[], [], []], share_out=True
    )
    assert took_batches == {worker.pid for worker in workers}
    # Only the workers of this test ran its activities.
    ran_activities = pids_that_ran(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    assert ran_activities <= took_batches


# The large example, 1,000,006 items, is slow by nature (about half a minute each): these
# run in `make test-large` and a CI job of their own, not in `make test`.


@pytest.mark.large
async def test_a_process_of_each_role_completes_the_large_example(
    temporal_address: str, database_url: str
) -> None:
    large = example_input(LARGE_EXAMPLE)
    workers, histories, _ = await run_shared_job(
        temporal_address, database_url, [[WORKFLOWS_ONLY], [ACTIVITIES_ONLY]], large
    )
    workflows_only, activities_only = (worker.pid for worker in workers)
    assert pids_that_ran(histories, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) == {workflows_only}
    assert pids_that_ran(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) == {activities_only}


@pytest.mark.large
async def test_three_worker_processes_share_the_large_example(
    temporal_address: str, database_url: str
) -> None:
    large = example_input(LARGE_EXAMPLE)
    workers, histories, took_batches = await run_shared_job(
        temporal_address, database_url, [[], [], []], large, share_out=True
    )
    assert took_batches == {worker.pid for worker in workers}
    ran_activities = pids_that_ran(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    assert ran_activities <= took_batches
