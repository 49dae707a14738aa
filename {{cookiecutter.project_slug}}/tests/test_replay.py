"""The replay guard: today's workflow code must replay the histories of earlier runs.

A worker that picks up a running workflow after a deploy replays its history with the
new code. If the new code makes other decisions (a timer added, activities in another
order), that workflow fails with a non-determinism error, in production. Here every
history in ``tests/histories/`` is replayed first, so such a change fails this test,
naming the history and the event. ``make histories`` (the ``record-history`` command)
records them; docs/changing-workflows.md says when to record anew and when to use
``workflow.patched()`` instead.

A history recorded from a run with PAYLOAD_ENCRYPTION_KEYS holds ciphertext. The
guard opens it with the test keys of tests/sealing.py, so record such histories
with those keys, never with a production key the repository would then need.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, WorkflowReplayResult

from {{ cookiecutter.package_name }} import registry
from {{ cookiecutter.package_name }}.temporal.encryption import ENCODING, parse_keys, with_encryption
from {{ cookiecutter.package_name }}.temporal.fanout import (
    BATCH_SIZE,
    EVEN_MERGES_PATCH,
    KEY_RANGE_BATCH_SIZE,
    STAGED_MERGES_IN_FLIGHT,
)
from {{ cookiecutter.package_name }}.temporal.histories import (
    case_file,
    fetch,
    stored_payloads,
    write,
)
from {{ cookiecutter.package_name }}.temporal.inputs import InputChecks
from {{ cookiecutter.package_name }}.temporal.payloads import DATA_CONVERTER
from {{ cookiecutter.package_name }}.temporal.worker import SANDBOX

from .helpers import (
    PROJECT_ROOT,
    StubUpserts,
    events,
    example_input,
    result_within,
    scheduled_activity_names,
    serving,
    serving_stubs,
)
from .helpers.sources import csv_text
from .module_under_test import NAME, Job, Workflow
from .sealing import TEST_KEYS, keyed, plaintext_needles, shown_in

HISTORIES = sorted((PROJECT_ROOT / "tests" / "histories").glob("*.json"))
# What the guard replays with: the service's converter, opening payloads sealed with
# the test keys (unsealed ones pass through it as they are).
GUARD_CONVERTER = with_encryption(DATA_CONVERTER, parse_keys(TEST_KEYS))


def recorded(path: Path) -> WorkflowHistory:
    events = json.loads(path.read_text(encoding="utf-8"))
    started = events["events"][0]["workflowExecutionStartedEventAttributes"]
    return WorkflowHistory.from_json(started.get("workflowId", path.stem), events)


def test_every_module_has_its_recorded_histories() -> None:
    for module in registry.load():
        for case in ("small", "fan_out"):
            assert (PROJECT_ROOT / case_file(module, case)).is_file(), (module.name, case)


async def replay(
    history: WorkflowHistory, converter: DataConverter = GUARD_CONVERTER
) -> WorkflowReplayResult:
    # As the worker runs workflows: every module's Impls, in the sandbox, with the
    # service's converter and input checks.
    replayer = Replayer(
        workflows=[workflow for module in registry.load() for workflow in module.workflows],
        workflow_runner=SANDBOX,
        data_converter=converter,
        interceptors=[InputChecks()],
    )
    return await replayer.replay_workflow(history, raise_on_replay_failure=False)


@pytest.mark.parametrize("path", HISTORIES, ids=[path.name for path in HISTORIES])
async def test_todays_code_replays_the_recorded_history(path: Path) -> None:
    result = await replay(recorded(path))
    if result.replay_failure is not None:
        # The SDK's message names the event, e.g. "[TMPRL1100] Nondeterminism error:
        # Timer machine does not handle this event: HistoryEvent(id: 5, ...)".
        said = str(result.replay_failure)
        message = re.search(r'message: "([^"]*)"', said)
        reason = message.group(1) if message else said
        pytest.fail(f"{path.name} no longer replays: {reason}", pytrace=False)


async def test_a_history_sealed_with_the_test_keys_is_recorded_sealed_and_replays(
    client: Client, task_queue: str, tmp_path: Path
) -> None:
    sealed = await keyed(client, TEST_KEYS)
    job = example_input()
    async with serving_stubs(sealed, task_queue, StubUpserts()):
        handle = await sealed.start_workflow(
            Workflow.run, job, id=f"sealed-history-{uuid.uuid4()}", task_queue=task_queue
        )
        await result_within(handle)
    # As record-history writes it: the file holds ciphertext, as the server does.
    path = write(await fetch(sealed, handle.id), tmp_path / "sealed.json")
    history = recorded(path)
    held = stored_payloads([history])
    assert {payload.metadata["encoding"] for payload in held} == {ENCODING}
    assert [needle for needle in plaintext_needles(job) if shown_in(needle, held)] == []
    assert (await replay(history)).replay_failure is None
    # Without the test keys, the same history cannot be replayed at all.
    assert (await replay(history, DATA_CONVERTER)).replay_failure is not None


async def before_and_after_a_patch(
    client: Client,
    task_queue: str,
    job: Job,
    serve: Callable[[], AbstractAsyncContextManager[None]],
    patched_before: Callable[[str], bool],
    monkeypatch: pytest.MonkeyPatch,
) -> list[WorkflowHistory]:
    """``job``'s history as the code before a patch ran it (``patched_before`` answering
    ``workflow.patched``: that code asked nothing), then its history on today's code."""
    histories = []
    for before in (True, False):
        if before:
            monkeypatch.setattr(workflow, "patched", patched_before)
        async with serve():
            handle = await client.start_workflow(
                Workflow.run, job, id=f"before-patch-{uuid.uuid4()}", task_queue=task_queue
            )
            await result_within(handle)
        monkeypatch.undo()
        histories.append(await handle.fetch_history())
    return histories


async def test_a_key_range_run_from_before_its_bigger_batches_replays_as_it_ran(
    client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before KEY_RANGE_BATCH_SIZE every job went in batches of BATCH_SIZE. A run begun
    # then must replay on today's code, which the patch in fanout.py makes it do.
    job: Job = {"key_range": {"first": 1, "count": KEY_RANGE_BATCH_SIZE + 1}}
    serve = partial(serving_stubs, client, task_queue, StubUpserts())
    histories = await before_and_after_a_patch(
        client, task_queue, job, serve, lambda patch_id: False, monkeypatch
    )
    scheduled = [
        len(events([history], EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED))
        for history in histories
    ]
    assert scheduled == [-(-(KEY_RANGE_BATCH_SIZE + 1) // BATCH_SIZE), 2]
    for history in histories:
        assert (await replay(history)).replay_failure is None


async def test_a_load_from_before_its_even_merges_replays_as_it_ran(
    client: Client,
    database_url: str,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before staged_batch_size a load merged 50,000 rows at a time, so six rows in one
    # merge; today they go in one merge for each of the load's merges at once.
    path = tmp_path / "six.csv"
    path.write_text(csv_text(range(1, 7)), encoding="utf-8")
    job: Job = {"source": {"url": path.as_uri()}}
    patched = workflow.patched

    def before_the_patch(patch_id: str) -> bool:  # the patches before it stay as they are
        return patch_id != EVEN_MERGES_PATCH and patched(patch_id)

    serve = partial(serving, client, database_url, task_queue)
    histories = await before_and_after_a_patch(
        client, task_queue, job, serve, before_the_patch, monkeypatch
    )
    merges = [
        scheduled_activity_names([history]).count(f"{NAME}Activities.merge")
        for history in histories
    ]
    assert merges == [1, STAGED_MERGES_IN_FLIGHT]
    for history in histories:
        assert (await replay(history)).replay_failure is None
