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

from ..progress import ProgressDisplay, progress_display
from .fanout import PROGRESS_QUERY, JobResult, Progress
from .module import WorkflowModule
from .waits import until_done

log = logging.getLogger(__name__)

# How often `run` asks for the count. The bar redraws on its own in between, so its
# clock and ETA move; the count itself moves with every batch (see read_progress).
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
    return await result_of(client, handle, show_progress=show_progress)


async def result_of(client: Client, handle: Handle, *, show_progress: bool = False) -> JobResult:
    """Wait for the workflow's result, showing progress if asked."""
    result = asyncio.ensure_future(handle.result())
    if show_progress:
        await show_progress_until_done(client, handle.id, result)
    return await result


async def read_progress(client: Client, workflow_id: str) -> Progress:
    """Items done so far: the workflow's own count plus that of each child it is running.

    The workflow is asked first, then the children it lists. A child that finishes in
    between is already out of the workflow's count and still answers for itself (a
    closed workflow can be queried), so no item is counted twice or missed.
    """
    # No run id: the query reaches the latest run, after any continue-as-new.
    progress: Progress = await client.get_workflow_handle(workflow_id).query(
        PROGRESS_QUERY, result_type=Progress
    )
    children = await asyncio.gather(
        *(
            client.get_workflow_handle(child).query(PROGRESS_QUERY, result_type=Progress)
            for child in progress["children"]
        ),
        return_exceptions=True,
    )
    for child in children:
        if isinstance(child, BaseException):
            # A child may be gone between runs of its parent; the next poll has it again.
            log.debug("progress query of a child failed: %s", child)
        else:
            progress["done"] += child["done"]
    return progress


async def read_staging(client: Client, workflow_id: str) -> dict[str, Any] | None:
    """A load's stage position as its activity last heartbeat it (loads/stage.py), while
    it stages; None otherwise. Its committed bytes, lines and rows, and the source's size."""
    description = await client.get_workflow_handle(workflow_id).describe()
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name.endswith(".stage") and pending.heartbeat_details.payloads:
            [details] = await client.data_converter.decode(pending.heartbeat_details.payloads)
            return dict(details)
    return None


async def show_progress_until_done(
    client: Client,
    workflow_id: str,
    result: asyncio.Future[JobResult],
    display: ProgressDisplay | None = None,
) -> None:
    """Show how far the workflow is, a bar on a terminal, until ``result`` is done."""
    display = display or progress_display(sys.stderr)
    shown = 0
    async for _ in until_done(result, every=PROGRESS_POLL_SECONDS):
        try:
            progress = await read_progress(client, workflow_id)
            staged = await read_staging(client, workflow_id) if not progress["total"] else None
        except RPCError as error:  # between runs, or no worker has picked it up yet
            log.debug("progress query failed: %s", error)
        else:
            if staged is not None:  # a load, still staging its source: its bytes so far
                display.update(staged["bytes"], staged.get("size"), "bytes staged")
                continue
            if not progress["total"]:  # nothing planned yet: 0 of 0 would read as done
                continue
            # Never backwards: a child that did not answer this time is not lost work.
            shown = max(shown, progress["done"])
            display.update(shown, progress["total"])
    if not result.cancelled() and result.exception() is None:
        upserted = result.result()["upserted"]
        display.update(upserted, upserted)
    display.finish()
