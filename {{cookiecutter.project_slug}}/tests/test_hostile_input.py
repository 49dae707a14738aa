"""Hostile and malformed workflow inputs: refused at once, or stored exactly as sent.

Every case runs through the real workflow and worker, started by type name as a
client without this service's types would. A refusal must be a non-retryable
error on the first try (no retry storm), before any activity: those cases run on a
stub upsert and no database. Whatever is stored must come back verbatim, and the
table must be intact afterwards. The cases are built from the
record's own fields, so they hold for any record.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError

from .helpers import (
    FIELD_NAMES,
    TEXT_FIELDS,
    StubUpserts,
    activity_attempts,
    application_error,
    events,
    handle_histories,
    records,
    result_within,
    serving,
    serving_stubs,
    stored,
)
from .module_under_test import FIELDS, MODULE

[GOOD] = records(1)
[KEY, *_] = FIELDS.key
TEXT_KEYS = [name for name in FIELDS.key if name in TEXT_FIELDS]
TYPE_OF = {field.name: field.type for field in FIELDS.all}
# A value of the wrong JSON type for each declared type, and what the refusal says.
WRONG_JSON = {
    "str": (7, "must be text"),
    "int": ("7", "must be a whole number"),
    "bool": (1, "must be true or false"),
    "decimal": (12.5, "must be text"),
    "date": (20260101, "must be text"),
    "datetime": (0, "must be text"),
    "uuid": (7, "must be text"),
}
# Text of the right JSON type that is no value of the field's declared type.
NOT_A_VALUE = {
    "decimal": ("twelve", "'twelve' is not a decimal"),
    "date": ("2026-13-01", "'2026-13-01' is not a date"),
    "datetime": ("2026-01-01T10:00", "'2026-01-01T10:00' has no UTC offset"),
    "uuid": ("not-a-uuid", "'not-a-uuid' is not a UUID"),
    "int": (2**63, f"{2**63} is out of range for a BIGINT column"),
}

# Values of the right JSON type that PostgreSQL would refuse (or Python could not read
# back): refused before any activity, naming the field, never sent to the database.
REFUSED_BY_POSTGRES: dict[str, list[tuple[Any, str]]] = {
    "str": [("lone \ud800 surrogate", "lone surrogate")],
    "decimal": [
        ("1e131072", "past the range of PostgreSQL's numeric"),
        ("1e-16384", "past the range of PostgreSQL's numeric"),
    ],
    "float": [(float("nan"), "not a finite number"), (float("inf"), "not a finite number")],
    "json": [
        ({"a": [1, float("nan")]}, "a[1] holds NaN or infinity"),
        ({"a": {"b": float("-inf")}}, "a.b holds NaN or infinity"),
        ({"a": "\ud800"}, "a holds a lone surrogate"),
        ({"a\x00b": 1}, "NUL character"),
    ],
    "list[str]": [(["ok", "\udfff"], "lone surrogate"), (["a\x00"], "NUL character")],
    "datetime": [
        ("0001-01-01T00:00:00+05:00", "before year 1 or after 9999 in UTC"),
        ("9999-12-31T23:00:00-05:00", "before year 1 or after 9999 in UTC"),
    ],
}


def with_record(**changes: Any) -> dict[str, Any]:
    """A job of one record: the module's own record 1, with ``changes``."""
    return {"records": [{**GOOD, **changes}]}


REFUSED = [
    pytest.param("not an object", "input must be an object, got text", id="text"),
    pytest.param(None, "input must be an object, got null", id="null"),
    pytest.param([GOOD], "input must be an object, got a list", id="list"),
    pytest.param({"records": 5}, "input.records must be a list, got a number", id="records-int"),
    pytest.param({"records": [7]}, "input.records[0] must be an object", id="record-int"),
    pytest.param(
        {"records": [{k: v for k, v in GOOD.items() if k != KEY}]},
        f"input.records[0] is missing field '{KEY}'",
        id="no-key",
    ),
    pytest.param(
        with_record(**{KEY: WRONG_JSON[TYPE_OF[KEY]][0]}),
        f"records[0].{KEY} {WRONG_JSON[TYPE_OF[KEY]][1]}",
        id="key-wrong-type",
    ),
    *(
        pytest.param(with_record(**{name: value}), f"records[0].{name}: {why}", id=f"bad-{name}")
        for name in FIELD_NAMES
        if TYPE_OF[name] in NOT_A_VALUE
        for value, why in [NOT_A_VALUE[TYPE_OF[name]]]
    ),
    *(
        pytest.param(with_record(**{name: value}), why, id=f"postgres-{name}-{place}")
        for name in FIELD_NAMES
        for place, (value, why) in enumerate(REFUSED_BY_POSTGRES.get(TYPE_OF[name], []))
    ),
    *(
        case
        for name in TEXT_KEYS[:1]
        for case in [
            pytest.param(with_record(**{name: ""}), "must not be empty", id="empty-key"),
            pytest.param(with_record(**{name: "k" * 201}), "over 200", id="long-key"),
        ]
    ),
    *(
        pytest.param(with_record(**{name: "a\x00b"}), "NUL character", id="nul-byte")
        for name in TEXT_FIELDS[:1]
    ),
    pytest.param(with_record(extra="x"), "unknown field 'extra'", id="unknown-field"),
    pytest.param({"recrods": []}, "unknown field 'recrods'", id="typo"),
    pytest.param({"key_range": {"first": 1}}, "missing field 'count'", id="range-no-count"),
    pytest.param(
        {"key_range": {"first": 1, "count": -1}}, "count must be from 0", id="range-negative"
    ),
    pytest.param(
        {"key_range": {"first": 1, "count": 1.5}}, "must be a whole number", id="range-float"
    ),
    pytest.param(
        {"key_range": {"first": 1, "count": True}}, "must be a whole number", id="range-bool"
    ),
    pytest.param(
        {"max_activities_per_run": 5000},
        "max_activities_per_run must be from 1 to 1,000",
        id="limit-raised",
    ),
    pytest.param({"batch_size": 0}, "batch_size must be from 1", id="batch-zero"),
    pytest.param(
        {"key_range": {"first": 1, "count": 10}, "done": 10},
        "done is set by the workflow itself",
        id="skip-work",
    ),
]

ODD_BUT_VALID_TEXT = [
    pytest.param(f"Robert'); DROP TABLE {MODULE.table}; --", id="sql"),
    pytest.param("Ünïcödé ✓ Кардаш'ян 卡戴珊", id="non-ascii"),
    pytest.param("🙂 emoji", id="emoji"),
    pytest.param("  spaces\tand\nnewlines ", id="whitespace"),
    pytest.param("%s %(key)s {} $1 \\ ' \" ;", id="placeholders"),
]


async def run_workflow(
    client: Client, task_queue: str, job: Any, workers: AbstractAsyncContextManager[None]
) -> tuple[Any, BaseException | None]:
    """Start by type name while ``workers`` run, and wait; return the handle and the
    failure, if any."""
    async with workers:
        handle = await client.start_workflow(
            MODULE.workflow_type, job, id=f"hostile-{uuid.uuid4()}", task_queue=task_queue
        )
        try:
            await result_within(handle, timeout=30)
        except WorkflowFailureError as failure:
            return handle, failure
    return handle, None


def schema_intact(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'",
            (MODULE.table,),
        ).fetchone()
    return row is not None and row[0] == 1


@pytest.mark.parametrize(("job", "complaint"), REFUSED)
async def test_malformed_input_is_refused_at_once(
    client: Client, task_queue: str, job: Any, complaint: str
) -> None:
    # Refused by the workflow before any activity: a stub upsert, no database.
    stub = StubUpserts()
    workers = serving_stubs(client, task_queue, stub)
    handle, failure = await run_workflow(client, task_queue, job, workers)
    assert failure is not None, "the workflow must refuse this input"
    error = application_error(failure)
    assert error.type == "InvalidInput"
    assert error.non_retryable
    assert complaint in error.message
    histories = await handle_histories(client, handle)
    assert events(histories, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) == []  # no retry storm
    assert activity_attempts(histories) == []
    assert stub.records == []


@pytest.mark.parametrize("text", ODD_BUT_VALID_TEXT)
async def test_odd_but_valid_text_is_stored_verbatim(
    client: Client, database_url: str, task_queue: str, text: str
) -> None:
    record = {**GOOD, **dict.fromkeys(TEXT_FIELDS, text)}
    workers = serving(client, database_url, task_queue)
    _, failure = await run_workflow(client, task_queue, {"records": [record]}, workers)
    assert failure is None
    assert [{name: row[name] for name in FIELD_NAMES} for row in stored(database_url)] == [record]
    assert schema_intact(database_url)
