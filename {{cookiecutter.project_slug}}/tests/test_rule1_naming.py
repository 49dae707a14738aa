"""Rule 1: interfaces are <Name>Workflow / <Name>Activities, implementations <Name>...Impl.

The server must know the workflows by the interfaces' names and the activities by
qualified names, while the worker registers only the Impl classes.
"""

from __future__ import annotations

import inspect
import uuid

import pytest
from temporalio.client import Client

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    WORKFLOWS,
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Workflow,
)

from .support import (
    example_input,
    handle_histories,
    running,
    scheduled_activity_names,
    service_worker,
)

NAME = "{{ cookiecutter.workflow_name }}"


@pytest.mark.parametrize("impl", [*WORKFLOWS, {{ cookiecutter.workflow_name }}ActivitiesImpl])
def test_each_impl_extends_the_interface_named_like_it(impl: type) -> None:
    interface = impl.__mro__[1]
    assert impl.__name__ == f"{interface.__name__}Impl"
    assert interface.__name__.startswith(NAME)
    assert interface.__module__.endswith(".workflow_interface")
    # Every public method of the interface is overridden: none reaches NotImplementedError.
    for name, method in inspect.getmembers(interface, inspect.isfunction):
        if not name.startswith("_"):
            assert getattr(impl, name) is not method, f"{impl.__name__}.{name}"


async def test_server_knows_interface_names(
    client: Client, database_url: str, task_queue: str
) -> None:
    async with running(service_worker(client, database_url, task_queue)):
        # Started through the interface, not the Impl.
        handle = await client.start_workflow(
            {{ cookiecutter.workflow_name }}Workflow.run,
            example_input(),
            id=f"naming-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        await handle.result()
    description = await handle.describe()
    assert description.workflow_type == f"{NAME}Workflow"
    histories = await handle_histories(client, handle)
    started = [h.events[0].workflow_execution_started_event_attributes for h in histories]
    types = {attributes.workflow_type.name for attributes in started}
    assert types == {f"{NAME}Workflow", f"{NAME}ChunkWorkflow"}
    names = set(scheduled_activity_names(histories))
    assert names == {f"{NAME}Activities.upsert", f"{NAME}Activities.count_family"}
