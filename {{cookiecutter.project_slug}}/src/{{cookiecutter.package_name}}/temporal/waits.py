"""The one loop that waits on a task while doing something every so often.

Stopping a worker (checked every 0.5 s, rule 8), showing a run's progress, and the
tests' wait for a workflow's result all wait on one task and act between checks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any


async def until_done(task: asyncio.Future[Any], *, every: float) -> AsyncIterator[float]:
    """Yield the seconds since the call, at once and then every ``every`` s, until ``task``
    is done.

    The loop wakes as soon as the task is done, not at the next tick, so a caller
    waits no longer than the task itself. A caller may stop early (raise, break), and
    then decides what becomes of the task.
    """
    started = time.monotonic()
    while not task.done():
        yield time.monotonic() - started
        await asyncio.wait({task}, timeout=every)
