"""Hostile and malformed workflow inputs: refused at once, or stored exactly as sent.

Every case runs through the real workflow and worker. A refusal must be a
non-retryable error on the first try (no retry storm); whatever is stored must
come back verbatim; the table must be intact afterwards.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import TABLE_NAME

from .support import (
    activity_attempts,
    application_error,
    events,
    handle_histories,
    running,
    service_worker,
    table_rows,
)

WORKFLOW_TYPE = "{{ cookiecutter.workflow_name }}Workflow"


def person(name: Any, surname: Any = "Kardashian", known_for: Any = "") -> dict[str, Any]:
    return {"name": name, "surname": surname, "known_for": known_for}


REFUSED = [
    pytest.param("not an object", "input must be a JSON object", id="not-an-object"),
    pytest.param({}, "missing field 'family'", id="no-family"),
    pytest.param({"family": 7, "members": []}, "field 'family' must be a string", id="family-int"),
    pytest.param({"family": "", "members": []}, "'family' must not be empty", id="family-empty"),
    pytest.param({"family": "K", "members": "Kim"}, "'members' must be a list", id="members-str"),
    pytest.param({"family": "K", "members": [None]}, "members[0]: expected an object", id="null"),
    pytest.param(
        {"family": "K", "members": [{"name": "Kim"}]}, "missing field 'surname'", id="no-surname"
    ),
    pytest.param({"family": "K", "members": [person(7)]}, "must be a string", id="name-int"),
    pytest.param({"family": "K", "members": [person("Ki\x00m")]}, "NUL", id="nul-byte"),
    pytest.param({"family": "K", "members": [person("K" * 201)]}, "over 200", id="long-name"),
    pytest.param(
        {"family": "K", "members": [person("Kim", known_for="x" * 2001)]}, "over 2,000", id="long"
    ),
    pytest.param({"family": "K", "members": [], "fans": -1}, "'fans' must be", id="fans-neg"),
    pytest.param({"family": "K", "members": [], "fans": "9"}, "'fans' must be", id="fans-str"),
    pytest.param({"family": "K", "members": [], "fans": True}, "'fans' must be", id="fans-bool"),
    pytest.param(
        {"family": "K", "members": [], "max_activities_per_run": 5000},
        "'max_activities_per_run' must be",
        id="limit-raised",
    ),
    pytest.param(
        {"family": "K", "members": [], "fans": 10, "done": 10},
        "'done' is set by the workflow itself",
        id="skip-work",
    ),
]

STORED_VERBATIM = [
    pytest.param(person("Robert'); DROP TABLE " + TABLE_NAME + "; --", "Tables"), id="sql"),
    pytest.param(person("Khloé", "Kardashian-Odom", "Ünïcödé ✓"), id="accents"),
    pytest.param(person("Кім", "Кардаш'ян", "кирилиця"), id="cyrillic"),
    pytest.param(person("金", "卡戴珊", "🙂 emoji"), id="cjk-emoji"),
    pytest.param(person("K" * 200, "S" * 200, "x" * 2000), id="longest-allowed"),
    pytest.param(person(" Kim ", "Kardashian", "  spaces\tand\nnewlines "), id="whitespace"),
    pytest.param(person("%s %(name)s {}", "$1 \\", "' \" ;"), id="placeholders"),
]


async def run_workflow(
    client: Client, database_url: str, task_queue: str, workflow_input: Any
) -> tuple[Any, BaseException | None]:
    """Start by type name, as a client without this service's types would; wait."""
    async with running(service_worker(client, database_url, task_queue)):
        handle = await client.start_workflow(
            WORKFLOW_TYPE, workflow_input, id=f"hostile-{uuid.uuid4()}", task_queue=task_queue
        )
        try:
            await handle.result()
        except WorkflowFailureError as failure:
            return handle, failure
    return handle, None


def schema_intact(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'",
            (TABLE_NAME,),
        ).fetchone()
    return row is not None and row[0] == 1


@pytest.mark.parametrize(("workflow_input", "complaint"), REFUSED)
async def test_malformed_input_is_refused_at_once(
    client: Client, database_url: str, task_queue: str, workflow_input: Any, complaint: str
) -> None:
    handle, failure = await run_workflow(client, database_url, task_queue, workflow_input)
    assert failure is not None, "the workflow must refuse this input"
    error = application_error(failure)
    assert error.type == "InvalidInput"
    assert error.non_retryable
    assert complaint in error.message
    histories = await handle_histories(client, handle)
    assert events(histories, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) == []  # no retry storm
    assert activity_attempts(histories) == []
    assert table_rows(database_url) == []
    assert schema_intact(database_url)


@pytest.mark.parametrize("member", STORED_VERBATIM)
async def test_odd_but_valid_text_is_stored_verbatim(
    client: Client, database_url: str, task_queue: str, member: dict[str, Any]
) -> None:
    workflow_input = {"family": member["surname"], "members": [member]}
    _, failure = await run_workflow(client, database_url, task_queue, workflow_input)
    assert failure is None
    rows = table_rows(database_url)
    assert [row[1:] for row in rows] == [(member["name"], member["surname"], member["known_for"])]
    assert schema_intact(database_url)
