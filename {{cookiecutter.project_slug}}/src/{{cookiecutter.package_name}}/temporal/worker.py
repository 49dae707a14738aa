"""Building workers, and stopping them quickly in tests and on Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    WORKFLOWS,
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    TASK_QUEUE,
)

log = logging.getLogger(__name__)

# How often stop_worker_faster() looks whether the worker is down (the guide's 0.5 s).
STOP_POLL_SECONDS = 0.5
# Activities still running this long after shutdown starts are cancelled; they
# heartbeat, so they see the cancellation and the server hands them to another worker.
GRACEFUL_SHUTDOWN = timedelta(seconds=5)


class WorkerStopTimeoutError(Exception):
    """The worker was not down within the bound given to stop_worker_faster()."""


def create_worker(
    client: Client,
    database_url: str,
    *,
    task_queue: str = TASK_QUEUE,
    graceful_shutdown: timedelta = GRACEFUL_SHUTDOWN,
) -> Worker:
    """A worker for the workflows and activities of workflow.py.

    Only the Impl classes are registered; the server knows them by the names on
    their interfaces (<Name>Workflow, <Name>Activities.upsert, ...).
    """
    activities = {{ cookiecutter.workflow_name }}ActivitiesImpl(database_url)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities.all(),
        graceful_shutdown_timeout=graceful_shutdown,
    )


async def stop_worker_faster(worker: Worker, *, timeout: float = 30.0) -> None:
    """Shut the worker down, checking every 0.5 s whether it is down; raise past ``timeout``.

    ``Worker.shutdown()`` does the work; polling it here means a test waits at most
    half a second more than the shutdown itself, and never hangs: a worker that is
    not down within ``timeout`` seconds raises WorkerStopTimeoutError.
    """
    started = time.monotonic()
    shutdown = asyncio.ensure_future(worker.shutdown())
    while not shutdown.done():
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            shutdown.cancel()
            message = f"worker still running {elapsed:.1f}s after shutdown began"
            raise WorkerStopTimeoutError(message)
        await asyncio.wait({shutdown}, timeout=STOP_POLL_SECONDS)
    shutdown.result()
    log.info("worker stopped in %.2fs", time.monotonic() - started)
