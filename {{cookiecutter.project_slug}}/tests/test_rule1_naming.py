"""Rule 1: interfaces are <Name>Workflow / <Name>Activities, implementations <Name>...Impl.

The server must know the workflow by the interface's name and the activities by
qualified names, while the worker registers only the Impl classes.
"""

from __future__ import annotations

import inspect
import json
import uuid
from pathlib import Path

from temporalio.client import Client

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
    {{ cookiecutter.workflow_name }}WorkflowImpl,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Activities,
    {{ cookiecutter.workflow_name }}Workflow,
    {{ cookiecutter.workflow_name }}WorkflowInput,
)

from .support import handle_histories, running, scheduled_activity_names, service_worker

EXAMPLE = Path(__file__).parent.parent / "examples" / "{{ cookiecutter.workflow_module }}.json"


def test_impl_classes_implement_the_interfaces() -> None:
    assert issubclass({{ cookiecutter.workflow_name }}WorkflowImpl, {{ cookiecutter.workflow_name }}Workflow)
    assert issubclass({{ cookiecutter.workflow_name }}ActivitiesImpl, {{ cookiecutter.workflow_name }}Activities)
    public = {
        name
        for name, member in inspect.getmembers({{ cookiecutter.workflow_name }}Activities, inspect.isfunction)
        if not name.startswith("_")
    }
    # Every interface method is overridden: nothing falls through to NotImplementedError.
    for name in public:
        impl_method = getattr({{ cookiecutter.workflow_name }}ActivitiesImpl, name)
        assert impl_method is not getattr({{ cookiecutter.workflow_name }}Activities, name), name


async def test_server_knows_interface_names(
    client: Client, database_url: str, task_queue: str
) -> None:
    workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    async with running(service_worker(client, database_url, task_queue)):
        # Started through the interface, not the Impl.
        handle = await client.start_workflow(
            {{ cookiecutter.workflow_name }}Workflow.run,
            workflow_input,
            id=f"naming-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        await handle.result()
    description = await handle.describe()
    assert description.workflow_type == "{{ cookiecutter.workflow_name }}Workflow"
    histories = await handle_histories(client, handle)
    started = [h.events[0].workflow_execution_started_event_attributes for h in histories]
    assert {attributes.workflow_type.name for attributes in started} == {
        "{{ cookiecutter.workflow_name }}Workflow",
        "{{ cookiecutter.workflow_name }}ChunkWorkflow",
    }
    names = set(scheduled_activity_names(histories))
    assert names == {
        "{{ cookiecutter.workflow_name }}Activities.add_{{ cookiecutter.workflow_module }}",
        "{{ cookiecutter.workflow_name }}Activities.count_family",
    }
