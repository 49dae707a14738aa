"""``/healthz`` and ``/readyz`` for a worker process, at ``HEALTH_ADDRESS=host:port``.

* ``/healthz``: the process is up and its event loop answers (a liveness probe).
* ``/readyz``: the workers run and are not shutting down, Temporal's frontend
  answers, and PostgreSQL answers (when this process runs activities). A readiness
  probe, and what an alert on "a worker that polls nothing" watches.

Each answers 200 or 503 with one line of JSON: ``{"status": ..., "reason": ...}``.
A small asyncio server of our own: a probe needs no web framework.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import psycopg
from temporalio.client import Client
from temporalio.worker import Worker

from . import config
from .db import Database
from .redaction import redact, safe_conninfo
from .temporal.worker import running

# Each dependency must answer within this, or the process is not ready: probes
# usually time out after a second or a few.
CHECK_TIMEOUT_SECONDS = 2.0
PROBES_APPLICATION_NAME = f"{config.SERVICE_NAME} probes"


class Health:
    """What the probes report for one process's workers."""

    def __init__(self, workers: Sequence[Worker], client: Client, database_url: str | None) -> None:
        self.workers = workers
        self.client = client
        self.database_url = database_url
        self.stopping = False
        """Set when the process begins to stop: from then on it is not ready."""
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def readiness(self) -> tuple[bool, str]:
        """Whether the process is ready, and why not."""
        if self.stopping:
            return False, "shutting down"
        for worker in self.workers:
            if not worker.is_running:
                return False, f"the worker for {worker.task_queue} is not running"
        try:
            timeout = timedelta(seconds=CHECK_TIMEOUT_SECONDS)
            serving = await self.client.service_client.check_health(timeout=timeout)
        except Exception as error:  # any failure to answer means not ready
            return False, f"Temporal does not answer: {first_line(error)}"
        if not serving:
            return False, "Temporal answers but its frontend is not serving"
        if not self.database_url:
            return True, "polling, and Temporal answers"
        try:
            await asyncio.wait_for(self.ping_database(), CHECK_TIMEOUT_SECONDS)
        # asyncio's TimeoutError is the built-in one only from Python 3.11.
        except (psycopg.Error, OSError, asyncio.TimeoutError) as error:
            where = safe_conninfo(self.database_url)
            why = redact(first_line(error), self.database_url)
            return False, f"PostgreSQL at {where} does not answer: {why}"
        return True, "polling, and Temporal and PostgreSQL answer"

    async def ping_database(self) -> None:
        # One connection of the probes' own, kept from one probe to the next: not the
        # activities' pool, sized to their slots, where a busy worker would look unready;
        # and not a new connection every probe, which costs PostgreSQL a process each.
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.database_url or "",
                connect_timeout=int(CHECK_TIMEOUT_SECONDS),
                autocommit=True,
                application_name=PROBES_APPLICATION_NAME,  # pg_stat_activity shows whose it is
            )
        try:
            await self._conn.execute("SELECT 1")
        except BaseException:  # a broken or timed-out connection: a new one next time
            await self.close()
            raise

    async def close(self) -> None:
        """Close the probes' connection, if open."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


def first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


async def answer(health: Health, path: str) -> tuple[int, dict[str, str]]:
    if path == "/healthz":
        return 200, {"status": "up", "reason": "the process runs"}
    if path == "/readyz":
        ready, reason = await health.readiness()
        if ready:
            return 200, {"status": "ready", "reason": reason}
        return 503, {"status": "not ready", "reason": reason}
    return 404, {"status": "not found", "reason": "try /healthz or /readyz"}


async def serve(health: Health, address: str) -> asyncio.Server:
    """Start answering HTTP GETs at ``host:port``; close the returned server to stop."""
    host, _, port = address.rpartition(":")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = (await reader.readline()).decode("latin-1").split()
            while (await reader.readline()).strip():  # headers: not needed
                pass
            path = request[1].split("?", 1)[0] if len(request) >= 2 else ""
            status, body = await answer(health, path)
            text = json.dumps(body) + "\n"
            reasons = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}
            writer.write(
                f"HTTP/1.1 {status} {reasons[status]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(text.encode())}\r\nConnection: close\r\n\r\n{text}".encode()
            )
            await writer.drain()
        finally:
            writer.close()

    # ":8080" listens on every interface, as a probe from outside a container needs.
    return await asyncio.start_server(handle, host or None, int(port))


@asynccontextmanager
async def probes_at(address: str | None, health: Health) -> AsyncIterator[None]:
    """Answer the probes at ``address`` for the block; with None, do nothing."""
    server = await serve(health, address) if address else None
    try:
        yield
    finally:
        if server is not None:
            server.close()
            await server.wait_closed()
        await health.close()


async def run_until(
    stop: Awaitable[Any], workers: Sequence[Worker], database: Database | None, health: Health
) -> None:
    """Run the workers until ``stop`` is done (or a worker fails), then stop them.

    The process is not ready from the moment it begins to stop: the probes say so
    while running activities finish (``running`` gives them their graceful time).
    """
    async with running(workers, database) as tasks:
        stopped = asyncio.ensure_future(stop)
        await asyncio.wait({stopped, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        health.stopping = True
        stopped.cancel()
