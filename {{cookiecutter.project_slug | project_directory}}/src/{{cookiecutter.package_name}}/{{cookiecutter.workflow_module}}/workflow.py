"""The code behind the {{ cookiecutter.workflow_name }} interfaces: the ``...Impl`` classes.

The worker registers only these; each repeats its interface's decorators with the
same names, which the SDK requires of an override. The fan-out, the limits and the
progress query come from :class:`FanOutWorkflow`: this file holds what is the
workflow's own, the SQL and the activity body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from temporalio import activity, workflow

from {{ cookiecutter.package_name }}.db import Database
from {{ cookiecutter.package_name }}.temporal.fanout import FanOutWorkflow, JobResult, records_of
from {{ cookiecutter.package_name }}.temporal.retry import PermanentError

from .record import (
    {{ cookiecutter.workflow_name }}Record,
)
from .workflow_interface import (
    WORKFLOW_TYPE,
    {{ cookiecutter.workflow_name }}Activities,
    {{ cookiecutter.workflow_name }}Job,
    {{ cookiecutter.workflow_name }}Workflow,
)

# The table of schema.sql. Queries name it through sql.Identifier and take values
# only as bound parameters: no string formatting ever reaches the database.
TABLE_NAME = "{{ cookiecutter.table_name }}"

# Idempotent by construction: a retry of the same batch hits the unique key and
# updates the rows in place, so the table never holds a duplicate.
UPSERT_SQL = sql.SQL("""
    INSERT INTO {} (key, value)
    VALUES (%(key)s, %(value)s)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
""").format(sql.Identifier(TABLE_NAME))


class {{ cookiecutter.workflow_name }}ActivitiesImpl({{ cookiecutter.workflow_name }}Activities):
    """Activities that write to PostgreSQL, each safe to run more than once."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def all(self) -> list[Callable[..., Any]]:
        """The bound activity methods, for ``Worker(activities=...)``."""
        return [self.upsert]

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.upsert")
    async def upsert(self, batch: {{ cookiecutter.workflow_name }}Job) -> int:
        try:
            records = records_of(batch, {{ cookiecutter.workflow_name }}Record)
        except ValueError as error:
            raise PermanentError(str(error)) from error
        async with self.database.connect() as conn, conn.cursor() as cursor:
            try:
                await cursor.executemany(UPSERT_SQL, [record.to_dict() for record in records])
            except (
                psycopg.DataError,
                psycopg.IntegrityError,
                psycopg.errors.ProgramLimitExceeded,
            ) as error:
                # A row is refused (a CHECK, a key too big for its index): retrying
                # cannot help. Connection errors are not caught here: they are retried.
                raise PermanentError(f"row refused: {error}") from error
        # With the activity's type, workflow and attempt attached by the SDK's logger.
        activity.logger.debug("upserted %d records", len(records))
        return len(records)


@workflow.defn(name=WORKFLOW_TYPE)
class {{ cookiecutter.workflow_name }}WorkflowImpl(
    {{ cookiecutter.workflow_name }}Workflow,
    FanOutWorkflow,
):
    """Upserts the job's records in batches, through child workflows when it is big."""

    @workflow.run
    async def run(self, job: {{ cookiecutter.workflow_name }}Job) -> JobResult:
        return await self.fan_out(
            job,
            {{ cookiecutter.workflow_name }}Record,
            {{ cookiecutter.workflow_name }}Activities.upsert,
        )


# What a worker registers: the Impl classes, never the interfaces.
WORKFLOWS = [{{ cookiecutter.workflow_name }}WorkflowImpl]
