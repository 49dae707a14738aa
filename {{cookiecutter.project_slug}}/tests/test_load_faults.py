"""Staged loads survive real failures: the worker killed mid-stage and mid-merge, PostgreSQL
stopped mid-stage. Each time the table must equal a clean load's, exactly.

The worker runs as a process of its own and the source is a real HTTP server in this
process, which holds the body at a byte the test chooses: the first chunk is
committed, the rest waits, and the fault lands there however fast the machine.
"""

from __future__ import annotations

import signal
import uuid
from typing import Any

import psycopg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from {{ cookiecutter.package_name }}.dev import EmbeddedPostgres
from {{ cookiecutter.package_name }}.loads.stage import CHUNK_BYTES
from {{ cookiecutter.package_name }}.temporal import runs

from .helpers import (
    TemporalServer,
    assert_eventually,
    background,
    cli,
    events,
    free_port,
    handle_histories,
    probe,
    result_within,
    row_held,
    service_env,
    stored,
)
from .helpers.sources import Faults, csv_text, expected_rows, http_source, without_ids
from .module_under_test import MODULE

pytestmark = pytest.mark.faults

# Two chunks and a half of rows: a chunk and a half come before the hold, so one chunk
# commits while the body waits.
ROW_BYTES = len(csv_text([10**6]).encode()) - len(csv_text([]).encode())
ROWS = CHUNK_BYTES * 5 // 2 // ROW_BYTES
NUMBERS = list(range(1, ROWS + 1))
RESULT_TIMEOUT = 180


def held_file() -> tuple[bytes, Faults]:
    """The file, and a body that holds after the first chunk's rows and a half."""
    return csv_text(NUMBERS).encode(), Faults(hold_at=CHUNK_BYTES * 3 // 2)


def load_state(url: str) -> tuple[str, int, int]:
    """The load's state, committed lines and merged ranges, or ('', 0, 0) before it begins."""
    try:
        with psycopg.connect(url) as conn:
            found = conn.execute(
                "SELECT state, lines, (SELECT count(*) FROM staged_load_merges) FROM staged_loads"
            ).fetchone()
    except psycopg.OperationalError:
        return "", 0, 0
    return (str(found[0]), int(found[1]), int(found[2])) if found else ("", 0, 0)


async def start_load(client: Client, queue: str, url: str, **options: Any) -> runs.Handle:
    job = {"source": {"url": url}, **options}
    return await runs.start(client, MODULE, job, f"load-{uuid.uuid4()}", queue)


async def test_worker_killed_mid_stage_resumes_from_the_committed_position(
    own_temporal: TemporalServer, own_postgres: EmbeddedPostgres, own_client: Client
) -> None:
    env, queue = service_env(own_temporal.address, own_postgres.url), f"load-{uuid.uuid4()}"
    data, faults = held_file()
    with http_source(data, faults) as url:
        with background(cli("worker", "--task-queue", queue), env) as first:
            handle = await start_load(own_client, queue, url)
            await assert_eventually(
                "a chunk committed", lambda: load_state(own_postgres.url)[1] > 0
            )
            committed = load_state(own_postgres.url)[1]
            first.kill()  # SIGKILL: the attempt is lost mid-stage
            first.wait()
        faults.released.set()
        with background(cli("worker", "--task-queue", queue), env):
            result = await result_within(handle, RESULT_TIMEOUT)
    assert without_ids(stored(own_postgres.url)) == expected_rows(NUMBERS)
    assert (result["load"]["rows"], result["load"]["rejects"]) == (ROWS, 0)
    # The next attempt asked for the rest only: from the byte after the committed lines.
    resumed = [asked for asked in faults.requests if asked]
    assert len(resumed) == 1 and committed > 0, faults.requests


async def test_worker_killed_mid_merge_leaves_every_row_once(
    own_temporal: TemporalServer, own_postgres: EmbeddedPostgres, own_client: Client
) -> None:
    env, queue = service_env(own_temporal.address, own_postgres.url), f"load-{uuid.uuid4()}"
    data = csv_text(NUMBERS).encode()
    with http_source(data, Faults()) as url:
        # The last row's key held by another transaction: its merge waits, so the worker
        # dies with merges done and merges in flight.
        with (
            row_held(own_postgres.url, ROWS),
            background(cli("worker", "--task-queue", queue), env) as first,
        ):
            handle = await start_load(own_client, queue, url, batch_size=1000)
            await assert_eventually("merges under way", lambda: load_state(own_postgres.url)[2] > 1)
            first.kill()
            first.wait()
        with background(cli("worker", "--task-queue", queue), env):
            result = await result_within(handle, RESULT_TIMEOUT)
    assert without_ids(stored(own_postgres.url)) == expected_rows(NUMBERS)
    assert (result["load"]["rows"], result["upserted"]) == (ROWS, ROWS)


async def test_postgres_stopped_mid_stage_loses_and_doubles_no_row(
    own_temporal: TemporalServer, own_postgres: EmbeddedPostgres, own_client: Client
) -> None:
    env, queue = service_env(own_temporal.address, own_postgres.url), f"load-{uuid.uuid4()}"
    data, faults = held_file()
    with http_source(data, faults) as url, background(cli("worker", "--task-queue", queue), env):
        handle = await start_load(own_client, queue, url)
        await assert_eventually("a chunk committed", lambda: load_state(own_postgres.url)[1] > 0)
        own_postgres.stop()
        faults.released.set()  # the next chunk is read, and cannot be committed
        own_postgres.start()
        result = await result_within(handle, RESULT_TIMEOUT)
    assert without_ids(stored(own_postgres.url)) == expected_rows(NUMBERS)
    assert (result["load"]["rows"], result["load"]["rejects"]) == (ROWS, 0)


# Long enough for the rest of the file to stage after SIGTERM on a loaded machine.
GRACEFUL_SECONDS = 30


def stopping_or_stopped(health_port: int) -> bool:
    """Whether a worker that answered its probes has begun to stop: /readyz says so, or
    nothing answers any more (with no graceful time, it stops at once)."""
    status, body = probe(health_port, "/readyz")
    return status == 0 or body.get("reason") == "shutting down"


async def test_sigterm_lets_an_activity_in_flight_finish_on_its_first_attempt(
    own_temporal: TemporalServer, own_postgres: EmbeddedPostgres, own_client: Client
) -> None:
    env, queue = service_env(own_temporal.address, own_postgres.url), f"load-{uuid.uuid4()}"
    health = free_port()
    stopping = env | {
        "GRACEFUL_SHUTDOWN_SECONDS": str(GRACEFUL_SECONDS),
        "HEALTH_ADDRESS": f"127.0.0.1:{health}",
    }
    data, faults = held_file()
    with http_source(data, faults) as url:
        with background(cli("worker", "--task-queue", queue), stopping) as first:
            handle = await start_load(own_client, queue, url)
            # The stage is in flight, its source held mid-body by the test.
            committed = lambda: load_state(own_postgres.url)[1] > 0  # noqa: E731
            await assert_eventually("a chunk committed", committed)
            first.send_signal(signal.SIGTERM)
            await assert_eventually(
                "the worker says it is shutting down, or has closed its probes",
                lambda: stopping_or_stopped(health),
            )
            faults.released.set()  # the rest of the file comes while the worker stops
            # It stops once the stage has finished: the stage's work is not handed back.
            assert first.wait(timeout=GRACEFUL_SECONDS + 15) == 0
        with background(cli("worker", "--task-queue", queue), env):
            result = await result_within(handle, RESULT_TIMEOUT)
    assert without_ids(stored(own_postgres.url)) == expected_rows(NUMBERS)
    assert result["load"]["rows"] == ROWS
    # The stage completed on its first attempt, on the worker that was told to stop (a
    # history records the started event of an activity's last attempt only).
    [history] = await handle_histories(own_client, handle)
    scheduled = {
        e.event_id
        for e in events([history], EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        if e.activity_task_scheduled_event_attributes.activity_type.name.endswith(".stage")
    }
    started = [
        e.activity_task_started_event_attributes.attempt
        for e in events([history], EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        if e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    ]
    assert started == [1], f"the stage completed on attempt {started}, not the first"
