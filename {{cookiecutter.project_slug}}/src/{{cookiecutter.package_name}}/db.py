"""PostgreSQL connections, the two ways the workflow guide asks for.

* :func:`connect_to_db_or_raise` is for activities: one attempt, then a clear
  exception. Temporal's retry policy is the retry loop, and the worker must stay up
  while the database is away, so this never sleeps, loops or exits. A worker's
  :class:`Database` hands it a pool opened at worker start, so an activity borrows a
  connection instead of opening one; the contract stays: one try at borrowing,
  within a short bound, then the same clear exception.
* :func:`connect_to_db` is for scripts outside Temporal (``init-db``): it retries
  with a pause and then exits the process with a message saying what to fix.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from temporalio import activity

from . import config
from .redaction import (
    InvalidConnectionStringError,
    parse,
    redact,
    safe_conninfo,
)

log = logging.getLogger(__name__)

# Short enough that an activity whose database is gone fails fast and is retried by
# Temporal, long enough for a busy server on a slow network. (libpq waits at least 2 s.)
CONNECT_TIMEOUT = 3
# How long an activity waits to borrow a pooled connection: the pool has one per
# activity slot, so a longer wait means the database is gone, not busy. Both bounds
# sit well inside an attempt's start_to_close_timeout (temporal/retry.py).
POOL_TIMEOUT = 2.0
# A worker's tries to reach PostgreSQL at start, a second apart, before it exits for its
# supervisor to start it again; deploy/kubernetes's startup probe waits longer than that.
STARTUP_ATTEMPTS = 3
# No attempt outlives its timeout. Once the server times an attempt out it schedules the
# next, but the attempt's statement goes on in PostgreSQL, holding its connection and
# activity slot, and waiting on the same lock as its retry. So inside an activity each
# connection ends its statements within STATEMENT_SHARE of the attempt's start_to_close
# timeout, and its lock waits within LOCK_SHARE of that or of its heartbeat timeout,
# whichever is shorter (a heartbeating stage proves it is alive, not that it is not
# stuck on a lock): the attempt fails itself and is retried, one waiter at a time.
STATEMENT_SHARE = 0.8
LOCK_SHARE = 0.4


class DatabaseUnavailableError(Exception):
    """PostgreSQL could not be reached. Retryable: the next attempt may succeed."""


class DatabaseNotConfiguredError(Exception):
    """No database URL was given and ``DATABASE_URL`` is unset."""


def require_database_url(url: str | None = None) -> str:
    """``url``, else ``DATABASE_URL``; raise DatabaseNotConfiguredError if neither is set."""
    resolved = url or config.database_url()
    if not resolved:
        raise DatabaseNotConfiguredError(
            "DATABASE_URL is not set: point it at PostgreSQL, "
            "e.g. DATABASE_URL=postgresql://user@localhost:5432/dbname"
        )
    try:
        parse(resolved)
    except InvalidConnectionStringError as error:
        raise DatabaseNotConfiguredError(f"DATABASE_URL is {error}") from None
    return resolved


def unreachable(url: str, reason: object) -> DatabaseUnavailableError:
    """The error for a database that did not answer: where it is, and why, no secret."""
    why = redact(str(reason), url).strip()
    return DatabaseUnavailableError(f"cannot connect to PostgreSQL at {safe_conninfo(url)}: {why}")


@asynccontextmanager
async def connect_to_db_or_raise(
    url: str | None = None, *, pool: AsyncConnectionPool | None = None
) -> AsyncIterator[psycopg.AsyncConnection]:
    """One connection, with a single attempt; raise DatabaseUnavailableError on failure.

    Borrowed from ``pool`` when given (waiting at most POOL_TIMEOUT), else opened.
    Inside an activity its statements and lock waits end before the attempt's own
    timeout does (:func:`bound_to_attempt`).
    The transaction commits when the block exits normally and rolls back on an
    exception; an opened connection is closed, a borrowed one goes back to the pool.
    """
    resolved = require_database_url(url)
    if pool is not None:
        try:
            async with pool.connection(timeout=POOL_TIMEOUT) as borrowed:
                await bound_to_attempt(borrowed)
                yield borrowed
        except PoolTimeout as error:
            raise unreachable(resolved, f"no connection within {POOL_TIMEOUT:g}s") from error
        return
    try:
        conn = await psycopg.AsyncConnection.connect(resolved, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.OperationalError as error:
        # From None: psycopg's own error, chained, would travel to Temporal as the cause.
        raise unreachable(resolved, error) from None
    async with conn:
        await bound_to_attempt(conn)
        yield conn


def attempt_timeouts() -> tuple[int, int] | None:
    """``statement_timeout`` and ``lock_timeout`` in milliseconds for the activity attempt
    running now; None outside an activity, or for one with no start_to_close timeout."""
    if not activity.in_activity():
        return None
    info = activity.info()
    if not info.start_to_close_timeout:
        return None
    attempt = info.start_to_close_timeout.total_seconds() * 1000
    alive = info.heartbeat_timeout.total_seconds() * 1000 if info.heartbeat_timeout else attempt
    return round(attempt * STATEMENT_SHARE), round(min(attempt, alive) * LOCK_SHARE)


async def bound_to_attempt(conn: psycopg.AsyncConnection) -> None:
    """Set the attempt's timeouts on ``conn`` for the session, committed at once so the
    caller's transactions start as its own (a pooled connection is set at every borrow)."""
    timeouts = attempt_timeouts()
    if timeouts is None:
        return
    statement_ms, lock_ms = timeouts
    await conn.execute(
        "SELECT set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false)",
        (f"{statement_ms}ms", f"{lock_ms}ms"),
    )
    await conn.commit()


def connect_to_db(
    url: str | None = None, *, attempts: int = 10, pause_seconds: float = 1.0
) -> psycopg.Connection:
    """Connect, retrying ``attempts`` times with a pause; exit the process if all fail.

    Only for scripts run by hand or at deploy time. Activities must use
    :func:`connect_to_db_or_raise`: exiting would take the whole worker down.
    """
    try:
        resolved = require_database_url(url)
    except DatabaseNotConfiguredError as error:
        sys.exit(str(error))
    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            return psycopg.connect(resolved, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.OperationalError as error:
            last_error = error
            log.warning(
                "PostgreSQL at %s not reachable (attempt %d of %d)",
                safe_conninfo(resolved),
                attempt,
                attempts,
            )
            if attempt < attempts:
                time.sleep(pause_seconds)
    sys.exit(
        f"cannot connect to PostgreSQL at {safe_conninfo(resolved)} after {attempts} attempts: "
        f"{redact(str(last_error), resolved).strip()}\n"
        "Check that the server is running and DATABASE_URL is right."
    )


@dataclass
class Database:
    """The database a worker's activities write to: what an activities Impl is built on.

    Each :meth:`connect` is one attempt (rule 7), so a database that is away fails the
    activity at once and Temporal's retry policy decides when to try again. Between
    :meth:`open_pool` and :meth:`close` connections are borrowed from a pool;
    otherwise each :meth:`connect` opens one, as the guide's examples do.
    """

    url: str
    pool: AsyncConnectionPool | None = None

    def __repr__(self) -> str:  # never the password: a repr lands in logs and tracebacks
        pool = "open" if self.pool is not None else "none"
        return f"Database({safe_conninfo(self.url)!r}, pool={pool})"

    async def open_pool(self, size: int) -> None:
        """Keep up to ``size`` connections open for the activities, from now until close()."""
        self.pool = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=size,
            open=False,
            kwargs={"connect_timeout": CONNECT_TIMEOUT},
            # A connection the server dropped (a restart) is replaced, not handed out.
            # The check is a round trip a borrow: `make bench` found no difference with
            # and without it at 5,000 items a batch.
            check=AsyncConnectionPool.check_connection,
        )
        # Without waiting: a database that is briefly away must not stop a worker starting.
        await self.pool.open(wait=False)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    def connect(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection]:
        return connect_to_db_or_raise(self.url, pool=self.pool)


def apply_schemas(conn: psycopg.Connection, schemas: Iterable[str]) -> None:
    """Run each module's schema.sql in one transaction. Each is safe to run again."""
    for schema in schemas:
        conn.execute(schema)  # a file of ours, never user input
    conn.commit()


def count_rows(url: str, table: str) -> int:
    """Rows in ``table``: one attempt, for ``dev``'s summary and the tests."""
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT) as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0
