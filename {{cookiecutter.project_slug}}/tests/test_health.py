"""Health probes: ``/readyz`` turns 503 while the worker shuts down, and asks PostgreSQL
on one connection of its own.

That it follows PostgreSQL, going away and coming back under a running worker
process, is proved with the other faults:
``test_faults.py::test_database_stopped_mid_run_is_waited_out_and_readyz_says_so``.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import psycopg
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from {{ cookiecutter.package_name }} import health

from .helpers import assert_eventually, free_port, probe

held = asyncio.Event()
release = asyncio.Event()


@activity.defn(name="tests.health.held")
async def held_activity() -> None:
    held.set()
    await release.wait()


@workflow.defn(name="tests.health.Holds")
class Holds:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(held_activity, start_to_close_timeout=timedelta(seconds=60))


async def test_readyz_turns_503_while_the_worker_shuts_down(
    client: Client, task_queue: str
) -> None:
    # The worker command's own sequence (health.run_until), stopped by an event
    # instead of SIGTERM, with an activity in flight that the shutdown waits for.
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[Holds],
        activities=[held_activity],
        graceful_shutdown_timeout=timedelta(seconds=30),
    )
    probes = health.Health([worker], client, database_url=None)
    port = free_port()
    stop = asyncio.Event()

    async def readyz() -> tuple[int, dict[str, Any]]:
        # In a thread: the probes answer on this test's own event loop.
        return await asyncio.to_thread(probe, port, "/readyz")

    async def not_ready() -> bool:
        return (await readyz())[0] == 503

    async with health.probes_at(f"127.0.0.1:{port}", probes):
        runner = asyncio.ensure_future(health.run_until(stop.wait(), [worker], None, probes))
        await client.start_workflow(Holds.run, id=f"holds-{uuid.uuid4()}", task_queue=task_queue)
        await asyncio.wait_for(held.wait(), timeout=30)

        async def ready() -> bool:
            return (await readyz())[0] == 200

        # Bounded, not a single look: readiness asks Temporal, which a busy machine may
        # answer late once.
        await assert_eventually("/readyz says ready while the activity runs", ready, 10)

        stop.set()
        try:
            # The held activity keeps the shutdown going for as long as this takes.
            await assert_eventually("/readyz says not ready while the worker stops", not_ready, 10)
            assert (await readyz())[1] == {"status": "not ready", "reason": "shutting down"}
            assert not runner.done()
        finally:
            release.set()
        await asyncio.wait_for(runner, timeout=30)


async def test_readyz_asks_postgresql_on_one_connection_kept_between_probes(
    client: Client, database_url: str
) -> None:
    probes = health.Health([], client, database_url)

    def probe_sessions() -> list[int]:
        with psycopg.connect(database_url) as conn:
            found = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                [health.PROBES_APPLICATION_NAME],
            ).fetchall()
        return [pid for (pid,) in found]

    try:
        assert await probes.readiness() == (True, "polling, and Temporal and PostgreSQL answer")
        [first] = probe_sessions()
        for _ in range(3):
            assert (await probes.readiness())[0]
        assert probe_sessions() == [first]
        # Its connection gone (a restart, a proxy), the next probe opens another.
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", [first])
        ready = [(await probes.readiness())[0] for _ in range(2)]
        assert ready[-1], ready

        async def replaced() -> bool:  # the old backend ends a moment after its signal
            sessions = probe_sessions()
            return len(sessions) == 1 and sessions != [first]

        await assert_eventually("one new probe connection, the old one gone", replaced, 10)
    finally:
        await probes.close()

    async def closed() -> bool:
        return probe_sessions() == []

    await assert_eventually("no probe connection once the probes close", closed, 10)
