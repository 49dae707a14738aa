"""Starting a module's workflow: one id per input, joined while running, never rerun."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sys
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from {{ cookiecutter.package_name }}.progress import ProgressDisplay
from {{ cookiecutter.package_name }}.temporal.fanout import PROGRESS_QUERY, JobResult, Progress
from {{ cookiecutter.package_name }}.temporal.module import WorkflowModule

log = logging.getLogger(__name__)

PROGRESS_POLL_SECONDS = 0.5

Handle = WorkflowHandle[Any, JobResult]


def workflow_id_for(module: WorkflowModule, job: object) -> str:
    """A workflow id derived from the input: starting the same input twice finds the same run."""
    canonical = json.dumps(job, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return f"{module.workflow_type}-{digest}"


async def start(
    client: Client,
    module: WorkflowModule,
    job: object,
    workflow_id: str | None = None,
    task_queue: str | None = None,
) -> Handle:
    """Start the module's workflow, or find the run that already has this id.

    The id comes from the input unless given. A run with that id that is still
    going is joined (USE_EXISTING); one that completed is not started again
    (ALLOW_DUPLICATE_FAILED_ONLY), so its handle gives the earlier result. Only a
    failed, terminated or timed-out run may be started again. The same input never
    writes its rows twice, even though every write would be a harmless upsert.
    """
    workflow_id = workflow_id or workflow_id_for(module, job)
    try:
        handle: Handle = await client.start_workflow(
            module.workflow_type,
            job,
            id=workflow_id,
            task_queue=task_queue or module.task_queue,
            result_type=JobResult,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        log.info("workflow %s already completed: returning its result", workflow_id)
        return client.get_workflow_handle(workflow_id, result_type=JobResult)
    log.info("workflow %s running (run %s)", handle.id, handle.result_run_id)
    return handle


async def execute(
    client: Client,
    module: WorkflowModule,
    job: object,
    workflow_id: str | None = None,
    task_queue: str | None = None,
    show_progress: bool = False,
) -> JobResult:
    """Start (or join) the workflow and wait for its result, showing progress if asked."""
    handle = await start(client, module, job, workflow_id, task_queue)
    result = asyncio.ensure_future(handle.result())
    if show_progress:
        await show_progress_until_done(client, handle.id, result)
    return await result


async def show_progress_until_done(
    client: Client, workflow_id: str, result: asyncio.Future[JobResult]
) -> None:
    """Ask the workflow how far it is every half second until it is done."""
    display = ProgressDisplay(sys.stderr)
    # No run id: the query reaches the latest run, after any continue-as-new.
    latest = client.get_workflow_handle(workflow_id)
    while not result.done():
        try:
            progress = await latest.query(PROGRESS_QUERY, result_type=Progress)
        except RPCError as error:  # between runs, or no worker has picked it up yet
            log.debug("progress query failed: %s", error)
        else:
            display.show(progress["done"], progress["total"])
        await asyncio.wait({result}, timeout=PROGRESS_POLL_SECONDS)
    if not result.cancelled() and result.exception() is None:
        upserted = result.result()["upserted"]
        display.show(upserted, upserted)
    display.finish()
