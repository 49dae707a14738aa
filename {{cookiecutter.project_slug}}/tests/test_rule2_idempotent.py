"""Rule 2: activities are idempotent upserts; running anything twice changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from {{ cookiecutter.package_name }}.db import Database

from .helpers import example_input, records, result_within, serving, stored
from .module_under_test import FIELDS, ActivitiesImpl, Job, Workflow


async def test_each_batch_twice_leaves_the_same_rows(database_url: str) -> None:
    activities = ActivitiesImpl(Database(database_url))
    batch: Job = {"records": records(1, 2, 3)}

    assert await ActivityEnvironment().run(activities.upsert, batch) == 3
    after_first = stored(database_url)
    assert await ActivityEnvironment().run(activities.upsert, batch) == 3
    assert stored(database_url) == after_first
    assert [{k: v for k, v in row.items() if k != "id"} for row in after_first] == batch["records"]


async def test_upsert_updates_in_place_instead_of_duplicating(database_url: str) -> None:
    activities = ActivitiesImpl(Database(database_url))
    [first, second] = records(1, 2)
    # Another record's data under the same key (the same record when every field is key).
    changed: Any = {**second, **{name: first[name] for name in FIELDS.key}}

    await ActivityEnvironment().run(activities.upsert, {"records": [first]})
    [before] = stored(database_url)
    await ActivityEnvironment().run(activities.upsert, {"records": [changed]})
    assert stored(database_url) == [{"id": before["id"], **changed}]


async def test_a_batch_naming_a_key_twice_upserts_its_last_record_once(database_url: str) -> None:
    # As a row per record would: the last record with a key wins, in the first's place.
    activities = ActivitiesImpl(Database(database_url))
    [first, second] = records(1, 2)
    again: Any = {**second, **{name: first[name] for name in FIELDS.key}}

    batch: Job = {"records": [first, second, again]}
    assert await ActivityEnvironment().run(activities.upsert, batch) == 3
    assert [{k: v for k, v in row.items() if k != "id"} for row in stored(database_url)] == [
        again,
        second,
    ]


async def test_whole_workflow_twice_leaves_the_same_rows(
    client: Client, database_url: str, task_queue: str
) -> None:
    job = example_input()
    async with serving(client, database_url, task_queue):
        results, snapshots = [], []
        for _ in range(2):
            handle = await client.start_workflow(
                Workflow.run, job, id=f"twice-{uuid.uuid4()}", task_queue=task_queue
            )
            results.append(await result_within(handle))
            snapshots.append(stored(database_url))
    assert results == [{"upserted": len(job["records"])}] * 2
    assert len(snapshots[0]) == len(job["records"])
    assert snapshots[1] == snapshots[0]
