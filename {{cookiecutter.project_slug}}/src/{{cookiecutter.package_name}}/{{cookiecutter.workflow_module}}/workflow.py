"""The code behind the {{ cookiecutter.workflow_name }} interfaces: the ``...Impl`` classes.

The worker registers only these; each repeats its interface's decorators with the
same names, which the SDK requires of an override.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

# The workflow sandbox re-imports this module for every run. Pass these through
# instead: the model and interface are plain Python, and the activity side
# (psycopg) is never called from workflow code.
with workflow.unsafe.imports_passed_through():
    import psycopg
    from psycopg import sql

    from {{ cookiecutter.package_name }}.db import connect_to_db_or_raise
    from {{ cookiecutter.package_name }}.temporal.retry import (
        DEFAULT_RETRY_POLICY,
        PermanentError,
    )

    from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.model import (
        {{ cookiecutter.workflow_name }},
        {{ cookiecutter.workflow_name }}Job,
        chunk_items,
        parse_input,
    )
    from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
        ACTIVITY_SCHEDULE_TO_CLOSE,
        ACTIVITY_START_TO_CLOSE,
        {{ cookiecutter.workflow_name }}Activities,
        {{ cookiecutter.workflow_name }}ChunkInput,
        {{ cookiecutter.workflow_name }}ChunkWorkflow,
        {{ cookiecutter.workflow_name }}Dict,
        {{ cookiecutter.workflow_name }}Progress,
        {{ cookiecutter.workflow_name }}Workflow,
        {{ cookiecutter.workflow_name }}WorkflowResult,
    )

# The table of schema.sql. Queries name it through sql.Identifier and take values
# only as bound parameters: no string formatting ever reaches the database.
TABLE_NAME = "{{ cookiecutter.table_name }}"
TABLE = sql.Identifier(TABLE_NAME)

# Idempotent by construction: a retry of the same activity hits the unique key and
# updates the row in place, so the table never holds a duplicate.
UPSERT_SQL = sql.SQL("""
    INSERT INTO {} (name, surname, known_for)
    VALUES (%s, %s, %s)
    ON CONFLICT (name, surname) DO UPDATE SET known_for = EXCLUDED.known_for
    RETURNING id
""").format(TABLE)
COUNT_FAMILY_SQL = sql.SQL("SELECT count(*) FROM {} WHERE surname = %s").format(TABLE)

Parsed = TypeVar("Parsed")

# Children running at once. Each schedules up to a run's worth of activities, so
# this bounds the work queued on the task queue, not the history size.
MAX_CHILDREN_IN_FLIGHT = 10


class {{ cookiecutter.workflow_name }}ActivitiesImpl({{ cookiecutter.workflow_name }}Activities):
    """Activities that write to PostgreSQL, each safe to run more than once."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def all(self) -> list[Callable[..., Any]]:
        """The bound activity methods, for ``Worker(activities=...)``."""
        return [self.upsert, self.count_family]

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.upsert")
    async def upsert(self, item: {{ cookiecutter.workflow_name }}Dict) -> int:
        try:
            parsed = {{ cookiecutter.workflow_name }}.from_dict(item)
        except ValueError as error:
            raise PermanentError(str(error)) from error
        async with connect_to_db_or_raise(self.database_url) as conn:
            try:
                row_values = (parsed.name, parsed.surname, parsed.known_for)
                cursor = await conn.execute(UPSERT_SQL, row_values)
            except (
                psycopg.DataError,
                psycopg.IntegrityError,
                psycopg.errors.ProgramLimitExceeded,
                ValueError,
            ) as error:
                # The row itself is refused (a CHECK, a NUL byte, a key too big for its
                # index): retrying cannot help. Connection errors are not caught here.
                raise PermanentError(f"row refused: {parsed}: {error}") from error
            row = await cursor.fetchone()
        assert row is not None  # RETURNING always yields the row
        return int(row[0])

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.count_family")
    async def count_family(self, surname: str) -> int:
        async with connect_to_db_or_raise(self.database_url) as conn:
            cursor = await conn.execute(COUNT_FAMILY_SQL, (surname,))
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


async def schedule_upsert(item: {{ cookiecutter.workflow_name }}) -> int:
    """Schedule one upsert activity under the service's timeouts and retry policy."""
    return await workflow.execute_activity_method(
        {{ cookiecutter.workflow_name }}Activities.upsert,
        item.to_dict(),
        start_to_close_timeout=ACTIVITY_START_TO_CLOSE,
        schedule_to_close_timeout=ACTIVITY_SCHEDULE_TO_CLOSE,
        retry_policy=DEFAULT_RETRY_POLICY,
    )


@workflow.defn(name="{{ cookiecutter.workflow_name }}Workflow")
class {{ cookiecutter.workflow_name }}WorkflowImpl({{ cookiecutter.workflow_name }}Workflow):
    """Splits the work into children of at most one run's worth of activities each.

    The parent itself starts at most ``limit - 1`` children per run (one slot stays
    for the final count); past that, or when the server suggests it, it waits for
    its children and continues as new with the count of items done.
    """

    def __init__(self) -> None:
        self._done = 0
        self._total = 0

    @workflow.run
    async def run(
        self,
        # Any, not the TypedDict: decoded as plain JSON and checked by _checked().
        workflow_input: Any,
    ) -> {{ cookiecutter.workflow_name }}WorkflowResult:
        job = _checked(workflow_input, parse_input)
        self._done, self._total = job.done, job.total
        await self._run_children(job)
        if self._done < job.total:
            workflow.continue_as_new(job.resume_input(self._done))
        family_size = await workflow.execute_activity_method(
            {{ cookiecutter.workflow_name }}Activities.count_family,
            job.family,
            start_to_close_timeout=ACTIVITY_START_TO_CLOSE,
            schedule_to_close_timeout=ACTIVITY_SCHEDULE_TO_CLOSE,
            retry_policy=DEFAULT_RETRY_POLICY,
        )
        return {"upserted": job.total, "family_size": family_size}

    @workflow.query
    def progress(self) -> {{ cookiecutter.workflow_name }}Progress:
        return {"done": self._done, "total": self._total}

    async def _run_children(self, job: {{ cookiecutter.workflow_name }}Job) -> None:
        """Start children for the items not done yet, within this run's budget."""
        budget = job.limit - 1
        in_flight: list[asyncio.Task[int]] = []
        for start in range(job.done, job.total, job.limit):
            if budget == 0 or workflow.info().is_continue_as_new_suggested():
                break
            budget -= 1
            if len(in_flight) >= MAX_CHILDREN_IN_FLIGHT:
                in_flight = await self._collect(in_flight)
            chunk = job.chunk(start, min(start + job.limit, job.total))
            in_flight.append(asyncio.ensure_future(self._child(chunk, start)))
        while in_flight:
            in_flight = await self._collect(in_flight)

    async def _child(self, chunk: {{ cookiecutter.workflow_name }}ChunkInput, start: int) -> int:
        # The id is derived from the parent's and the chunk's start, so a replayed or
        # continued parent finds its children instead of starting them again.
        return await workflow.execute_child_workflow(
            {{ cookiecutter.workflow_name }}ChunkWorkflow.run,
            chunk,
            id=f"{workflow.info().workflow_id}/items-{start}",
        )

    async def _collect(self, in_flight: list[asyncio.Task[int]]) -> list[asyncio.Task[int]]:
        """Wait for at least one child; count what finished; return those still running."""
        finished, pending = await workflow.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        for task in finished:
            self._done += task.result()
        return pending


@workflow.defn(name="{{ cookiecutter.workflow_name }}ChunkWorkflow")
class {{ cookiecutter.workflow_name }}ChunkWorkflowImpl({{ cookiecutter.workflow_name }}ChunkWorkflow):
    """Upserts one share: one activity per item, never more than a run's worth."""

    @workflow.run
    async def run(self, chunk: Any) -> int:  # plain JSON, checked by _checked()
        items = _checked(chunk, chunk_items)
        await asyncio.gather(*(schedule_upsert(item) for item in items))
        return len(items)


def _checked(raw: object, parse: Callable[[object], Parsed]) -> Parsed:
    """Check a workflow's input; refuse it with a non-retryable InvalidInput error.

    Workflows take their input as plain JSON (typed ``Any``) and check it here. Given a
    TypedDict hint, the SDK would convert the payload itself, and a malformed one
    would fail the workflow *task*, which Temporal retries for ever: a retry storm
    instead of an answer. An ApplicationError fails the workflow at once.
    """
    # Clients built on this service refuse an over-limit payload before sending it;
    # other clients (the temporal CLI, other SDKs) do not, so check it again here.
    # The converter raises PayloadTooLargeError, which fails the workflow cleanly.
    workflow.payload_converter().to_payloads([raw])
    try:
        if isinstance(raw, dict) and "done" in raw and not workflow.info().continued_run_id:
            # Only a run continued by the workflow itself may skip work already done.
            raise ValueError("field 'done' is set by the workflow itself when it continues")
        return parse(raw)
    except ValueError as error:
        raise ApplicationError(
            f"invalid input: {error}", type="InvalidInput", non_retryable=True
        ) from None


# What a worker registers: the Impl classes, never the interfaces.
WORKFLOWS = [
    {{ cookiecutter.workflow_name }}WorkflowImpl,
    {{ cookiecutter.workflow_name }}ChunkWorkflowImpl,
]
