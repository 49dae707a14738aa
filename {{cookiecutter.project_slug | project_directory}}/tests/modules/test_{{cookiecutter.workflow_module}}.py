"""The {{ cookiecutter.workflow_name }} module end to end, under its own names.

The rule tests (``tests/test_rule*.py``) prove the guide's pattern on the module that
``tests/module_under_test.py`` names. This file comes with the module, also when the
template's ``workflow/`` sub-template adds one, and proves what is the module's own:
the names the server knows, its table and upsert, and its example input.
"""

from __future__ import annotations

import json
import uuid

from temporalio.client import Client

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }} import MODULE
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Job,
    {{ cookiecutter.workflow_name }}Workflow,
)

from ..helpers import (
    PROJECT_ROOT,
    handle_histories,
    result_within,
    row_count,
    scheduled_activity_names,
    serving,
)

EXAMPLE = PROJECT_ROOT / "examples" / "{{ cookiecutter.workflow_module }}.json"
# The names the module was made with, as the server, the worker and PostgreSQL know it.
WORKFLOW_TYPE = "{{ cookiecutter.workflow_name }}Workflow"
ACTIVITY_TYPE = "{{ cookiecutter.workflow_name }}Activities.upsert"
TASK_QUEUE = "{{ cookiecutter.task_queue }}"
TABLE = "{{ cookiecutter.table_name }}"


def example() -> {{ cookiecutter.workflow_name }}Job:
    job: {{ cookiecutter.workflow_name }}Job = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return job


async def test_the_example_runs_twice_and_leaves_each_record_once(
    client: Client, database_url: str, task_queue: str
) -> None:
    job = example()
    records = job.get("records", [])
    # The service's worker, for this module only; serving() stops it with
    # stop_worker_faster(), as the guide asks of tests.
    async with serving(client, database_url, task_queue, modules=[MODULE]):
        for attempt in range(2):
            handle = await client.start_workflow(
                {{ cookiecutter.workflow_name }}Workflow.run,
                job,
                id=f"{MODULE.workflow_type}-{attempt}-{uuid.uuid4()}",
                task_queue=task_queue,
            )
            assert await result_within(handle) == {"upserted": len(records)}
            assert row_count(database_url, MODULE.table) == len({r["key"] for r in records})
    histories = await handle_histories(client, handle)
    assert set(scheduled_activity_names(histories)) == {ACTIVITY_TYPE}


def test_the_module_is_known_by_its_own_names() -> None:
    assert MODULE.workflow_type == WORKFLOW_TYPE
    assert MODULE.task_queue == TASK_QUEUE
    assert MODULE.table == TABLE
    assert f"CREATE TABLE IF NOT EXISTS {TABLE} (" in MODULE.schema_sql()
