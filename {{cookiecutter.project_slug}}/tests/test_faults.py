"""Real failures, survived: nothing lost, nothing duplicated.

Temporal, PostgreSQL and the worker each run as a process of their own, as in
production, and the tests kill, stop and restart them mid-run. Run them alone
with ``pytest -m faults``.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from {{ cookiecutter.package_name }} import db, dev
from {{ cookiecutter.package_name }}.temporal.client import new_client

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.client import (
    Handle,
    start,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.model import parse_input
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}WorkflowInput,
)

from .faults import row_count, wait_until
from .processes import TemporalServer, background, cli, service_env
from .support import (
    LARGE_EXAMPLE,
    activity_attempts,
    events,
    example_input,
    handle_histories,
    table_rows,
)

pytestmark = pytest.mark.faults

# Long enough that the fault lands mid-run, short enough to keep the tests quick.
MEDIUM_INPUT: {{ cookiecutter.workflow_name }}WorkflowInput = {
    "family": "Faults",
    "members": [],
    "fans": 600,
    "max_activities_per_run": 200,
}
RESULT_TIMEOUT = 180


@pytest.fixture
def temporal(tmp_path: Path) -> Iterator[TemporalServer]:
    server = TemporalServer(tmp_path / "temporal.db")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[dev.EmbeddedPostgres]:
    server = dev.EmbeddedPostgres(tmp_path / "pg", keep=False)
    with psycopg.connect(server.url) as conn:
        db.apply_schema(conn)
    try:
        yield server
    finally:
        server.cleanup()


@pytest_asyncio.fixture
async def fault_client(temporal: TemporalServer) -> AsyncIterator[Client]:
    yield await new_client(target_host=temporal.address)


@dataclass
class Service:
    """Where the worker processes of one test connect, and the queue they poll."""

    env: dict[str, str]
    queue: str = field(default_factory=lambda: f"faults-{uuid.uuid4()}")

    def worker(self) -> list[str]:
        return cli("worker", "--task-queue", self.queue)


@pytest.fixture
def service(temporal: TemporalServer, postgres: dev.EmbeddedPostgres) -> Service:
    return Service(service_env(temporal.address, postgres.url))


async def start_and_wait_for_rows(
    client: Client,
    service: Service,
    workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput,
    rows: int,
) -> Handle:
    """Start the workflow, then wait until ``rows`` rows show it is well under way."""
    handle = await start(client, workflow_input, task_queue=service.queue)
    url = service.env["DATABASE_URL"]
    await wait_until(f"{rows} rows written", lambda: row_count(url) >= rows)
    return handle


def expect_every_row_once(database_url: str, total: int) -> None:
    rows = table_rows(database_url)
    assert len(rows) == total
    assert len({(row[1], row[2]) for row in rows}) == total


async def test_worker_killed_mid_run_another_worker_finishes(
    temporal: TemporalServer,
    postgres: dev.EmbeddedPostgres,
    fault_client: Client,
    service: Service,
) -> None:
    workflow_input = example_input(LARGE_EXAMPLE)
    total = parse_input(workflow_input).total
    with background(service.worker(), service.env) as first:
        handle = await start_and_wait_for_rows(fault_client, service, workflow_input, 200)
        first.kill()  # SIGKILL: no shutdown, activities in flight are simply lost
        first.wait()
    with background(service.worker(), service.env):
        result = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    assert result["upserted"] == total
    expect_every_row_once(postgres.url, total)
    # Attempts lost with the killed worker timed out and ran again on the new one.
    assert max(activity_attempts(await handle_histories(fault_client, handle))) >= 2
    running = await fault_client.count_workflows("ExecutionStatus = 'Running'")
    assert running.count == 0


async def test_database_stopped_mid_run_is_waited_out(
    temporal: TemporalServer,
    postgres: dev.EmbeddedPostgres,
    fault_client: Client,
    service: Service,
) -> None:
    total = parse_input(MEDIUM_INPUT).total
    with background(service.worker(), service.env) as worker:
        handle = await start_and_wait_for_rows(fault_client, service, MEDIUM_INPUT, 100)
        postgres.stop()
        await asyncio.sleep(4)  # long enough for several failed attempts
        assert worker.poll() is None, "the worker stays up while the database is away"
        postgres.start()
        result = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
        assert worker.poll() is None
    assert result["upserted"] == total
    expect_every_row_once(postgres.url, total)
    histories = await handle_histories(fault_client, handle)
    started = events(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    failures = [e.activity_task_started_event_attributes.last_failure.message for e in started]
    assert any("cannot connect to PostgreSQL" in message for message in failures)


async def test_temporal_restarted_mid_run_the_worker_reconnects(
    temporal: TemporalServer,
    postgres: dev.EmbeddedPostgres,
    fault_client: Client,
    service: Service,
) -> None:
    total = parse_input(MEDIUM_INPUT).total
    with background(service.worker(), service.env) as worker:
        handle = await start_and_wait_for_rows(fault_client, service, MEDIUM_INPUT, 100)
        temporal.stop()
        await asyncio.sleep(1)
        temporal.start()
        client = await new_client(target_host=temporal.address)
        result = await asyncio.wait_for(
            client.get_workflow_handle(handle.id).result(), RESULT_TIMEOUT
        )
        assert worker.poll() is None, "the worker rode out the restart"
    assert result["upserted"] == total
    expect_every_row_once(postgres.url, total)


async def test_sigterm_lets_the_worker_stop_cleanly_mid_run(
    temporal: TemporalServer,
    postgres: dev.EmbeddedPostgres,
    fault_client: Client,
    service: Service,
) -> None:
    total = parse_input(MEDIUM_INPUT).total
    with background(service.worker(), service.env) as first:
        handle = await start_and_wait_for_rows(fault_client, service, MEDIUM_INPUT, 100)
        first.send_signal(signal.SIGTERM)
        # Activities in flight finish or are handed back within the graceful timeout.
        assert first.wait(timeout=30) == 0
    assert 0 < row_count(postgres.url) < total, "stopped mid-run"
    with background(service.worker(), service.env):
        result = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    assert result["upserted"] == total
    expect_every_row_once(postgres.url, total)
