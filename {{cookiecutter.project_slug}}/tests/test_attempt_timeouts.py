"""No attempt outlives its timeout: inside an activity a connection ends its statements
and lock waits before the server gives up on the attempt (db.bound_to_attempt)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import psycopg
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import ActivityEnvironment

from {{ cookiecutter.package_name }} import db

from .helpers import assert_eventually, records, result_within, row_held, serving, stored
from .module_under_test import FIELDS, UPSERT_OPTIONS, Job, Workflow

# pg_settings gives both timeouts in milliseconds, whatever unit SHOW would print.
SETTINGS_IN_MS = (
    "SELECT (SELECT setting FROM pg_settings WHERE name = 'statement_timeout'),"
    " (SELECT setting FROM pg_settings WHERE name = 'lock_timeout')"
)
# Connections of this database held up by another session's lock, right now.
WAITERS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0"
)


async def settings_in_activity(
    database_url: str, start_to_close: timedelta | None, heartbeat: timedelta | None
) -> tuple[int, int]:
    """statement_timeout and lock_timeout, in ms, of a connection taken in an activity."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(
        environment.info, start_to_close_timeout=start_to_close, heartbeat_timeout=heartbeat
    )

    async def read() -> tuple[int, int]:
        async with db.connect_to_db_or_raise(database_url) as conn:
            cursor = await conn.execute(SETTINGS_IN_MS)
            row = await cursor.fetchone()
            assert row is not None
        return int(row[0]), int(row[1])

    result: tuple[int, int] = await environment.run(read)
    return result


async def test_an_activitys_connection_ends_its_waits_within_its_attempt(
    database_url: str,
) -> None:
    # The upsert's 5 s attempt: statements end within 4 s, lock waits within 2 s.
    assert UPSERT_OPTIONS["start_to_close_timeout"] == timedelta(seconds=5)
    assert await settings_in_activity(database_url, timedelta(seconds=5), None) == (4000, 2000)
    # A heartbeating activity's lock waits end within its heartbeat timeout's share.
    hours, beat = timedelta(hours=6), timedelta(seconds=10)
    assert await settings_in_activity(database_url, hours, beat) == (17_280_000, 4000)
    # Outside an activity (init-db, scripts) nothing is bounded.
    async with db.connect_to_db_or_raise(database_url) as conn:
        cursor = await conn.execute("SHOW statement_timeout")
        assert await cursor.fetchone() == ("0",)


async def attempt_of(handle: WorkflowHandle[Any, Any]) -> tuple[int, str]:
    """The pending upsert's attempt number and its last failure's message."""
    described = await handle.describe()
    pending = described.raw_description.pending_activities
    if not pending:
        return 0, ""
    return pending[0].attempt, pending[0].last_failure.message


async def test_a_locked_row_holds_one_connection_and_the_worker_goes_on(
    client: Client, database_url: str, task_queue: str
) -> None:
    [first, second] = records(1, 2)
    # Record 1's key with other values: the job must leave these in the row.
    changed: Any = {**second, **{name: first[name] for name in FIELDS.key}}
    update: Job = {"records": [changed]}
    another: Job = {"records": records(3)}
    most_waiting = 0

    async def count_waiters(stop: asyncio.Event) -> None:
        nonlocal most_waiting
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            while not stop.is_set():
                row = await (await conn.execute(WAITERS)).fetchone()
                most_waiting = max(most_waiting, row[0] if row else 0)
                await asyncio.sleep(0.05)

    async with serving(client, database_url, task_queue):
        stop = asyncio.Event()
        counting = asyncio.create_task(count_waiters(stop))
        with row_held(database_url, 1):  # another session's open insert of record 1
            locked = await client.start_workflow(
                Workflow.run, update, id=f"locked-{uuid.uuid4()}", task_queue=task_queue
            )
            # The worker is not wedged: another job completes while the row is held.
            other = await client.start_workflow(
                Workflow.run, another, id=f"other-{uuid.uuid4()}", task_queue=task_queue
            )
            await result_within(other)
            # Each attempt gives up on the lock itself, before the server would time it
            # out, so its retry never waits beside it. Paced by the attempts, not the clock.
            await assert_eventually(
                "the locked batch is on its third attempt",
                lambda: third_attempt_failed_on_the_lock(locked),
                timeout=120,
            )
        # Once the lock goes, the next attempt writes the job's values.
        assert await result_within(locked) == {"upserted": 1}
        stop.set()
        await counting
    assert most_waiting <= 1, f"{most_waiting} connections waited on the held row at once"
    rows = [{k: v for k, v in row.items() if k != "id"} for row in stored(database_url)]
    assert [row for row in rows if all(row[k] == changed[k] for k in FIELDS.key)] == [changed]


async def third_attempt_failed_on_the_lock(handle: WorkflowHandle[Any, Any]) -> bool:
    attempt, failure = await attempt_of(handle)
    if attempt >= 3:
        assert "lock timeout" in failure, failure
    return attempt >= 3
