"""Rules 5 and 6: one positional, plain-JSON argument, and a record that round-trips.

A start with the wrong number of arguments, from any client, fails the workflow at
once with a message that counts them, instead of failing its workflow task for ever.
The rules are about the workflow's input, so the upsert is a stub under its real name.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError

from {{ cookiecutter.package_name }}.temporal.fanout import job_size

from .helpers import (
    EXAMPLE,
    LARGE_EXAMPLE,
    StubUpserts,
    activity_attempts,
    application_error,
    example_input,
    handle_histories,
    result_within,
    serving_stubs,
    temporal_cli,
)
from .module_under_test import MODULE, Record, Workflow


def test_record_round_trips_through_json() -> None:
    for number in (1, 2, 10**9):
        original = Record.numbered(number)
        assert Record.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_from_dict_is_a_real_classmethod() -> None:
    class Subclass(Record):
        pass

    assert type(Subclass.from_dict(Record.numbered(1).to_dict())) is Subclass


@pytest.mark.parametrize("path", [EXAMPLE, LARGE_EXAMPLE], ids=["example", "large"])
def test_shipped_examples_are_plain_json_records(path: Any) -> None:
    job = json.loads(path.read_text(encoding="utf-8"))  # as any client reads it
    shipped = [Record.from_dict(data) for data in job["records"]]
    # Valid records whose payload form is plain JSON and carries the same values (a
    # time may come back in UTC, the same instant).
    payloads = [record.to_dict() for record in shipped]
    assert json.loads(json.dumps(payloads)) == payloads
    assert [Record.from_dict(payload) for payload in payloads] == shipped
    assert job_size(job) > 0


async def test_typed_start_takes_one_positional_argument(client: Client, task_queue: str) -> None:
    job = example_input()
    stub = StubUpserts()
    async with serving_stubs(client, task_queue, stub):
        handle = await client.start_workflow(
            Workflow.run, job, id=f"positional-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await result_within(handle) == {"upserted": len(job["records"])}
    assert [record.to_dict() for record in stub.records] == [
        Record.from_dict(data).to_dict() for data in job["records"]
    ]


def arity_complaint(count: int) -> str:
    return f"{MODULE.workflow_type} takes 1 argument (one JSON object), got {count}"


@pytest.mark.parametrize("args", [[], [{}, 1]], ids=["no-argument", "two-arguments"])
async def test_wrong_arity_from_the_python_client_fails_at_once(
    client: Client, task_queue: str, args: list[Any]
) -> None:
    async with serving_stubs(client, task_queue, StubUpserts()):
        handle = await client.start_workflow(
            MODULE.workflow_type, args=args, id=f"arity-{uuid.uuid4()}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await result_within(handle, timeout=15)
    error = application_error(failure.value)
    assert error.type == "InvalidInput"
    assert error.non_retryable
    assert arity_complaint(len(args)) in error.message
    assert activity_attempts(await handle_histories(client, handle)) == []


@pytest.mark.parametrize("inputs", [[], ["{}", "1"]], ids=["no-input", "two-inputs"])
async def test_wrong_arity_from_the_temporal_cli_fails_at_once(
    client: Client, task_queue: str, inputs: list[str]
) -> None:
    workflow_id = f"cli-arity-{uuid.uuid4()}"
    args = ["workflow", "start", "--workflow-id", workflow_id, "--type", MODULE.workflow_type]
    args += ["--task-queue", task_queue]
    for value in inputs:
        args += ["--input", value]
    stub = StubUpserts()
    async with serving_stubs(client, task_queue, stub):
        started = temporal_cli(client.service_client.config.target_host, *args)
        assert started.returncode == 0, started.stderr
        with pytest.raises(WorkflowFailureError) as failure:
            await result_within(client.get_workflow_handle(workflow_id), timeout=15)
    assert arity_complaint(len(inputs)) in application_error(failure.value).message
    assert stub.records == []
