"""PostgreSQL connections, the two ways the workflow guide asks for.

* :func:`connect_to_db_or_raise` is for activities: one attempt, then a clear
  exception. Temporal's retry policy is the retry loop, and the worker must stay up
  while the database is away, so this never sleeps, loops or exits.
* :func:`connect_to_db` is for scripts outside Temporal (``init-db``): it retries
  with a pause and then exits the process with a message saying what to fix.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import psycopg

from {{ cookiecutter.package_name }} import config

log = logging.getLogger(__name__)

# Short enough that an activity whose database is gone fails fast and is retried by
# Temporal, long enough for a busy server on a slow network.
CONNECT_TIMEOUT = 5


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
    return resolved


@asynccontextmanager
async def connect_to_db_or_raise(url: str | None = None) -> AsyncIterator[psycopg.AsyncConnection]:
    """Open one connection with a single attempt; raise DatabaseUnavailableError on failure.

    The transaction commits when the block exits normally and rolls back on an
    exception; the connection is always closed.
    """
    resolved = require_database_url(url)
    try:
        conn = await psycopg.AsyncConnection.connect(resolved, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.OperationalError as error:
        raise DatabaseUnavailableError(
            f"cannot connect to PostgreSQL at {config.redact_url(resolved)}: {error}".strip()
        ) from error
    async with conn:
        yield conn


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
                config.redact_url(resolved),
                attempt,
                attempts,
            )
            if attempt < attempts:
                time.sleep(pause_seconds)
    sys.exit(
        f"cannot connect to PostgreSQL at {config.redact_url(resolved)} after {attempts} attempts: "
        f"{str(last_error).strip()}\nCheck that the server is running and DATABASE_URL is right."
    )


def schema_sql() -> str:
    """The schema of every workflow module, in the order the modules are listed."""
    package = resources.files(__package__ or __name__)
    schema = package / "{{ cookiecutter.workflow_module }}" / "schema.sql"
    return schema.read_text(encoding="utf-8")


def apply_schema(conn: psycopg.Connection) -> None:
    """Create the tables and unique keys the upserts rely on. Safe to run again."""
    conn.execute(schema_sql())
    conn.commit()
