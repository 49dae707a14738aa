"""Logs: readable text by default; with ``LOG_FORMAT=json``, one JSON object per line,
carrying the workflow id, run id and activity type where there is one."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from temporalio import activity, workflow
from temporalio.client import Client

from {{ cookiecutter.package_name }} import cli, logs

from .helpers import example_input, free_port, result_within, run_cli, service_env, serving
from .module_under_test import MODULE, Workflow


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record of the test, at DEBUG, as JSON lines in a buffer."""
    buffer = io.StringIO()
    handler = logs.json_handler(buffer)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        workflow.logger.workflow_info_on_message = True
        activity.logger.activity_info_on_message = True


async def test_json_lines_carry_the_workflow_and_the_activity(
    client: Client, database_url: str, task_queue: str, json_lines: io.StringIO
) -> None:
    async with serving(client, database_url, task_queue):
        handle = await client.start_workflow(
            Workflow.run, example_input(), id=f"logs-{uuid.uuid4()}", task_queue=task_queue
        )
        await result_within(handle)
    count = len(example_input()["records"])
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    ours = [line for line in lines if line.get("workflow_id") == handle.id]
    in_workflow = [line for line in ours if "activity_type" not in line]
    in_activity = [line for line in ours if "activity_type" in line]
    assert in_workflow, lines
    assert all(line["run_id"] == handle.result_run_id for line in ours)
    assert {line["workflow_type"] for line in ours} == {MODULE.workflow_type}
    assert in_workflow[-1]["message"] == f"upserted {count} items"
    # The SDK's own lines ("Starting activity") carry the context too; this is ours.
    [activity_line] = [
        line for line in in_activity if line["message"] == f"upserted {count} records"
    ]
    assert activity_line["activity_type"].endswith("Activities.upsert")
    assert activity_line["level"] == "DEBUG"
    assert {"time", "logger", "attempt", "task_queue"} <= set(activity_line)


def test_the_command_line_writes_json_lines_when_asked() -> None:
    url = f"postgresql://app@127.0.0.1:{free_port()}/app"
    env = service_env("", url) | {"LOG_FORMAT": "json"}
    as_json = run_cli("init-db", "--attempts", "1", env=env)
    [line] = [json.loads(text) for text in as_json.stderr.splitlines() if text.startswith("{")]
    assert line["level"] == "WARNING"
    assert "not reachable (attempt 1 of 1)" in line["message"]


def test_an_unknown_log_format_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "yaml")
    assert cli.run_command(["init-db"]) == 2
    assert "LOG_FORMAT='yaml' is invalid: must be one of text, json" in capsys.readouterr().err


def test_a_text_line_ends_with_its_workflow_in_brackets() -> None:
    buffer = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logs.configure_logging("INFO", "text", stream=buffer)
    try:
        details = {"workflow_id": "wf-1", "run_id": "r-1", "activity_type": "X.upsert"}
        logging.getLogger("test").info("upserted %d", 3, extra={"temporal_activity": details})
        logging.getLogger("test").info("no workflow here")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        workflow.logger.workflow_info_on_message = True
        activity.logger.activity_info_on_message = True
    first, second = buffer.getvalue().splitlines()
    assert first.endswith(" INFO test: upserted 3 [X.upsert, wf-1]")
    assert second.endswith(" INFO test: no workflow here")
