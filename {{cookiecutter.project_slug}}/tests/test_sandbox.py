"""Temporal's sandbox checks the service's own workflow code; only the activities'
database side passes through it (temporal/worker.py's SANDBOX, workflow.py's imports)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from {{ cookiecutter.package_name }}.temporal.worker import SANDBOX, running

from .helpers import PACKAGE, result_within
from .module_under_test import MODULE
from .sandbox_probe import MARK, SandboxProbe

# Imported first, as a worker's sandbox does: the workflow module, then what it uses.
WORKFLOW_SIDE = [
    f"{MODULE.package}.workflow",
    f"{MODULE.package}.workflow_interface",
    f"{MODULE.package}.record",
    f"{PACKAGE}.fields",
    f"{PACKAGE}.temporal.fanout",
    f"{PACKAGE}.temporal.inputs",
    f"{PACKAGE}.temporal.loading",
    f"{PACKAGE}.temporal.module",
    f"{PACKAGE}.temporal.retry",
]
# What the activities in workflow.py use: named by workflow code, never run by it.
ACTIVITY_SIDE = [f"{PACKAGE}.db", f"{PACKAGE}.bulk", f"{PACKAGE}.loads.staging", "psycopg"]


@pytest.fixture
def marked_modules() -> Iterator[list[str]]:
    names = WORKFLOW_SIDE + ACTIVITY_SIDE
    for name in names:
        setattr(sys.modules[name], MARK, True)
    yield names
    for name in names:
        delattr(sys.modules[name], MARK)


# The probe imports the modules it looks at during its run, which the sandbox notes.
@pytest.mark.filterwarnings("ignore:Module .* was imported after initial workflow load")
async def test_workflow_code_runs_sandboxed_and_database_code_passes_through(
    client: Client, task_queue: str, marked_modules: list[str]
) -> None:
    worker = Worker(
        client, task_queue=task_queue, workflows=[SandboxProbe], workflow_runner=SANDBOX
    )
    async with running([worker]):
        handle = await client.start_workflow(
            SandboxProbe.run, marked_modules, id=f"sandbox-{uuid.uuid4()}", task_queue=task_queue
        )
        shared = await result_within(handle)
    # A workflow-side module passed through would escape the sandbox's checks; a
    # database module imported into it would be loaded again for every run.
    assert shared == ACTIVITY_SIDE
