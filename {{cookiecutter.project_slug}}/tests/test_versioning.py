"""Worker versioning on the dev server: a workflow started on version 1 stays there,
even waiting for version 1's workers to come back; once version 2 is current, new
workflows run on version 2 (the PINNED behaviour)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.fields import Fields
from {{ cookiecutter.package_name }}.temporal import versioning
from {{ cookiecutter.package_name }}.temporal.module import WorkflowModule
from {{ cookiecutter.package_name }}.temporal.worker import (
    STICKY_QUEUE_TIMEOUT,
    create_workers,
    running,
)

from .helpers import assert_eventually, result_within, temporal_cli


@workflow.defn(name="tests.versioning.Waits")
class Waits:
    """Runs until signalled: a workflow still in flight when a new version deploys."""

    def __init__(self) -> None:
        self.released = False

    @workflow.signal
    def release(self) -> None:
        self.released = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.released)
        return "done"


WAITS = WorkflowModule(
    package=__name__,
    workflow_type="tests.versioning.Waits",
    task_queue="tests.versioning",
    workflows=[Waits],
    activities=lambda database: [],
    table="",
    fields=Fields(name="str key"),  # no table: never written
)


async def first_task_ran_on(handle: WorkflowHandle[Any, Any]) -> str:
    """The build id of the worker that completed the workflow's first task, once one has."""
    async for event in handle.fetch_history_events(wait_new_event=True):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return event.workflow_task_completed_event_attributes.deployment_version.build_id
    raise AssertionError(f"{handle.id} closed before a workflow task completed")


async def versions_ran(handle: WorkflowHandle[Any, Any]) -> set[str]:
    """The build ids of the workers that completed the workflow's tasks."""
    history = await handle.fetch_history()
    completed = [
        event
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    attributes = [event.workflow_task_completed_event_attributes for event in completed]
    return {a.deployment_version.build_id for a in attributes}


@pytest.mark.slow  # it waits out a sticky queue to see a pinned workflow not move
async def test_a_running_workflow_stays_on_its_version_and_new_ones_take_the_current(
    client: Client, task_queue: str
) -> None:
    address = client.service_client.config.target_host
    name = f"test-{uuid.uuid4().hex[:8]}"

    def make_current(build_id: str) -> bool:
        # Accepted once a worker of that build has polled.
        args = ["worker", "deployment", "set-current-version", "--deployment-name", name]
        return temporal_cli(address, *args, "--build-id", build_id, "--yes").returncode == 0

    async def start_on(build_id: str) -> WorkflowHandle[Any, Any]:
        """A new workflow whose first task ran on ``build_id``, the current version.

        The server accepts a new current version before every task queue has heard of
        it, and a workflow started meanwhile runs on the version before, pinned there.
        So the test starts workflows until one runs on the new version, releasing the
        others: paced by their histories, not by a window of time (pytest's timeout
        bounds a version that never becomes current)."""
        while True:
            handle = await client.start_workflow(
                Waits.run, id=f"{build_id}-{uuid.uuid4()}", task_queue=task_queue
            )
            if await first_task_ran_on(handle) == build_id:
                return handle
            await handle.signal(Waits.release)
            await asyncio.sleep(0.2)  # spaces the tries; the history decides, not the time

    def workers_of(build_id: str) -> Any:
        deployment = versioning.deployment_config(build_id, name)
        assert deployment is not None
        assert deployment.default_versioning_behavior == versioning.DEFAULT_BEHAVIOR
        workers = create_workers(
            client, None, [WAITS], task_queue=task_queue, role="workflows", deployment=deployment
        )
        return running(workers)

    async with workers_of("v2"):
        async with workers_of("v1"):
            await assert_eventually("version 1 is current", lambda: make_current("v1"))
            first = await start_on("v1")
            await assert_eventually("version 2 is current", lambda: make_current("v2"))
            second = await start_on("v2")
        # Version 1's workers are gone; both workflows get a signal to finish.
        for handle in (first, second):
            await handle.signal(Waits.release)
        assert await result_within(second) == "done"
        # Long enough for version 1's sticky queue to give up its task: a workflow
        # that could move (AUTO_UPGRADE) would now finish on version 2. Pinned, it waits.
        await asyncio.sleep(STICKY_QUEUE_TIMEOUT.total_seconds() + 2)
        assert (await first.describe()).status == WorkflowExecutionStatus.RUNNING
        async with workers_of("v1"):
            assert await result_within(first) == "done"

    # Every task of the first ran on version 1, the one it started on.
    assert await versions_ran(first) == {"v1"}
    assert await versions_ran(second) == {"v2"}
    described = await first.describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    assert info.deployment_version.build_id == "v1"
    assert info.behavior == versioning.DEFAULT_BEHAVIOR.value


def test_without_a_build_id_workers_run_unversioned(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BUILD_ID", config.CONTROLLER_BUILD_ID, config.CONTROLLER_DEPLOYMENT_NAME):
        monkeypatch.delenv(name, raising=False)
    assert versioning.deployment_config() is None
    monkeypatch.setenv("BUILD_ID", "abc123")
    deployment = versioning.deployment_config()
    assert deployment is not None
    assert deployment.version.build_id == "abc123"
    # The service's name, unless DEPLOYMENT_NAME says otherwise.
    assert deployment.version.deployment_name == config.DEFAULT_DEPLOYMENT_NAME
    # In a pod of Temporal's worker controller, its own variables win.
    monkeypatch.setenv(config.CONTROLLER_BUILD_ID, "from-controller")
    monkeypatch.setenv(config.CONTROLLER_DEPLOYMENT_NAME, "ns/deployment")
    deployment = versioning.deployment_config()
    assert deployment is not None
    assert (deployment.version.build_id, deployment.version.deployment_name) == (
        "from-controller",
        "ns/deployment",
    )


async def versions_registered(client: Client, deployment_name: str) -> set[str]:
    """The build ids the server knows as versions of ``deployment_name`` (none yet: empty)."""
    request = DescribeWorkerDeploymentRequest(
        namespace=client.namespace, deployment_name=deployment_name
    )
    try:
        response = await client.workflow_service.describe_worker_deployment(request)
    except RPCError:  # not found until a worker of it has polled
        return set()
    summaries = response.worker_deployment_info.version_summaries
    return {summary.deployment_version.build_id for summary in summaries}


async def test_a_worker_the_controller_runs_registers_the_controllers_version(
    client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only what Temporal's worker controller injects into a pod: no BUILD_ID of ours.
    monkeypatch.delenv("BUILD_ID", raising=False)
    monkeypatch.delenv("DEPLOYMENT_NAME", raising=False)
    name = f"controller-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(config.CONTROLLER_DEPLOYMENT_NAME, name)
    monkeypatch.setenv(config.CONTROLLER_BUILD_ID, "c0ffee")
    deployment = versioning.deployment_config()
    workers = create_workers(
        client, None, [WAITS], task_queue=task_queue, role="workflows", deployment=deployment
    )
    async with running(workers):
        await assert_eventually(
            "the server lists the controller's version",
            lambda: versions_equal(client, name, {"c0ffee"}),
        )


async def versions_equal(client: Client, name: str, expected: set[str]) -> bool:
    return await versions_registered(client, name) == expected
