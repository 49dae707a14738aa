"""The same input started twice runs once: joined while running, not rerun once complete."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.client import Client

from {{ cookiecutter.package_name }}.temporal.runs import start

from .helpers import result_within, serving, stored, temporal_cli
from .module_under_test import MODULE


def unique_input() -> dict[str, Any]:
    """An input no other test uses, so its derived workflow id is fresh."""
    return {"key_range": {"first": uuid.uuid4().int % 10**12, "count": 30}}


async def test_concurrent_starts_join_one_run(client: Client, task_queue: str) -> None:
    # No worker yet: both starts meet a run that is still going.
    job = unique_input()
    first, second = await asyncio.gather(
        start(client, MODULE, job, task_queue=task_queue),
        start(client, MODULE, job, task_queue=task_queue),
    )
    assert first.id == second.id
    assert first.result_run_id == second.result_run_id
    await first.terminate("test done")


async def test_a_completed_run_is_not_run_again(
    client: Client, database_url: str, task_queue: str
) -> None:
    job = unique_input()
    async with serving(client, database_url, task_queue):
        first = await start(client, MODULE, job, task_queue=task_queue)
        result = await result_within(first)
        rows = stored(database_url)
        again = await start(client, MODULE, job, task_queue=task_queue)
        assert await result_within(again) == result
    assert (await again.describe()).run_id == first.result_run_id  # the same, only run
    assert stored(database_url) == rows


async def test_another_client_gets_the_running_run_not_a_second(
    client: Client, task_queue: str
) -> None:
    handle = await start(client, MODULE, unique_input(), task_queue=task_queue)  # stays running
    address = client.service_client.config.target_host
    again = temporal_cli(
        address, "workflow", "start", "--workflow-id", handle.id, "--id-conflict-policy", "Fail",
        "--type", MODULE.workflow_type, "--task-queue", task_queue,
    )  # fmt: skip
    await handle.terminate("test done")
    # The server answers a start for a running id with that run, whatever the policy.
    assert again.returncode == 0, again.stderr
    assert f"RunId       {handle.result_run_id}" in again.stdout
