"""Helpers shared by the tests, each written once: workers, waits, rows, histories, processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from {{ cookiecutter.package_name }} import db, dev, registry
from {{ cookiecutter.package_name }}.db import Database
from {{ cookiecutter.package_name }}.temporal.fanout import records_of
from {{ cookiecutter.package_name }}.temporal.module import WorkflowModule
from {{ cookiecutter.package_name }}.temporal.worker import create_workers, running

from .module_under_test import FIELDS, MODULE, NAME, Job, Record

PACKAGE = "{{ cookiecutter.package_name }}"
PROJECT_ROOT = Path(__file__).parent.parent
MODULE_NAME = MODULE.package.rsplit(".", 1)[-1]
EXAMPLE = PROJECT_ROOT / "examples" / f"{MODULE_NAME}.json"
LARGE_EXAMPLE = PROJECT_ROOT / "examples" / f"{MODULE_NAME}_large.json"
# The record's fields, in order: the table has one column of the same name for each.
FIELD_NAMES = FIELDS.names
TEXT_FIELDS = FIELDS.of_type("str")
# How long a test waits for a workflow that should finish in seconds.
RESULT_TIMEOUT = 60.0


def example_input(path: Path = EXAMPLE) -> Any:
    """An input the service ships in examples/, as any client reads it."""
    return json.loads(path.read_text(encoding="utf-8"))


def records(*numbers: int) -> list[Any]:
    """Valid records in payload form, made by the module itself."""
    return [Record.numbered(number).to_dict() for number in numbers]


def job_over(size: int) -> dict[str, Any]:
    """A valid job of numbered records whose JSON is just over ``size`` bytes, written
    as compactly as the SDK writes a payload."""
    compact = (",", ":")
    job: dict[str, Any] = {"records": []}
    written = len(json.dumps(job, separators=compact)) - 1  # a comma before each record
    while written <= size:
        [record] = records(len(job["records"]) + 1)
        job["records"].append(record)
        written += len(json.dumps(record, separators=compact)) + 1
    return job


# -- workers and waits ------------------------------------------------------------


@asynccontextmanager
async def serving(
    client: Client,
    database_url: str,
    task_queue: str,
    *,
    modules: Sequence[WorkflowModule] | None = None,
) -> AsyncIterator[None]:
    """The service's own worker, for every registered module, on a test's task queue,
    with its connection pool, for the block; stopped with stop_worker_faster()."""
    database = Database(database_url)
    workers = create_workers(
        client,
        database,
        registry.load() if modules is None else modules,
        task_queue=task_queue,
        graceful_shutdown=timedelta(seconds=1),
    )
    async with running(workers, database):
        yield


class StubUpserts:
    """The module's upsert activity under its real name, writing nothing: it keeps the
    records of every batch it is given. A rule about the workflow (names, limits,
    payloads, arguments) is then proved in seconds, on the real server, without a
    database, as the SDK's samples test workflows; the rules about the database keep it.
    """

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.records: list[Any] = []
        self.batch_sizes: list[int] = []
        # Each batch waits for it to be set: a test paces the work, not the machine.
        self.gate = gate

    @activity.defn(name=f"{NAME}Activities.upsert")
    async def upsert(self, batch: Job) -> int:
        if self.gate is not None:
            await self.gate.wait()
        records = records_of(batch, Record)
        self.records += records
        self.batch_sizes.append(len(records))
        return len(records)

    def expect_every_item_once(self, total: int) -> None:
        keys = [tuple(getattr(record, name) for name in FIELDS.key) for record in self.records]
        assert (len(keys), len(set(keys))) == (total, total), f"expected {total} items once"


@asynccontextmanager
async def serving_stubs(client: Client, task_queue: str, stub: StubUpserts) -> AsyncIterator[None]:
    """The service's workflow worker for the module, as ``serving`` runs it, with ``stub``
    answering its activity on the same task queue; stopped with stop_worker_faster()."""
    workflows = create_workers(client, None, [MODULE], task_queue=task_queue, role="workflows")
    activities = Worker(client, task_queue=task_queue, activities=[stub.upsert])
    async with running([*workflows, activities]):
        yield


async def wait_until(
    what: str, check: Callable[[], bool | Awaitable[bool]], timeout: float = 60
) -> None:
    """Poll ``check()`` every 0.2 s until it holds; fail naming ``what`` past ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        held = check()
        if held if isinstance(held, bool) else await held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        await asyncio.sleep(0.2)


async def result_within(handle: WorkflowHandle[Any, Any], timeout: float = RESULT_TIMEOUT) -> Any:
    """The workflow's result, or a failure that says what went wrong, within ``timeout``.

    A workflow whose tasks fail (a type no worker knows, a bug in workflow code) is
    retried for ever and would hang the test: this fails it at the first failed task,
    with the server's message.
    """
    result = asyncio.ensure_future(handle.result())
    deadline = time.monotonic() + timeout
    while not result.done():
        await asyncio.wait({result}, timeout=0.5)
        if result.done():
            break
        failure = await last_workflow_task_failure(handle)
        if failure:
            result.cancel()
            raise AssertionError(f"workflow {handle.id}: a workflow task failed: {failure}")
        if time.monotonic() > deadline:
            result.cancel()
            raise AssertionError(
                f"workflow {handle.id}: no result within {timeout:.0f}s; "
                "is a worker polling its task queue with its workflow type registered?"
            )
    return result.result()


async def last_workflow_task_failure(handle: WorkflowHandle[Any, Any]) -> str | None:
    """The message of the workflow's latest failed workflow task, if any."""
    try:
        history = await handle.fetch_history()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    failed = events([history], EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    return failed[-1].workflow_task_failed_event_attributes.failure.message if failed else None


async def has_failed_attempt(handle: WorkflowHandle[Any, Any], message: str) -> bool:
    """True once the server shows a pending activity whose last attempt failed with ``message``."""
    description = await handle.describe()
    pending = description.raw_description.pending_activities
    return any(message in activity.last_failure.message for activity in pending)


def application_error(error: BaseException) -> ApplicationError:
    """The first ApplicationError behind a workflow, child workflow or activity failure."""
    current: object = error
    while not isinstance(current, ApplicationError):
        # WorkflowFailureError, ChildWorkflowError and ActivityError each carry a .cause.
        current = getattr(current, "cause", None)
        if current is None:
            raise AssertionError(f"no ApplicationError behind {error!r}")
    return current


# -- rows ---------------------------------------------------------------------------


def stored(database_url: str) -> list[dict[str, Any]]:
    """Every row of the module's table in payload form (its id under "id"), in id order.

    Read back through the record, so a value compares as it travels: a decimal with
    its digits, a datetime as its instant in UTC.
    """
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in ["id", *FIELD_NAMES])
    query = sql.SQL("SELECT {} FROM {} ORDER BY id").format(columns, sql.Identifier(MODULE.table))
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(query).fetchall()
    return [
        {"id": id_, **Record(**dict(zip(FIELD_NAMES, values, strict=True))).to_dict()}
        for id_, *values in rows
    ]


def row_count(database_url: str, table: str = MODULE.table) -> int:
    """Rows in the module's table, or -1 while the database cannot be reached."""
    try:
        return db.count_rows(database_url, table)
    except psycopg.OperationalError:
        return -1


def expect_every_row_once(database_url: str, total: int) -> None:
    """The table holds ``total`` rows, none of them twice (counted in PostgreSQL, so a
    million rows cost no more than a few)."""
    row = sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Identifier, FIELD_NAMES)))
    query = sql.SQL("SELECT count(*), count(DISTINCT {}) FROM {}").format(
        row, sql.Identifier(MODULE.table)
    )
    with psycopg.connect(database_url) as conn:
        counted = conn.execute(query).fetchone()
    assert counted == (total, total), f"(rows, distinct rows) = {counted}, expected {total}"


@contextmanager
def row_held(database_url: str, number: int) -> Iterator[None]:
    """Record ``number`` inserted by a transaction left open for the block.

    The batch that upserts the same record waits for that transaction, whatever its
    ON CONFLICT clause, so a job that holds the record cannot finish while the block
    runs, however fast the machine. The transaction then rolls back and the batch
    writes the row; a database stopped meanwhile ends the wait sooner.
    """
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(MODULE.table),
        sql.SQL(", ").join(map(sql.Identifier, FIELD_NAMES)),
        sql.SQL(", ").join(map(sql.Placeholder, FIELD_NAMES)),
    )
    conn = psycopg.connect(database_url)
    try:
        conn.execute(insert, FIELDS.row(Record.numbered(number), Jsonb))
        yield
    finally:
        with suppress(psycopg.OperationalError):  # the server went away, and the lock with it
            conn.close()  # without a commit: the insert is rolled back


@contextmanager
def table_locked(database_url: str) -> Iterator[None]:
    """The module's table locked against writes for the block: every upsert waits."""
    lock = sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(MODULE.table))
    with psycopg.connect(database_url) as conn:
        conn.execute(lock)
        yield
        conn.rollback()


# -- histories ----------------------------------------------------------------------


async def workflow_histories(
    client: Client, workflow_id: str, run_id: str
) -> list[WorkflowHistory]:
    """The history of this run, of the runs it continued as, and of all their children."""
    histories: list[WorkflowHistory] = []
    next_run: str | None = run_id
    while next_run:
        history = await client.get_workflow_handle(workflow_id, run_id=next_run).fetch_history()
        histories.append(history)
        next_run = None
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                child = event.child_workflow_execution_started_event_attributes.workflow_execution
                histories += await workflow_histories(client, child.workflow_id, child.run_id)
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                attributes = event.workflow_execution_continued_as_new_event_attributes
                next_run = attributes.new_execution_run_id
    return histories


async def handle_histories(
    client: Client, handle: WorkflowHandle[Any, Any]
) -> list[WorkflowHistory]:
    """Every history a started workflow produced, children and continued runs included."""
    run_id = handle.first_execution_run_id or handle.run_id
    assert run_id, "a handle from start_workflow knows its first run"
    return await workflow_histories(client, handle.id, run_id)


def events(histories: list[WorkflowHistory], event_type: int) -> list[HistoryEvent]:
    return [e for history in histories for e in history.events if e.event_type == event_type]


def scheduled_activity_names(histories: list[WorkflowHistory]) -> list[str]:
    scheduled = events(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    return [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled]


def activity_attempts(histories: list[WorkflowHistory]) -> list[int]:
    """The attempt on which each activity last started (1 means it was never retried)."""
    started = events(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    return [e.activity_task_started_event_attributes.attempt for e in started]


# -- processes ----------------------------------------------------------------------


def free_port() -> int:
    """A local TCP port with nothing listening on it: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def probe(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a health endpoint's GET ``path``; (0, {}) while
    nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Wait until something accepts connections on the port, or fail if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout}s")


@contextmanager
def background(
    args: Sequence[str], env: dict[str, str], output_file: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process; on exit, SIGTERM it and kill it if it does not go within 15 s.

    Its output goes to a file (``output_file``, kept for the test to read, or a
    temporary one), never a pipe nobody reads: a chatty process would fill the pipe
    and block. The last lines are printed when the block exits, so a failing test
    shows what the process said.
    """
    with output_file.open("w+b") if output_file else tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            args, env=env, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            output.seek(0)
            tail = output.read().decode("utf-8", "replace").splitlines()[-40:]
            print(f"--- last output of {' '.join(args[-3:])}:", *tail, sep="\n")


def free_port_pair(offset: int = 1000) -> int:
    """A port P where P and P + offset are both free: dev's Temporal and its Web UI."""
    while True:
        port = free_port()
        with socket.socket() as other:
            if other.connect_ex(("127.0.0.1", port + offset)) != 0:
                return port


DEV_READY = "Worker running"


@contextmanager
def dev_running(env: dict[str, str], cwd: Path, timeout: float = 60) -> Iterator[tuple[int, str]]:
    """``dev`` with the example, on ports of its own, in ``cwd`` (where it keeps .dev/),
    until it is ready; yields its Temporal port and what it printed. Ctrl-C at the end."""
    port = free_port_pair()
    output = cwd / "dev.log"
    command = cli("dev", "--port", str(port), "--input-file", str(EXAMPLE))
    with output.open("wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + timeout
        while DEV_READY not in (printed := output.read_text(encoding="utf-8")):
            assert process.poll() is None, printed[-3000:]
            assert time.monotonic() < deadline, f"dev was not ready within {timeout:.0f} s"
            time.sleep(0.2)
        yield port, printed
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def cli(*args: str) -> list[str]:
    """The command line of ``python -m <package> ARGS`` with this interpreter."""
    return [sys.executable, "-m", PACKAGE, *args]


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <package> ARGS`` in the project directory, output captured."""
    return subprocess.run(
        cli(*args),
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def temporal_cli(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``temporal`` CLI against the server at ``address``, output captured."""
    return subprocess.run(
        [dev.temporal_cli_path(), *args, "--address", address],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def service_env(temporal_address: str, database_url: str) -> dict[str, str]:
    return os.environ | {"TEMPORAL_ADDRESS": temporal_address, "DATABASE_URL": database_url}


# Dev server options for the tests: one partition per task queue, so that describing a
# queue lists all its pollers (the multi-process tests wait for every process to poll).
ONE_PARTITION_PER_QUEUE = [
    option
    for partitions in ("numTaskqueueReadPartitions", "numTaskqueueWritePartitions")
    for option in ("--dynamic-config-value", f"matching.{partitions}=1")
]


class TemporalServer:
    """``temporal server start-dev`` in a process of its own.

    With a database file it can be stopped and started again where it was.
    """

    def __init__(self, db_file: Path | None = None) -> None:
        self.db_file = db_file
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_once = False

    def start(self, attempts: int = 3) -> None:
        """Start the server; on a port clash, try again on other free ports.

        The dev server also binds ports next to its own (its internal services), and
        a free port now may be taken a moment later: a clash makes it exit at once.
        """
        for attempt in range(1, attempts + 1):
            command = [dev.temporal_cli_path(), "server", "start-dev", "--headless"]
            command += ["--ip", "127.0.0.1", "--port", str(self.port), "--log-level", "error"]
            command += ONE_PARTITION_PER_QUEUE
            if self.db_file is not None:
                command += ["--db-filename", str(self.db_file)]
            self.process = subprocess.Popen(
                command,
                env=service_env("", ""),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_for_port(self.port, self.process)
                self.wait_until_serving()
            except RuntimeError:
                # A restart must keep its address: clients and workers hold it.
                if attempt == attempts or self.started_once:
                    raise
                self.port = free_port()
                self.address = f"127.0.0.1:{self.port}"
            else:
                self.started_once = True
                return

    def wait_until_serving(self, timeout: float = 30) -> None:
        """Wait until the frontend answers a real call, not only its port.

        After a restart the port opens before the frontend marks itself healthy;
        until then every call fails with "Frontend is not healthy yet".
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError("the Temporal server exited before it served")
            describe = ["operator", "namespace", "describe", "--namespace", "default"]
            if temporal_cli(self.address, *describe).returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError(f"Temporal at {self.address} did not serve within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None
