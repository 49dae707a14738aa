"""The code behind the {{ cookiecutter.workflow_name }} interfaces: ``...WorkflowImpl`` and ``...ActivitiesImpl``.

The worker registers only these Impl classes; each repeats its interface's
decorator with the same name, which the SDK requires of an override.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

# The workflow sandbox re-imports this module for every run. Pass these through
# instead: the interface is plain Python, and the activity side (psycopg) is never
# called from workflow code.
with workflow.unsafe.imports_passed_through():
    import psycopg

    from {{ cookiecutter.package_name }}.db import connect_to_db_or_raise
    from {{ cookiecutter.package_name }}.temporal.retry import DEFAULT_RETRY_POLICY, PermanentError

    from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
        ACTIVITY_SCHEDULE_TO_CLOSE,
        ACTIVITY_START_TO_CLOSE,
        {{ cookiecutter.workflow_name }},
        {{ cookiecutter.workflow_name }}Activities,
        {{ cookiecutter.workflow_name }}Dict,
        {{ cookiecutter.workflow_name }}Workflow,
        {{ cookiecutter.workflow_name }}WorkflowInput,
        {{ cookiecutter.workflow_name }}WorkflowResult,
        parse_input,
    )

# Idempotent by construction: a retry of the same activity hits the unique key and
# updates the row in place, so the table never holds a duplicate.
UPSERT_SQL = """
    INSERT INTO {{ cookiecutter.table_name }} (name, surname, known_for)
    VALUES (%s, %s, %s)
    ON CONFLICT (name, surname) DO UPDATE SET known_for = EXCLUDED.known_for
    RETURNING id
"""
COUNT_FAMILY_SQL = "SELECT count(*) FROM {{ cookiecutter.table_name }} WHERE surname = %s"


class {{ cookiecutter.workflow_name }}ActivitiesImpl({{ cookiecutter.workflow_name }}Activities):
    """Activities that write to PostgreSQL, each safe to run more than once."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def all(self) -> list[Callable[..., Any]]:
        """The bound activity methods, for ``Worker(activities=...)``."""
        return [self.add_{{ cookiecutter.workflow_module }}, self.count_family]

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.add_{{ cookiecutter.workflow_module }}")
    async def add_{{ cookiecutter.workflow_module }}(self, {{ cookiecutter.workflow_module }}: {{ cookiecutter.workflow_name }}Dict) -> int:
        try:
            item = {{ cookiecutter.workflow_name }}.from_dict({{ cookiecutter.workflow_module }})
        except ValueError as error:
            raise PermanentError(str(error)) from error
        async with connect_to_db_or_raise(self.database_url) as conn:
            try:
                cursor = await conn.execute(UPSERT_SQL, (item.name, item.surname, item.known_for))
            except (psycopg.DataError, psycopg.IntegrityError, ValueError) as error:
                # The row itself is refused (a CHECK, a NUL byte): retrying cannot help.
                raise PermanentError(f"{{ cookiecutter.table_name }} refused {item}: {error}") from error
            row = await cursor.fetchone()
        assert row is not None  # RETURNING always yields the row
        return int(row[0])

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.count_family")
    async def count_family(self, surname: str) -> int:
        async with connect_to_db_or_raise(self.database_url) as conn:
            cursor = await conn.execute(COUNT_FAMILY_SQL, (surname,))
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


@workflow.defn(name="{{ cookiecutter.workflow_name }}Workflow")
class {{ cookiecutter.workflow_name }}WorkflowImpl({{ cookiecutter.workflow_name }}Workflow):
    """Upserts every member of a family, then reports how many rows the family has."""

    @workflow.run
    async def run(self, workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput) -> {{ cookiecutter.workflow_name }}WorkflowResult:
        try:
            family, members = parse_input(workflow_input)
        except ValueError as error:
            # Raised as ApplicationError so the workflow fails at once; any other
            # exception would only fail the workflow task and retry it for ever.
            raise ApplicationError(
                f"invalid input: {error}", type="InvalidInput", non_retryable=True
            ) from None
        await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    {{ cookiecutter.workflow_name }}Activities.add_{{ cookiecutter.workflow_module }},
                    member.to_dict(),
                    start_to_close_timeout=ACTIVITY_START_TO_CLOSE,
                    schedule_to_close_timeout=ACTIVITY_SCHEDULE_TO_CLOSE,
                    retry_policy=DEFAULT_RETRY_POLICY,
                )
                for member in members
            )
        )
        family_size = await workflow.execute_activity_method(
            {{ cookiecutter.workflow_name }}Activities.count_family,
            family,
            start_to_close_timeout=ACTIVITY_START_TO_CLOSE,
            schedule_to_close_timeout=ACTIVITY_SCHEDULE_TO_CLOSE,
            retry_policy=DEFAULT_RETRY_POLICY,
        )
        return {"upserted": len(members), "family_size": family_size}
