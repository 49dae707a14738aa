"""One activity per item: the raw SDK's ceiling, and the guide's own style.

``bench.noop`` does nothing: what is left is Temporal's own cost of an activity, with
the SDK's defaults, its default converter and sandbox, nothing of the service's.
``bench.guide_upsert`` is what the guide's examples do for each item: open a connection,
run one plain ``INSERT ... ON CONFLICT``, close it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from temporalio import activity, workflow
from typing_extensions import TypedDict

from {{ cookiecutter.package_name }}.bulk import BulkUpsert
from {{ cookiecutter.package_name }}.db import connect_to_db_or_raise
from {{ cookiecutter.package_name }}.fields import Fields

from .paths import column_types, insert_values


class PerItemJob(TypedDict):
    activity: str
    first: int
    count: int


@activity.defn(name="bench.noop")
async def noop(number: int) -> None:
    """Does nothing: what is left is Temporal's own cost of an activity."""


class GuideStyle:
    """The guide's upsert of one item, on a connection of its own."""

    def __init__(self, database_url: str, table: str, fields: Fields) -> None:
        self.database_url = database_url
        self.write = BulkUpsert(table, fields)  # its rows(): the record's column values
        self.statement: Any = None

    @activity.defn(name="bench.guide_upsert")
    async def upsert(self, number: int) -> None:
        async with connect_to_db_or_raise(self.database_url) as conn:
            if self.statement is None:  # built once, from the table's own column types
                types = await column_types(conn, self.write.table, self.write.fields)
                self.statement = insert_values(self.write, types)
            record = SimpleNamespace(**self.write.fields.numbered(number))
            [(_, values)] = self.write.rows([record])
            await conn.execute(self.statement, values)


@workflow.defn(name="bench.PerItem")
class PerItem:
    """Runs one activity per item, all at once: items ``first`` to ``first + count - 1``."""

    @workflow.run
    async def run(self, job: PerItemJob) -> int:
        timeout = timedelta(seconds=30)
        first, count = job["first"], job["count"]
        await asyncio.gather(
            *(
                workflow.execute_activity(job["activity"], n, start_to_close_timeout=timeout)
                for n in range(first, first + count)
            )
        )
        return count
