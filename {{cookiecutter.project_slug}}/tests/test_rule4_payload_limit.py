"""Rule 4: no payload over 200 KiB leaves the service, on any path.

Every client of the service (and so every worker) converts values with
DATA_CONVERTER; these tests use the session's client, which does too. The limit
is written here as the guide's number, not read from the code, so that loosening
the code's limit fails these tests.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.converter import DefaultPayloadConverter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from {{ cookiecutter.package_name }}.temporal.payloads import (
    PAYLOAD_TOO_LARGE,
    CheckedPayloadConverter,
    PayloadTooLargeError,
)
from {{ cookiecutter.package_name }}.temporal.worker import running

from .helpers import (
    StubUpserts,
    activity_attempts,
    application_error,
    handle_histories,
    job_over,
    serving_stubs,
    temporal_cli,
)
from .module_under_test import MODULE, Job, Workflow

GUIDE_LIMIT = 200 * 1024


def payload_size(value: object) -> int:
    return DefaultPayloadConverter().to_payloads([value])[0].ByteSize()


def text_with_payload_size(size: int) -> str:
    """A string whose JSON payload, metadata included, is exactly ``size`` bytes."""
    overhead = payload_size("x" * size) - size  # constant for sizes of this order
    text = "x" * (size - overhead)
    assert payload_size(text) == size
    return text


AT_LIMIT = text_with_payload_size(GUIDE_LIMIT)
OVER_LIMIT = text_with_payload_size(GUIDE_LIMIT + 1)


def test_converter_refuses_one_byte_over_200_kib() -> None:
    converter = CheckedPayloadConverter()
    [fits] = converter.to_payloads([AT_LIMIT])
    assert fits.ByteSize() == GUIDE_LIMIT
    with pytest.raises(PayloadTooLargeError) as refused:
        converter.to_payloads([OVER_LIMIT])
    message = str(refused.value)
    assert f"payload of {GUIDE_LIMIT + 1:,} bytes is over the {GUIDE_LIMIT:,}-byte limit" in message
    assert "store the data in PostgreSQL and pass its key" in message
    assert refused.value.non_retryable


def oversized_job() -> Job:
    job: Job = cast(Job, job_over(GUIDE_LIMIT))
    return job


async def test_oversized_start_is_refused_before_anything_is_sent(client: Client) -> None:
    workflow_id = f"too-big-{uuid.uuid4()}"
    with pytest.raises(PayloadTooLargeError):
        await client.start_workflow(
            Workflow.run, oversized_job(), id=workflow_id, task_queue=MODULE.task_queue
        )
    with pytest.raises(RPCError) as lookup:
        await client.get_workflow_handle(workflow_id).describe()
    assert lookup.value.status == RPCStatusCode.NOT_FOUND


@activity.defn(name="tests.big_result")
async def big_result() -> str:
    return OVER_LIMIT


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
                OversizedPayloads.run, OVER_LIMIT, id=f"{workflow.info().workflow_id}-child"
            )
        return OVER_LIMIT  # the workflow's own result


@pytest.mark.parametrize("path", ["activity result", "child input", "workflow result"])
async def test_oversized_payload_fails_the_workflow_cleanly(
    client: Client, task_queue: str, path: str
) -> None:
    worker = Worker(
        client, task_queue=task_queue, workflows=[OversizedPayloads], activities=[big_result]
    )
    async with running([worker]):
        handle = await client.start_workflow(
            OversizedPayloads.run, path, id=f"oversized-{uuid.uuid4()}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(handle.result(), timeout=30)
    assert application_error(failure.value).type == PAYLOAD_TOO_LARGE
    # Failed on the first attempt: refusing a payload is never retried.
    assert activity_attempts(await handle_histories(client, handle)) in ([], [1])


async def test_input_from_another_client_is_checked_by_the_workflow(
    client: Client, task_queue: str, tmp_path: Path
) -> None:
    """The temporal CLI does not use our converter; the worker checks the input itself."""
    input_file = tmp_path / "oversized.json"
    input_file.write_text(json.dumps(oversized_job()), encoding="utf-8")
    workflow_id = f"cli-too-big-{uuid.uuid4()}"
    stub = StubUpserts()
    async with serving_stubs(client, task_queue, stub):
        args = ["workflow", "start", "--workflow-id", workflow_id, "--type", MODULE.workflow_type]
        args += ["--task-queue", task_queue, "--input-file", str(input_file)]
        started = temporal_cli(client.service_client.config.target_host, *args)
        assert started.returncode == 0, started.stderr
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), timeout=30)
    assert application_error(failure.value).type == PAYLOAD_TOO_LARGE
    assert stub.records == []


async def test_server_refuses_payloads_over_its_own_limit(client: Client, tmp_path: Path) -> None:
    """What the server enforces without our converter: a hard limit of 2 MiB per payload."""
    input_file = tmp_path / "huge.json"
    input_file.write_text(json.dumps("x" * (2 * 1024 * 1024 + 1)), encoding="utf-8")
    args = ["workflow", "start", "--workflow-id", f"huge-{uuid.uuid4()}"]
    args += ["--type", MODULE.workflow_type, "--task-queue", f"nobody-{uuid.uuid4()}"]
    args += ["--input-file", str(input_file)]
    started = temporal_cli(client.service_client.config.target_host, *args)
    assert started.returncode != 0
    assert "size" in started.stderr.lower()
