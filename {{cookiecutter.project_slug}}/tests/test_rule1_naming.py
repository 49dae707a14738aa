"""Rule 1: interfaces are <Name>Workflow / <Name>Activities, implementations <Name>...Impl.

The server must know the workflow by the interface's name and the activities by
qualified names, while the worker registers only the Impl classes.
"""

from __future__ import annotations

import inspect
import uuid

import pytest
from temporalio.client import Client

from .helpers import (
    StubUpserts,
    handle_histories,
    result_within,
    scheduled_activity_names,
    serving_stubs,
)
from .module_under_test import NAME, WORKFLOWS, ActivitiesImpl, Job, Workflow


@pytest.mark.parametrize("impl", [*WORKFLOWS, ActivitiesImpl])
def test_each_impl_extends_the_interface_named_like_it(impl: type) -> None:
    interface = impl.__mro__[1]
    assert impl.__name__ == f"{interface.__name__}Impl"
    assert interface.__name__.startswith(NAME)
    assert interface.__module__.endswith(".workflow_interface")
    # Every public method of the interface is overridden: none reaches NotImplementedError.
    for name, method in inspect.getmembers(interface, inspect.isfunction):
        if not name.startswith("_"):
            assert getattr(impl, name) is not method, f"{impl.__name__}.{name}"


async def test_server_knows_interface_names(client: Client, task_queue: str) -> None:
    # Five items at two per run: children, so that their names show too.
    job: Job = {"key_range": {"first": 1, "count": 5}, "max_activities_per_run": 2, "batch_size": 1}
    # The activity is a stub under the name the interface gives it (no database needed).
    async with serving_stubs(client, task_queue, StubUpserts()):
        # Started through the interface, not the Impl. A worker that registered the
        # Impl under another name fails the workflow task, and result_within says so.
        handle = await client.start_workflow(
            Workflow.run, job, id=f"naming-{uuid.uuid4()}", task_queue=task_queue
        )
        await result_within(handle)
    assert (await handle.describe()).workflow_type == f"{NAME}Workflow"
    histories = await handle_histories(client, handle)
    assert len(histories) > 1  # the parent and its children
    started = [h.events[0].workflow_execution_started_event_attributes for h in histories]
    assert {attributes.workflow_type.name for attributes in started} == {f"{NAME}Workflow"}
    assert set(scheduled_activity_names(histories)) == {f"{NAME}Activities.upsert"}
