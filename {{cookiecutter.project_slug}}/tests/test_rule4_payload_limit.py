"""Rule 4: no payload over 200 KiB leaves the service, on any path.

Every client of the service (and so every worker) converts values with
DATA_CONVERTER; these tests use the session's client, which does too.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from {{ cookiecutter.package_name }}.temporal.payloads import (
    MAX_PAYLOAD_BYTES,
    PAYLOAD_TOO_LARGE,
    PayloadTooLargeError,
    SizeLimitedPayloadConverter,
)

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    TASK_QUEUE,
    {{ cookiecutter.workflow_name }}Dict,
    {{ cookiecutter.workflow_name }}Workflow,
    {{ cookiecutter.workflow_name }}WorkflowInput,
)

from .processes import temporal_cli
from .support import activity_attempts, application_error, handle_histories, running, service_worker

TOO_BIG = "x" * (MAX_PAYLOAD_BYTES + 1)
WORKFLOW_TYPE = "{{ cookiecutter.workflow_name }}Workflow"


def oversized_input() -> {{ cookiecutter.workflow_name }}WorkflowInput:
    big: {{ cookiecutter.workflow_name }}Dict = {
        "name": "Kim",
        "surname": "Kardashian",
        "known_for": TOO_BIG,
    }
    return {"family": "Kardashian", "members": [big]}


def test_converter_refuses_only_what_is_over_the_limit() -> None:
    converter = SizeLimitedPayloadConverter()
    [fits] = converter.to_payloads(["x" * (MAX_PAYLOAD_BYTES - 100)])
    assert fits.ByteSize() <= MAX_PAYLOAD_BYTES
    with pytest.raises(PayloadTooLargeError) as refused:
        converter.to_payloads([TOO_BIG])
    message = str(refused.value)
    assert f"{MAX_PAYLOAD_BYTES:,}-byte limit" in message
    assert "store the data in PostgreSQL and pass its key" in message
    assert refused.value.non_retryable


async def test_oversized_start_is_refused_before_anything_is_sent(client: Client) -> None:
    workflow_id = f"too-big-{uuid.uuid4()}"
    with pytest.raises(PayloadTooLargeError):
        await client.start_workflow(
            {{ cookiecutter.workflow_name }}Workflow.run,
            oversized_input(),
            id=workflow_id,
            task_queue=TASK_QUEUE,
        )
    with pytest.raises(RPCError) as lookup:
        await client.get_workflow_handle(workflow_id).describe()
    assert lookup.value.status == RPCStatusCode.NOT_FOUND


@activity.defn(name="tests.big_result")
async def big_result() -> str:
    return TOO_BIG


@workflow.defn(name="tests.OversizedPayloads")
class OversizedPayloads:
    """Sends an over-limit payload down one path, chosen by ``path``."""

    @workflow.run
    async def run(self, path: str) -> str:
        if path == "activity result":
            return await workflow.execute_activity(
                big_result, start_to_close_timeout=timedelta(seconds=10)
            )
        if path == "child input":
            return await workflow.execute_child_workflow(
                OversizedPayloads.run, TOO_BIG, id=f"{workflow.info().workflow_id}-child"
            )
        return TOO_BIG  # the workflow's own result


@pytest.mark.parametrize("path", ["activity result", "child input", "workflow result"])
async def test_oversized_payload_fails_the_workflow_cleanly(
    client: Client, task_queue: str, path: str
) -> None:
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[OversizedPayloads],
        activities=[big_result],
    )
    async with running(worker):
        handle = await client.start_workflow(
            OversizedPayloads.run, path, id=f"oversized-{uuid.uuid4()}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(handle.result(), timeout=30)
    assert application_error(failure.value).type == PAYLOAD_TOO_LARGE
    # Failed on the first attempt: refusing a payload is never retried.
    assert activity_attempts(await handle_histories(client, handle)) in ([], [1])


async def test_input_from_another_client_is_checked_by_the_workflow(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    """The temporal CLI does not use our converter; the workflow checks its input itself."""
    input_file = tmp_path / "oversized.json"
    input_file.write_text(json.dumps(oversized_input()), encoding="utf-8")
    workflow_id = f"cli-too-big-{uuid.uuid4()}"
    async with running(service_worker(client, database_url, task_queue)):
        args = ["workflow", "start", "--workflow-id", workflow_id, "--type", WORKFLOW_TYPE]
        args += ["--task-queue", task_queue, "--input-file", str(input_file)]
        started = temporal_cli(client.service_client.config.target_host, *args)
        assert started.returncode == 0, started.stderr
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), timeout=30)
    assert application_error(failure.value).type == PAYLOAD_TOO_LARGE


async def test_server_refuses_payloads_over_its_own_limit(client: Client, tmp_path: Path) -> None:
    """What the server enforces without our converter: a hard limit of 2 MiB per payload."""
    input_file = tmp_path / "huge.json"
    input_file.write_text(json.dumps("x" * (2 * 1024 * 1024 + 1)), encoding="utf-8")
    args = ["workflow", "start", "--workflow-id", f"huge-{uuid.uuid4()}", "--type", WORKFLOW_TYPE]
    args += ["--task-queue", f"nobody-{uuid.uuid4()}", "--input-file", str(input_file)]
    started = temporal_cli(client.service_client.config.target_host, *args)
    assert started.returncode != 0
    assert "size" in started.stderr.lower()
