"""Rule 2: activities are idempotent upserts; running anything twice changes nothing."""

from __future__ import annotations

import uuid

from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Dict,
    {{ cookiecutter.workflow_name }}Workflow,
)

from .support import example_input, running, service_worker, table_rows


async def test_each_activity_twice_leaves_the_same_rows(database_url: str) -> None:
    activities = {{ cookiecutter.workflow_name }}ActivitiesImpl(database_url)
    env = ActivityEnvironment()
    item: {{ cookiecutter.workflow_name }}Dict = {
        "name": "Kim",
        "surname": "Kardashian",
        "known_for": "business",
    }

    first_id = await env.run(activities.upsert, item)
    after_first = table_rows(database_url)
    second_id = await env.run(activities.upsert, item)
    assert second_id == first_id
    assert table_rows(database_url) == after_first == [(first_id, "Kim", "Kardashian", "business")]

    first_count = await env.run(activities.count_family, "Kardashian")
    second_count = await env.run(activities.count_family, "Kardashian")
    assert first_count == second_count == 1
    assert table_rows(database_url) == after_first


async def test_upsert_updates_in_place_instead_of_duplicating(database_url: str) -> None:
    activities = {{ cookiecutter.workflow_name }}ActivitiesImpl(database_url)
    env = ActivityEnvironment()
    row_id = await env.run(
        activities.upsert,
        {"name": "Kim", "surname": "Kardashian", "known_for": "old"},
    )
    same_id = await env.run(
        activities.upsert,
        {"name": "Kim", "surname": "Kardashian", "known_for": "new"},
    )
    assert same_id == row_id
    assert table_rows(database_url) == [(row_id, "Kim", "Kardashian", "new")]


async def test_whole_workflow_twice_leaves_the_same_rows(
    client: Client, database_url: str, task_queue: str
) -> None:
    workflow_input = example_input()
    members = workflow_input["members"]
    expected_family = sum(m["surname"] == workflow_input["family"] for m in members)
    async with running(service_worker(client, database_url, task_queue)):
        results, snapshots = [], []
        for _ in range(2):
            results.append(
                await client.execute_workflow(
                    {{ cookiecutter.workflow_name }}Workflow.run,
                    workflow_input,
                    id=f"twice-{uuid.uuid4()}",
                    task_queue=task_queue,
                )
            )
            snapshots.append(table_rows(database_url))
    assert results[0] == {"upserted": len(members), "family_size": expected_family}
    assert results[1] == results[0]
    assert len(snapshots[0]) == len(members)
    assert snapshots[1] == snapshots[0]
