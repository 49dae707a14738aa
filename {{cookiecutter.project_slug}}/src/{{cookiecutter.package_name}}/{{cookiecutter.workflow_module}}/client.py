"""How clients start the workflow: one id per input, joined when running, never rerun."""

from __future__ import annotations

import asyncio
import logging
import sys

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from {{ cookiecutter.package_name }}.progress import ProgressDisplay

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    TASK_QUEUE,
    {{ cookiecutter.workflow_name }}Workflow,
    {{ cookiecutter.workflow_name }}WorkflowInput,
    {{ cookiecutter.workflow_name }}WorkflowResult,
    workflow_id_for,
)

log = logging.getLogger(__name__)

PROGRESS_POLL_SECONDS = 0.5

Handle = WorkflowHandle[
    {{ cookiecutter.workflow_name }}Workflow,
    {{ cookiecutter.workflow_name }}WorkflowResult,
]


async def start(
    client: Client,
    workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput,
    workflow_id: str | None = None,
    task_queue: str = TASK_QUEUE,
) -> Handle:
    """Start the workflow, or find the run that already has this id.

    The id comes from the input unless given. A run with that id that is still
    going is joined (USE_EXISTING); one that completed is not started again
    (ALLOW_DUPLICATE_FAILED_ONLY), so its handle gives the earlier result. Only a
    failed, terminated or timed-out run may be started again. The same input never
    writes its rows twice, even though every write would be a harmless upsert.
    """
    workflow_id = workflow_id or workflow_id_for(workflow_input)
    try:
        handle = await client.start_workflow(
            {{ cookiecutter.workflow_name }}Workflow.run,
            workflow_input,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        log.info("workflow %s already completed: returning its result", workflow_id)
        return client.get_workflow_handle_for(
            {{ cookiecutter.workflow_name }}Workflow.run,
            workflow_id,
        )
    log.info("workflow %s running (run %s)", handle.id, handle.result_run_id)
    return handle


async def execute(
    client: Client,
    workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput,
    workflow_id: str | None = None,
    task_queue: str = TASK_QUEUE,
    show_progress: bool = False,
) -> {{ cookiecutter.workflow_name }}WorkflowResult:
    """Start (or join) the workflow and wait for its result, showing progress if asked."""
    handle = await start(client, workflow_input, workflow_id, task_queue)
    result = asyncio.ensure_future(handle.result())
    if show_progress:
        await show_progress_until_done(client, handle.id, result)
    return await result


async def show_progress_until_done(
    client: Client,
    workflow_id: str,
    result: asyncio.Future[{{ cookiecutter.workflow_name }}WorkflowResult],
) -> None:
    """Ask the workflow how far it is every half second until it is done."""
    display = ProgressDisplay(sys.stderr)
    # No run id: the query reaches the latest run, after any continue-as-new.
    latest = client.get_workflow_handle_for(
        {{ cookiecutter.workflow_name }}Workflow.run,
        workflow_id,
    )
    while not result.done():
        try:
            progress = await latest.query({{ cookiecutter.workflow_name }}Workflow.progress)
        except RPCError as error:  # between runs, or no worker has picked it up yet
            log.debug("progress query failed: %s", error)
        else:
            display.show(progress["done"], progress["total"])
        await asyncio.wait({result}, timeout=PROGRESS_POLL_SECONDS)
    if not result.cancelled() and result.exception() is None:
        upserted = result.result()["upserted"]
        display.show(upserted, upserted)
    display.finish()
