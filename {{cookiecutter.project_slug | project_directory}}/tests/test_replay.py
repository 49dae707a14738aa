"""The replay guard: today's workflow code must replay the histories of earlier runs.

A worker that picks up a running workflow after a deploy replays its history with the
new code. If the new code makes other decisions (a timer added, activities in another
order), that workflow fails with a non-determinism error, in production. Here every
history in ``tests/histories/`` is replayed first, so such a change fails this test,
naming the history and the event. ``make histories`` (the ``record-history`` command)
records them; the README says when to record anew and when to use
``workflow.patched()`` instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from {{ cookiecutter.package_name }} import registry
from {{ cookiecutter.package_name }}.temporal.histories import case_file
from {{ cookiecutter.package_name }}.temporal.inputs import InputChecks
from {{ cookiecutter.package_name }}.temporal.payloads import DATA_CONVERTER
from {{ cookiecutter.package_name }}.temporal.worker import SANDBOX

from .helpers import PROJECT_ROOT

HISTORIES = sorted((PROJECT_ROOT / "tests" / "histories").glob("*.json"))


def recorded(path: Path) -> WorkflowHistory:
    events = json.loads(path.read_text(encoding="utf-8"))
    started = events["events"][0]["workflowExecutionStartedEventAttributes"]
    return WorkflowHistory.from_json(started.get("workflowId", path.stem), events)


def test_every_module_has_its_recorded_histories() -> None:
    for module in registry.load():
        for case in ("small", "fan-out"):
            assert (PROJECT_ROOT / case_file(module, case)).is_file(), (module.name, case)


@pytest.mark.parametrize("path", HISTORIES, ids=[path.name for path in HISTORIES])
async def test_todays_code_replays_the_recorded_history(path: Path) -> None:
    # As the worker runs workflows: every module's Impls, in the sandbox, with the
    # service's converter and input checks.
    replayer = Replayer(
        workflows=[workflow for module in registry.load() for workflow in module.workflows],
        workflow_runner=SANDBOX,
        data_converter=DATA_CONVERTER,
        interceptors=[InputChecks()],
    )
    result = await replayer.replay_workflow(recorded(path), raise_on_replay_failure=False)
    if result.replay_failure is not None:
        # The SDK's message names the event, e.g. "[TMPRL1100] Nondeterminism error:
        # Timer machine does not handle this event: HistoryEvent(id: 5, ...)".
        said = str(result.replay_failure)
        message = re.search(r'message: "([^"]*)"', said)
        reason = message.group(1) if message else said
        pytest.fail(f"{path.name} no longer replays: {reason}", pytrace=False)
