"""A database password never prints: not in logs, /readyz bodies, Temporal failures or
``dev``'s output, whichever form of connection string holds it.

Each test puts a sentinel password into ``DATABASE_URL`` in each form libpq accepts and
searches everything the service emits for it. (The same search runs over a whole
database outage in ``test_faults.py``.)
"""

from __future__ import annotations

import dataclasses
import io
import logging
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from {{ cookiecutter.package_name }}.db import Database
from {{ cookiecutter.package_name }}.dev import DevStack, EmbeddedPostgres
from {{ cookiecutter.package_name }}.loads.sources import HttpSource
from {{ cookiecutter.package_name }}.logs import JsonFormatter
from {{ cookiecutter.package_name }}.redaction import RedactSecrets, parse, redact, safe_conninfo
from {{ cookiecutter.package_name }}.temporal import runs
from {{ cookiecutter.package_name }}.temporal.retry import PermanentError

from .helpers import (
    PACKAGE,
    activity_attempts,
    application_error,
    assert_eventually,
    background,
    cli,
    dev_running,
    free_port,
    handle_histories,
    has_failed_attempt,
    probe,
    records,
    result_within,
    run_cli,
    service_env,
    serving,
)
from .module_under_test import MODULE, NAME, Job, Workflow

SENTINEL = f"sentinel{uuid.uuid4().hex[:12]}"
# With a space and quotes, as a generated password may have: libpq needs it quoted.
SPACED = f'it\'s {SENTINEL} "ok"'
FORMS = ["url-userinfo", "url-query", "keyword", "keyword-quoted"]


def with_password(conninfo: str, form: str) -> str:
    """``conninfo`` (any form) written in ``form``, with the sentinel as its password."""
    parts = {name: str(value) for name, value in conninfo_to_dict(conninfo).items()}
    parts.pop("password", None)
    if form == "keyword":
        return make_conninfo(**parts, password=SENTINEL)
    if form == "keyword-quoted":
        return make_conninfo(**parts, password=SPACED)
    user, dbname = parts.pop("user", "postgres"), parts.pop("dbname", "postgres")
    if form == "url-userinfo":
        query = "&".join(f"{name}={quote(value, safe='')}" for name, value in parts.items())
        return f"postgresql://{user}:{quote(SPACED, safe='')}@/{dbname}?{query}"
    assert form == "url-query"
    parts["password"] = SPACED
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in parts.items())
    return f"postgresql://{user}@/{dbname}?{query}"


def closed_database() -> str:
    """A database address where nothing listens: every connection is refused at once."""
    return make_conninfo(host="127.0.0.1", port=str(free_port()), user="app", dbname="app")


def test_the_sentinel_is_where_each_form_puts_a_password() -> None:
    # Otherwise the searches below would prove nothing.
    for form in FORMS:
        assert conninfo_to_dict(with_password(closed_database(), form))["password"] in (
            SENTINEL,
            SPACED,
        )


@pytest.mark.parametrize("form", FORMS)
def test_a_connection_string_shows_where_and_who_but_no_password(form: str) -> None:
    base = closed_database()
    url = with_password(base, form)
    shown = safe_conninfo(url)
    assert SENTINEL not in shown
    assert parse(shown) == parse(base)  # host, port, database and user, and still usable
    said = f"could not connect to {url}: password {SPACED!r} ({quote(SPACED)}) refused"
    assert SENTINEL not in redact(said, url)


def test_a_string_that_does_not_parse_is_never_quoted() -> None:
    # Unquoted, the second half reads as a keyword, and libpq's error quotes it.
    first, second = SENTINEL[:10], SENTINEL[10:]
    url = f"host=127.0.0.1 password={first} {second} dbname=app"
    result = run_cli("init-db", "--attempts", "1", env=service_env("", url))
    assert result.returncode == 1
    assert "DATABASE_URL is not a PostgreSQL connection string" in result.stderr
    assert first not in result.stdout + result.stderr
    assert second not in result.stdout + result.stderr


def test_a_percent_escape_in_either_case_is_redacted() -> None:
    # A password whose escapes hold letters: %2F or %2f, as different URLs write it.
    slashed = f"a/{SENTINEL}:?"
    url = f"postgresql://app:{quote(slashed, safe='')}@127.0.0.1:{free_port()}/app"
    upper = quote(slashed, safe="")
    lower = re.sub("%[0-9A-F]{2}", lambda escape: escape[0].lower(), upper)
    assert upper != lower
    said = redact(f"refused {upper} and {lower}", url)
    assert said == "refused *** and ***"


def test_no_repr_shows_the_password(tmp_path: Path) -> None:
    url = with_password(closed_database(), "keyword-quoted")
    source = f"https://user:{quote(SPACED, safe='')}@example.com/x.csv?token={SENTINEL}"
    shown = [
        repr(Database(url)),
        repr(DevStack(database_url=url, temporal_address="localhost:7233", ui_address=None)),
        repr(HttpSource(url=source, expected=None)),
    ]
    assert "Database('host=127.0.0.1" in shown[0]
    assert "HttpSource('https://example.com/x.csv?…')" in shown[2]
    assert all(SENTINEL not in text for text in shown), shown


@pytest.mark.parametrize("where", ["main", "thread"])
def test_an_uncaught_exception_prints_no_password(where: str) -> None:
    # Python prints an uncaught traceback itself, past every logging filter.
    url = with_password(closed_database(), "keyword-quoted")
    raising = "raise RuntimeError('lost ' + repr(os.environ['DATABASE_URL']))"
    run = {"main": "fail()", "thread": "t = threading.Thread(target=fail); t.start(); t.join()"}
    code = "\n".join(
        [
            "import os, threading",
            f"from {PACKAGE}.logs import configure_logging",
            "configure_logging('INFO')",
            f"def fail():\n    {raising}",
            run[where],
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=service_env("", url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "RuntimeError: lost " in result.stderr, result.stderr
    assert SENTINEL not in result.stdout + result.stderr


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_init_db_logs_no_password_in_any_form(log_format: str) -> None:
    urls = {form: with_password(closed_database(), form) for form in FORMS}
    started = {
        form: subprocess.Popen(
            cli("init-db", "--attempts", "2"),
            env=service_env("", url) | {"LOG_FORMAT": log_format},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for form, url in urls.items()
    }
    for form, process in started.items():
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 1, stderr
        # A warning per failed attempt, then the error: each names where, none the password.
        assert "not reachable (attempt 1 of 2)" in stderr
        assert f"{safe_conninfo(urls[form])} after 2 attempts" in stderr
        assert SENTINEL not in stdout + stderr, form


@pytest.mark.faults
@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_run_through_a_database_outage_shows_no_password(
    client: Client,
    temporal_address: str,
    own_postgres: EmbeddedPostgres,
    tmp_path: Path,
    log_format: str,
) -> None:
    # Trust authentication: the server takes any password, so the sentinel can be real.
    url = with_password(own_postgres.url, "keyword-quoted")
    port = free_port()
    env = service_env(temporal_address, url) | {
        "HEALTH_ADDRESS": f"127.0.0.1:{port}",
        "LOG_FORMAT": log_format,
    }
    queue = f"secrets-{uuid.uuid4()}"
    bodies: list[dict[str, Any]] = []

    def readyz(expected: int) -> bool:
        status, body = probe(port, "/readyz")
        bodies.append(body)
        return status == expected

    output = tmp_path / "worker.log"
    with background(cli("worker", "--task-queue", queue), env, output):
        await assert_eventually("/readyz says ready", lambda: readyz(200))
        own_postgres.stop()
        job = {"key_range": {"first": 1, "count": 1}}
        handle = await runs.start(client, MODULE, job, f"secrets-{uuid.uuid4()}", queue)
        await assert_eventually(
            "an attempt failed to connect",
            lambda: has_failed_attempt(handle, "cannot connect to PostgreSQL at host="),
        )
        await assert_eventually("/readyz says not ready", lambda: readyz(503))
        described = await handle.describe()  # the pending activity and its last failure
        own_postgres.start()
        assert await result_within(handle) == {"upserted": 1}
        histories = await handle_histories(client, handle)
    assert any(body.get("reason", "").startswith("PostgreSQL at host=") for body in bodies)
    assert all(SENTINEL not in str(body) for body in bodies), bodies
    assert SENTINEL not in str(described.raw_description)
    recorded = [history.to_json() for history in histories]
    assert any("cannot connect to PostgreSQL at host=" in text for text in recorded)
    assert all(SENTINEL not in text for text in recorded)
    logged = output.read_text(encoding="utf-8")
    assert "cannot connect to PostgreSQL at host=" in logged
    assert SENTINEL not in logged


@pytest.mark.processes
def test_dev_prints_no_password(postgres_url: str, tmp_path: Path) -> None:
    # dev with a database of yours starts only Temporal, and says how to look at the rows.
    # It runs in a directory of its own: dev keeps its files in .dev/ where it runs.
    url = with_password(postgres_url, "keyword-quoted")
    env = service_env("", url)
    env.pop("TEMPORAL_ADDRESS")
    with dev_running(env, tmp_path) as (_, printed):
        pass
    assert f'To see them: psql "{safe_conninfo(url)}"' in printed
    assert SENTINEL not in printed


def test_no_log_line_shows_the_password_whoever_logs_it() -> None:
    # Our own messages never hold it; this filter is for everyone else's (a driver's, the
    # SDK's), in any form: a message, its arguments, an exception and its traceback.
    url = with_password(closed_database(), "keyword-quoted")
    for formatter in (logging.Formatter("%(message)s"), JsonFormatter()):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handler.addFilter(RedactSecrets(url))
        logger = logging.getLogger(f"tests.secrets.{uuid.uuid4().hex}")
        logger.addHandler(handler)
        try:
            logger.warning("connecting to %s with %r", url, SPACED)
            try:
                raise ValueError(f"refused: {url}")
            except ValueError:
                logger.exception("failed")
        finally:
            logger.removeHandler(handler)
        written = stream.getvalue()
        assert "connecting to" in written
        assert "ValueError: refused" in written
        assert SENTINEL not in written


LEAKS = [
    pytest.param(lambda text: PermanentError(text), "PermanentError", id="listed-type"),
    pytest.param(
        lambda text: ApplicationError(text, type="OwnRefusal", non_retryable=True),
        "OwnRefusal",
        id="non-retryable",
    ),
]


@pytest.mark.parametrize(("leak", "kind"), LEAKS)
async def test_an_activity_failure_that_quotes_the_password_reaches_temporal_without_it(
    client: Client,
    database_url: str,
    task_queue: str,
    leak: Callable[[str], Exception],
    kind: str,
) -> None:
    url = with_password(database_url, "keyword-quoted")

    @activity.defn(name=f"{NAME}Activities.upsert")
    async def leaky(batch: Job) -> int:
        raise leak(f"could not use {url}")

    module = dataclasses.replace(MODULE, activities=lambda _: [leaky])
    job: Job = {"records": records(1)}
    async with serving(client, url, task_queue, modules=[module]):
        handle = await client.start_workflow(
            Workflow.run, job, id=f"leaky-{uuid.uuid4()}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await result_within(handle)
    error = application_error(failure.value)
    assert error.message.startswith("could not use ")
    assert error.type == kind  # still what the retry policy knows not to retry
    assert activity_attempts(await handle_histories(client, handle)) == [1]
    recorded = [history.to_json() for history in await handle_histories(client, handle)]
    assert all(SENTINEL not in text for text in recorded)
