"""Real failures, survived: nothing lost, nothing duplicated.

Temporal, PostgreSQL and the worker each run as a process of their own, as in
production, and the tests kill, stop and restart them mid-run. Run them alone
with ``pytest -m faults``.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from {{ cookiecutter.package_name }}.db import POOL_TIMEOUT
from {{ cookiecutter.package_name }}.dev import EmbeddedPostgres
from {{ cookiecutter.package_name }}.temporal import runs
from {{ cookiecutter.package_name }}.temporal.client import new_client
from {{ cookiecutter.package_name }}.temporal.fanout import job_size

from .helpers import (
    TemporalServer,
    activity_attempts,
    assert_eventually,
    background,
    cli,
    events,
    expect_every_row_once,
    free_port,
    handle_histories,
    probe,
    result_within,
    row_count,
    row_held,
    service_env,
)
from .module_under_test import MODULE

pytestmark = pytest.mark.faults

# Small batches and a low limit: long enough that the fault lands mid-run, short
# enough to keep the tests quick.
MEDIUM_INPUT: dict[str, Any] = {
    "key_range": {"first": 1, "count": 300},
    "batch_size": 1,
    "max_activities_per_run": 100,
}
# Children of 5,000 items in batches of 50: many activities in flight when killed.
LARGE_INPUT: dict[str, Any] = {
    "key_range": {"first": 1, "count": 10_000},
    "batch_size": 50,
    "max_activities_per_run": 100,
}
FAULT_RESULT_TIMEOUT = 180


def last_number(job: dict[str, Any]) -> int:
    """The number of the job's last record: held (helpers.row_held), the job cannot end."""
    return int(job["key_range"]["first"] + job["key_range"]["count"] - 1)


class Service:
    """Where the worker processes of one test connect, and the queue they poll."""

    def __init__(self, temporal: TemporalServer, postgres: EmbeddedPostgres) -> None:
        self.env = service_env(temporal.address, postgres.url)
        self.queue = f"faults-{uuid.uuid4()}"

    def worker(self) -> list[str]:
        return cli("worker", "--task-queue", self.queue)


async def start_and_wait_for_rows(
    client: Client, service: Service, job: Any, rows: int
) -> runs.Handle:
    """Start the workflow, then wait until ``rows`` rows show it is well under way."""
    handle = await runs.start(client, MODULE, job, task_queue=service.queue)
    url = service.env["DATABASE_URL"]
    await assert_eventually(f"{rows} rows written", lambda: row_count(url) >= rows)
    return handle


async def test_worker_killed_mid_run_another_worker_finishes(
    own_temporal: TemporalServer, own_postgres: EmbeddedPostgres, own_client: Client
) -> None:
    service = Service(own_temporal, own_postgres)
    job = LARGE_INPUT
    # Held until the worker is dead: it dies mid-run, however fast it is.
    with (
        row_held(own_postgres.url, last_number(job)),
        background(service.worker(), service.env) as first,
    ):
        handle = await start_and_wait_for_rows(own_client, service, job, 2000)
        first.kill()  # SIGKILL: no shutdown, activities in flight are simply lost
        first.wait()
    with background(service.worker(), service.env):
        result = await result_within(handle, FAULT_RESULT_TIMEOUT)
    assert result["upserted"] == job_size(job)
    expect_every_row_once(own_postgres.url, job_size(job))
    # Attempts lost with the killed worker timed out and ran again on the new one.
    assert max(activity_attempts(await handle_histories(own_client, handle))) >= 2

    # Visibility, which the count reads, catches up with the closed runs a moment later.
    async def none_running() -> bool:
        running = await own_client.count_workflows("ExecutionStatus = 'Running'")
        return running.count == 0

    await assert_eventually("no run of the job left running", none_running, 30)


async def test_database_stopped_mid_run_is_waited_out_and_readyz_says_so(
    own_temporal: TemporalServer, own_postgres: EmbeddedPostgres, own_client: Client
) -> None:
    service = Service(own_temporal, own_postgres)
    port = free_port()
    env = service.env | {"HEALTH_ADDRESS": f"127.0.0.1:{port}"}
    with background(service.worker(), env) as worker:
        await assert_eventually("/readyz says ready", lambda: probe(port, "/readyz")[0] == 200)
        # Held until the database stops, which ends the hold: it stops mid-run.
        with row_held(own_postgres.url, last_number(MEDIUM_INPUT)):
            handle = await start_and_wait_for_rows(own_client, service, MEDIUM_INPUT, 100)
            own_postgres.stop()

        # The readiness probe tells, while the process lives on.
        def says_postgresql_is_away() -> bool:
            status, body = probe(port, "/readyz")
            return status == 503 and body["reason"].startswith("PostgreSQL at ")

        await assert_eventually("/readyz says PostgreSQL is away", says_postgresql_is_away)
        assert probe(port, "/readyz")[1]["status"] == "not ready"
        assert probe(port, "/healthz") == (200, {"status": "up", "reason": "the process runs"})
        # Longer than an activity waits to borrow a connection: attempts fail, and retry.
        await asyncio.sleep(POOL_TIMEOUT + 2)
        assert worker.poll() is None, "the worker stays up while the database is away"
        own_postgres.start()
        await assert_eventually(
            "/readyz says ready again", lambda: probe(port, "/readyz")[0] == 200
        )
        result = await result_within(handle, FAULT_RESULT_TIMEOUT)
        assert worker.poll() is None
    assert result["upserted"] == job_size(MEDIUM_INPUT)
    expect_every_row_once(own_postgres.url, job_size(MEDIUM_INPUT))
    histories = await handle_histories(own_client, handle)
    started = events(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    failures = [e.activity_task_started_event_attributes.last_failure.message for e in started]
    assert any("cannot connect to PostgreSQL" in message for message in failures)


async def test_temporal_restarted_mid_run_the_worker_reconnects(
    own_temporal: TemporalServer, own_postgres: EmbeddedPostgres, own_client: Client
) -> None:
    service = Service(own_temporal, own_postgres)
    with background(service.worker(), service.env) as worker:
        # Held until the server is back: it restarts mid-run.
        with row_held(own_postgres.url, last_number(MEDIUM_INPUT)):
            handle = await start_and_wait_for_rows(own_client, service, MEDIUM_INPUT, 100)
            own_temporal.stop()
            await asyncio.sleep(1)
            own_temporal.start()
        client = await new_client(target_host=own_temporal.address)
        result = await result_within(client.get_workflow_handle(handle.id), FAULT_RESULT_TIMEOUT)
        assert worker.poll() is None, "the worker rode out the restart"
    assert result["upserted"] == job_size(MEDIUM_INPUT)
    expect_every_row_once(own_postgres.url, job_size(MEDIUM_INPUT))


async def test_sigterm_lets_the_worker_stop_cleanly_mid_run(
    own_temporal: TemporalServer, own_postgres: EmbeddedPostgres, own_client: Client
) -> None:
    service = Service(own_temporal, own_postgres)
    total = job_size(MEDIUM_INPUT)
    # Held until the worker has stopped: it stops mid-run, and the batch waiting on the
    # held record is one it must hand back when its graceful shutdown runs out.
    with row_held(own_postgres.url, last_number(MEDIUM_INPUT)):
        with background(service.worker(), service.env) as first:
            handle = await start_and_wait_for_rows(own_client, service, MEDIUM_INPUT, 100)
            first.send_signal(signal.SIGTERM)
            # Activities in flight finish or are handed back within the graceful timeout.
            assert first.wait(timeout=30) == 0
        assert 0 < row_count(own_postgres.url) < total, "stopped mid-run"
    with background(service.worker(), service.env):
        result = await result_within(handle, FAULT_RESULT_TIMEOUT)
    assert result["upserted"] == total
    expect_every_row_once(own_postgres.url, total)
