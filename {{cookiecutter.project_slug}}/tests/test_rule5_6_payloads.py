"""Rules 5 and 6: one positional, plain-JSON argument, with a domain object that round-trips."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.model import (
    {{ cookiecutter.workflow_name }},
    parse_input,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Workflow,
)

from .support import (
    EXAMPLE,
    activity_attempts,
    example_input,
    handle_histories,
    running,
    service_worker,
    table_rows,
)


def test_domain_object_round_trips_through_json() -> None:
    original = {{ cookiecutter.workflow_name }}(
        name="Khloé",
        surname="Kardashian",
        known_for='quotes " and \\ slashes',
    )
    wire = json.loads(json.dumps(original.to_dict()))
    assert {{ cookiecutter.workflow_name }}.from_dict(wire) == original


def test_from_dict_is_a_real_classmethod() -> None:
    class Subclass({{ cookiecutter.workflow_name }}):
        pass

    built = Subclass.from_dict({"name": "Kim", "surname": "Kardashian", "known_for": ""})
    assert type(built) is Subclass


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ({"surname": "Kardashian"}, "missing field 'name'"),
        ({"name": 7, "surname": "Kardashian"}, "field 'name' must be a string"),
        (["Kim", "Kardashian"], "expected an object"),
    ],
)
def test_from_dict_names_what_is_wrong(payload: Any, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        {{ cookiecutter.workflow_name }}.from_dict(payload)


def test_shipped_example_is_plain_json_of_the_input_shape() -> None:
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))  # as any client reads it
    job = parse_input(raw)
    assert job.family and job.members
    assert [m.to_dict() for m in job.members] == raw["members"]


async def test_invalid_input_fails_the_workflow_at_once(
    client: Client, database_url: str, task_queue: str
) -> None:
    async with running(service_worker(client, database_url, task_queue)):
        # Started by type name, as a client without this service's types would.
        handle = await client.start_workflow(
            "{{ cookiecutter.workflow_name }}Workflow",
            {"family": "Kardashian", "members": [{"surname": "Kardashian"}]},
            id=f"invalid-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidInput"
    assert "members[0]: missing field 'name'" in cause.message
    assert activity_attempts(await handle_histories(client, handle)) == []
    assert table_rows(database_url) == []


async def test_typed_start_takes_one_positional_argument(
    client: Client, database_url: str, task_queue: str
) -> None:
    workflow_input = example_input()
    async with running(service_worker(client, database_url, task_queue)):
        result = await client.execute_workflow(
            {{ cookiecutter.workflow_name }}Workflow.run,
            workflow_input,
            id=f"positional-{uuid.uuid4()}",
            task_queue=task_queue,
        )
    assert result["upserted"] == len(workflow_input["members"])
