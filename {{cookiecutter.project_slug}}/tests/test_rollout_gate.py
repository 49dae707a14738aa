"""The rollout gate (gate/), run as Temporal's worker controller runs it: on a new version's
task queue, pinned to that version, with the gate's input or none. It completes when the
build finds every table and column it writes, and fails at once, naming them, when not."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql
from temporalio.api.deployment.v1 import WorkerDeploymentVersion
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentVersionRequest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import PinnedVersioningOverride
from temporalio.exceptions import ActivityError, RetryState
from temporalio.service import RPCError
from temporalio.worker import WorkerDeploymentConfig

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.db import Database
from {{ cookiecutter.package_name }}.gate.workflow_interface import (
    WORKFLOW_TYPE,
    GateReport,
    GateRequest,
)
from {{ cookiecutter.package_name }}.loads.staging import SHARED_TABLE_NAMES
from {{ cookiecutter.package_name }}.temporal import versioning
from {{ cookiecutter.package_name }}.temporal.worker import create_workers, running

from .helpers import application_error, assert_eventually, result_within
from .module_under_test import MODULE
from .test_versioning import versions_ran

# A gate that cannot pass must fail well within this: its check does not retry a schema.
FAILS_WITHIN = 30


@asynccontextmanager
async def a_controllers_version(
    client: Client, database_url: str, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[WorkerDeploymentConfig]:
    """The service's worker as a pod of the controller's runs it, for the block: only the
    controller's variables, its deployment name's form (<Kubernetes namespace>/<name>)."""
    monkeypatch.delenv("BUILD_ID", raising=False)
    monkeypatch.delenv("DEPLOYMENT_NAME", raising=False)
    monkeypatch.setenv(config.CONTROLLER_DEPLOYMENT_NAME, f"prod/gate-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv(config.CONTROLLER_BUILD_ID, "1.4.2-b7c9")
    deployment = versioning.deployment_config()
    assert deployment is not None
    database = Database(database_url)
    workers = create_workers(
        client, database, [MODULE], task_queue=task_queue, deployment=deployment
    )
    async with running(workers, database):
        yield deployment


async def polls_as(client: Client, deployment: WorkerDeploymentConfig, task_queue: str) -> bool:
    """Whether the server lists ``task_queue`` as a workflow queue of the version: what
    the controller waits for before it starts the gate there."""
    version = WorkerDeploymentVersion(
        deployment_name=deployment.version.deployment_name,
        build_id=deployment.version.build_id,
    )
    request = DescribeWorkerDeploymentVersionRequest(
        namespace=client.namespace, deployment_version=version
    )
    try:
        response = await client.workflow_service.describe_worker_deployment_version(request)
    except RPCError:  # not found until a worker of it has polled
        return False
    workflow_queues = {
        queue.name
        for queue in response.version_task_queues
        if queue.type == TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
    }
    return task_queue in workflow_queues


async def start_gate(
    client: Client,
    deployment: WorkerDeploymentConfig,
    task_queue: str,
    request: GateRequest | None = None,
) -> WorkflowHandle[None, GateReport]:
    """The gate as the controller starts it once the version's workers poll: its id,
    pinned to the new version, with the WorkerDeployment's ``input`` or no argument."""
    version = deployment.version
    await assert_eventually(
        f"the new version polls {task_queue}",
        lambda: polls_as(client, deployment, task_queue),
    )
    name = version.deployment_name
    handle: WorkflowHandle[None, GateReport] = await client.start_workflow(
        WORKFLOW_TYPE,
        args=[] if request is None else [request],
        id=f"test-{name}:{version.build_id}-{task_queue}",
        task_queue=task_queue,
        versioning_override=PinnedVersioningOverride(version),
        execution_timeout=timedelta(hours=1),
    )
    return handle


async def test_the_gate_passes_a_build_whose_schema_is_in_place(
    client: Client, database_url: str, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with a_controllers_version(client, database_url, task_queue, monkeypatch) as deployment:
        handle = await start_gate(client, deployment, task_queue)
        report = await result_within(handle)
    assert MODULE.table in report["tables"]
    assert set(SHARED_TABLE_NAMES) <= set(report["tables"])
    assert report["encrypted"] is False
    # It ran on the version it gates, as the controller pinned it.
    assert await versions_ran(handle) == {deployment.version.build_id}


@pytest.mark.parametrize("broken", ["column", "table"])
async def test_the_gate_fails_a_build_whose_schema_is_missing_and_names_what(
    client: Client,
    database_url: str,
    task_queue: str,
    monkeypatch: pytest.MonkeyPatch,
    broken: str,
) -> None:
    # The database as it was before this build's init-db: a column the code writes, or
    # the whole table, is not there yet.
    column = MODULE.fields.names[-1]
    table = sql.Identifier(MODULE.table)
    statement = (
        sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(table, sql.Identifier(column))
        if broken == "column"
        else sql.SQL("DROP TABLE {} CASCADE").format(table)
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(statement)
    async with a_controllers_version(client, database_url, task_queue, monkeypatch) as deployment:
        handle = await start_gate(client, deployment, task_queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await result_within(handle, timeout=FAILS_WITHIN)
    error = application_error(failed.value)
    missing = f"{MODULE.table}.{column}" if broken == "column" else f"table {MODULE.table}"
    assert missing in error.message
    assert "init-db" in error.message
    # Failed on its first attempt: no retry adds a column.
    assert isinstance(failed.value.cause, ActivityError)
    assert failed.value.cause.retry_state == RetryState.NON_RETRYABLE_FAILURE


async def test_the_gates_input_can_require_payload_encryption(
    client: Client, database_url: str, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYLOAD_ENCRYPTION_KEYS", raising=False)
    async with a_controllers_version(client, database_url, task_queue, monkeypatch) as deployment:
        handle = await start_gate(client, deployment, task_queue, {"require_encryption": True})
        with pytest.raises(WorkflowFailureError) as failed:
            await result_within(handle, timeout=FAILS_WITHIN)
    assert "PAYLOAD_ENCRYPTION_KEYS is not set" in application_error(failed.value).message
