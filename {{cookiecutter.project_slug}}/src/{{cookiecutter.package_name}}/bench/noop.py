"""The raw SDK's ceiling for one activity per item: a workflow of no-op activities.

No service code: the SDK's defaults, its default converter and sandbox, nothing else.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench.noop")
async def noop() -> None:
    """Does nothing: what is left is Temporal's own cost of an activity."""


@workflow.defn(name="bench.PerItemNoop")
class PerItemNoop:
    """Runs ``count`` no-op activities at once: one per item."""

    @workflow.run
    async def run(self, count: int) -> int:
        timeout = timedelta(seconds=30)
        await asyncio.gather(
            *(workflow.execute_activity(noop, start_to_close_timeout=timeout) for _ in range(count))
        )
        return count
