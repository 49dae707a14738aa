"""Rule 7: activities use connect_to_db_or_raise(): one attempt, a clear error, never exit."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

import psycopg
import pytest

from {{ cookiecutter.package_name }} import db

from .helpers import free_port


def count_connect_calls(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the time of every real connection attempt, async or not."""
    calls: list[float] = []
    real_async = psycopg.AsyncConnection.connect
    real_sync = psycopg.connect

    async def counting_async(*args: Any, **kwargs: Any) -> Any:
        calls.append(time.monotonic())
        return await real_async(*args, **kwargs)

    def counting_sync(*args: Any, **kwargs: Any) -> Any:
        calls.append(time.monotonic())
        return real_sync(*args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncConnection, "connect", counting_async)
    monkeypatch.setattr(psycopg, "connect", counting_sync)
    return calls


async def test_connect_to_db_or_raise_makes_one_attempt_and_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    password = uuid.uuid4().hex
    calls = count_connect_calls(monkeypatch)
    with pytest.raises(db.DatabaseUnavailableError) as error:
        async with db.connect_to_db_or_raise(f"postgresql://app:{password}@127.0.0.1:{port}/app"):
            pass
    assert len(calls) == 1
    message = str(error.value)
    assert f"host=127.0.0.1 port={port}" in message
    assert password not in message  # the password never reaches logs (tests/test_secrets.py)
    assert "user=app" in message


async def test_connect_to_db_or_raise_works_against_the_real_database(database_url: str) -> None:
    async with db.connect_to_db_or_raise(database_url) as conn:
        cursor = await conn.execute("SELECT 1")
        assert await cursor.fetchone() == (1,)


def test_connect_to_db_retries_then_exits_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    calls = count_connect_calls(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        db.connect_to_db(f"postgresql://app@127.0.0.1:{port}/app", attempts=3, pause_seconds=0.2)
    assert len(calls) == 3
    pauses = [later - earlier for earlier, later in itertools.pairwise(calls)]
    assert min(pauses) >= 0.2
    message = str(exit_info.value.code)
    assert f"host=127.0.0.1 port={port}" in message
    assert "after 3 attempts" in message


def test_connect_to_db_returns_a_connection_when_the_database_is_up(database_url: str) -> None:
    with db.connect_to_db(database_url, attempts=1) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


async def test_a_pool_that_cannot_lend_a_connection_raises_the_same_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker's activities borrow from a pool; a database that is away still fails
    the activity with DatabaseUnavailableError, after one bounded wait, never an exit."""
    monkeypatch.setattr(db, "POOL_TIMEOUT", 0.5)
    database = db.Database(f"postgresql://app@127.0.0.1:{free_port()}/app")
    await database.open_pool(2)
    try:
        with pytest.raises(db.DatabaseUnavailableError) as error:
            async with database.connect():
                pass
    finally:
        await database.close()
    assert "no connection within 0.5s" in str(error.value)


async def test_a_pool_lends_working_connections(database_url: str) -> None:
    database = db.Database(database_url)
    await database.open_pool(2)
    try:
        for _ in range(3):  # more borrowings than connections: each goes back
            async with database.connect() as conn:
                cursor = await conn.execute("SELECT 1")
                assert await cursor.fetchone() == (1,)
    finally:
        await database.close()
