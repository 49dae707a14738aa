"""Waiting in tests: every wait has a bound and, past it, says what it waited for.

``assert_eventually`` polls a condition; ``result_within`` awaits a workflow and fails
at its first failed workflow task instead of hanging on a workflow retried for ever.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from {{ cookiecutter.package_name }}.temporal.waits import until_done

from .histories import events

# How long a test waits for a workflow that should finish in seconds.
RESULT_TIMEOUT = 60.0


async def assert_eventually(
    what: str,
    check: Callable[[], bool | Awaitable[bool]],
    timeout: float = 60,
    every: float = 0.2,
) -> None:
    """Poll ``check()`` every ``every`` s until it holds; fail naming ``what`` past ``timeout``.

    ``check`` may be a coroutine function, and may raise to fail at once (a process
    that died, a server that exited).
    """
    deadline = time.monotonic() + timeout
    while True:
        held = check()
        if held if isinstance(held, bool) else await held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        await asyncio.sleep(every)


def assert_eventually_here(
    what: str, check: Callable[[], bool], timeout: float = 30, every: float = 0.1
) -> None:
    """``assert_eventually`` for code outside an event loop (fixtures, process starts)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(every)


async def result_within(handle: WorkflowHandle[Any, Any], timeout: float = RESULT_TIMEOUT) -> Any:
    """The workflow's result, or a failure that says what went wrong, within ``timeout``.

    A workflow whose tasks fail (a type no worker knows, a bug in workflow code) is
    retried for ever and would hang the test: this fails it at the first failed task,
    with the server's message.
    """
    result = asyncio.ensure_future(handle.result())
    async for elapsed in until_done(result, every=0.5):
        failure = await last_workflow_task_failure(handle)
        if failure:
            result.cancel()
            raise AssertionError(f"workflow {handle.id}: a workflow task failed: {failure}")
        if elapsed > timeout:
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
    """The ApplicationError at the root of a workflow, child workflow or activity failure:
    the one the failing code raised, behind what the fan-out adds (which batch failed)."""
    found: ApplicationError | None = None
    current: object = error
    while current is not None:
        if isinstance(current, ApplicationError):
            found = current
        # WorkflowFailureError, ChildWorkflowError, ActivityError and the fan-out's own
        # ApplicationError each carry a .cause.
        current = getattr(current, "cause", None)
    if found is None:
        raise AssertionError(f"no ApplicationError behind {error!r}")
    return found
