"""Workers for any set of workflow modules, run for a while and stopped quickly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Literal

from temporalio.client import Client
from temporalio.worker import Worker, WorkerDeploymentConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from .. import config
from ..db import Database
from ..gate.workflow import RolloutGateActivitiesImpl, RolloutGateWorkflowImpl
from ..redaction import RedactFailures
from .inputs import InputChecks
from .module import WorkflowModule
from .telemetry import CountUpserts
from .waits import until_done

log = logging.getLogger(__name__)

# How often stop_worker_faster() looks whether the worker is down (the guide's 0.5 s).
STOP_POLL_SECONDS = 0.5
# Activities one worker runs at once, and so the connections its pool keeps. A batch
# activity spends its time in PostgreSQL. `make bench`, 100,000 items in batches of
# 5,000 on 2 cores, 3 rounds: 4, 8 and 16 gave 57,500, 64,300 and 69,500 items/s, the
# same within the runs' spread (51,000 to 78,000); 8 leaves room for activities that
# wait on more than the database. (With batches of 1,000: 2, 4, 8 and 16 within 15 %.)
MAX_CONCURRENT_ACTIVITIES = 8
# Pollers, slots and rate limits are left at the SDK's defaults (5 workflow-task and 5
# activity-task polls, fixed slots), by measurement. `make bench` at 300,000 items on 2
# cores, 3 rounds: the defaults gave 60,800 items/s, 2 pollers 65,700, 10 pollers
# 66,700, and the SDK's resource-based tuner (80 % memory, 90 % CPU) 60,000: the same
# within the noise. At 5,000 items a batch, 70,000 items/s is 14 activity tasks a
# second: neither the pollers nor the dev server's rate limits come near their bounds.

# A worker keeps the workflows it ran in memory and gets their next tasks on a queue
# of its own ("sticky"). If it does not take such a task within this time (it died
# or was deployed away), the task goes to any worker, which replays the history.
# The SDK's default is 10 s; a workflow task here takes milliseconds and a history
# at most a few thousand events (rule 3), so a shorter wait costs little.
STICKY_QUEUE_TIMEOUT = timedelta(seconds=3)

# Workflow code runs in Temporal's sandbox, which imports each module it uses afresh
# for every run and refuses what could break a replay (clocks, randomness, I/O). Only
# third-party code that workflow code never calls for a decision passes through as it
# is: the database driver, which a workflow module names but only its activities use
# (they import it under workflow.unsafe.imports_passed_through()), and tracing, whose
# context travels through workflow code (temporal/tracing.py). The service's own
# workflow-side code, machinery included, stays in the sandbox and is checked there.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "psycopg",
        "psycopg_binary",
        "psycopg_pool",
        "typing_extensions",
        "opentelemetry",
    )
)


Role = Literal["both", "workflows", "activities"]


class WorkerStopTimeoutError(Exception):
    """The worker was not down within the bound given to stop_worker_faster()."""


def create_workers(
    client: Client,
    database: Database | None,
    modules: Sequence[WorkflowModule],
    *,
    task_queue: str | None = None,
    graceful_shutdown: timedelta | None = None,
    role: Role = "both",
    deployment: WorkerDeploymentConfig | None = None,
) -> list[Worker]:
    """One worker per task queue, for the workflows and activities of ``modules``.

    Only the Impl classes are registered; the server knows them by the names on
    their interfaces. Each queue also serves the rollout gate (:mod:`..gate`).
    ``task_queue`` puts every module on that one queue (tests do).
    ``role`` splits the work as larger deployments do: "workflows" runs workflow
    code only (no database needed), "activities" the activities only; any number of
    processes of each may poll the same queues. ``deployment`` makes them a version
    of a Worker Deployment (:mod:`.versioning`). Activities in flight when they stop
    get ``graceful_shutdown`` to finish, by default GRACEFUL_SHUTDOWN_SECONDS (config.py
    says why 5 s). Run them with :func:`running`, which opens the database's pool for them.
    """
    if role != "workflows" and database is None:
        raise ValueError("activities need a database")
    if graceful_shutdown is None:
        graceful_shutdown = config.graceful_shutdown()
    by_queue: dict[str, list[WorkflowModule]] = {}
    for module in modules:
        by_queue.setdefault(task_queue or module.task_queue, []).append(module)
    database_url = database.url if database is not None else None
    workers = []
    for queue, served in by_queue.items():
        # Every queue serves the rollout gate too (gate/), checking its own modules.
        workflows = [workflow for module in served for workflow in module.workflows]
        workflows.append(RolloutGateWorkflowImpl)
        activities = []
        if database is not None:
            activities = [activity for module in served for activity in module.activities(database)]
            activities.append(RolloutGateActivitiesImpl(database, served).check)
        workers.append(
            Worker(
                client,
                task_queue=queue,
                workflows=workflows if role != "activities" else [],
                activities=activities if role != "workflows" else [],
                interceptors=[InputChecks(), CountUpserts(), RedactFailures(database_url)],
                workflow_runner=SANDBOX,
                max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
                graceful_shutdown_timeout=graceful_shutdown,
                sticky_queue_schedule_to_start_timeout=STICKY_QUEUE_TIMEOUT,
                deployment_config=deployment,
            )
        )
    return workers


@asynccontextmanager
async def running(
    workers: Sequence[Worker], database: Database | None = None
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run ``workers`` for the block, then stop them with stop_worker_faster() (rule 8).

    With ``database``, its pool is open for as long as they run: one connection per
    activity slot. Yields the tasks running them, so a caller can notice one failing.
    """
    if database is not None:
        await database.open_pool(MAX_CONCURRENT_ACTIVITIES * len(workers))
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        yield tasks
    finally:
        try:
            await asyncio.gather(*(stop_worker_faster(worker) for worker in workers))
            await asyncio.gather(*tasks)
        finally:
            if database is not None:
                await database.close()


async def stop_worker_faster(worker: Worker, *, timeout: float = 30.0) -> None:
    """Shut the worker down, checking every 0.5 s whether it is down; raise past ``timeout``.

    ``Worker.shutdown()`` does the work; polling it here means a caller waits at most
    half a second more than the shutdown itself, and never hangs: a worker that is
    not down within ``timeout`` seconds raises WorkerStopTimeoutError.
    """
    started = time.monotonic()
    shutdown = asyncio.ensure_future(worker.shutdown())
    async for elapsed in until_done(shutdown, every=STOP_POLL_SECONDS):
        if elapsed > timeout:
            shutdown.cancel()
            message = f"worker still running {elapsed:.1f}s after shutdown began"
            raise WorkerStopTimeoutError(message)
    shutdown.result()
    log.info("worker stopped in %.2fs", time.monotonic() - started)
