"""Progress: counts that move with every batch, drawn as a live bar or as plain lines,
and the same story in the Web UI (summaries and current details)."""

from __future__ import annotations

import asyncio
import io
import logging
import uuid

from rich.console import Console
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client
from temporalio.converter import PayloadConverter
from temporalio.service import RPCError

from {{ cookiecutter.package_name }} import logs
from {{ cookiecutter.package_name }}.progress import LINE_EVERY_SECONDS, LiveBar, PlainLines
from {{ cookiecutter.package_name }}.temporal import runs

from .helpers import events, result_within, serving
from .module_under_test import Job, Workflow

# Ten children of 300 items, each in 30 batches of 10: a run in children, as the
# guide's million is, small enough for a test and long enough to watch.
IN_CHILDREN: Job = {
    "key_range": {"first": 1, "count": 3_000},
    "batch_size": 10,
    "max_activities_per_run": 30,
}
CHILD_SIZE = 300


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_keeps_moving_while_the_count_waits() -> None:
    clock = FakeClock()
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    bar = LiveBar(console, clock=clock, auto_refresh=False)
    bar.update(0, 2_506)
    for second in range(1, 11):  # 50 items a second for 10 s
        clock.now += 1
        bar.update(50 * second, 2_506)
    at_10s = bar.line()
    clock.now += 5  # no new count: the elapsed time and the ETA must still move
    at_15s = bar.line()
    bar.finish()
    assert at_10s != at_15s
    assert "500/2,506 items" in at_10s
    assert "20%" in at_10s
    assert "50 items/s" in at_10s
    assert "0:00:10" in at_10s
    assert "ETA 0:00:41" in at_10s  # 2,006 items left at 50 a second
    assert "0:00:15" in at_15s
    assert "ETA 0:00:36" in at_15s


def test_the_bar_ends_full() -> None:
    clock = FakeClock()
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    bar = LiveBar(console, clock=clock, auto_refresh=False)
    bar.update(0, 1_000)
    clock.now += 4
    bar.update(1_000, 1_000)
    bar.finish()
    assert "1,000/1,000 items" in bar.line()
    assert "100%" in bar.line()


def test_a_pipe_gets_a_line_per_tenth_and_no_repeats() -> None:
    stream = io.StringIO()
    clock = FakeClock()
    lines = PlainLines(stream, clock=clock)
    for done in range(0, 1001, 25):
        clock.now += 0.5
        lines.update(done, 1000)
    lines.update(1000, 1000)
    printed = stream.getvalue().splitlines()
    assert len(printed) == 11  # 0 %, 10 %, ... 100 %, each once
    assert printed[0].startswith("progress: 0/1,000 items (0%)")
    assert printed[-1].startswith("progress: 1,000/1,000 items (100%), 50 items/s, 20s elapsed")
    assert "\r" not in stream.getvalue()


def test_a_pipe_gets_a_line_every_30_seconds_when_the_tenths_are_slow() -> None:
    stream = io.StringIO()
    clock = FakeClock()
    lines = PlainLines(stream, clock=clock)
    lines.update(0, 1_000_000)
    for second in range(1, 91):  # 1,000 items a second: 9 % in 90 s
        clock.now += 1
        lines.update(1_000 * second, 1_000_000)
    printed = stream.getvalue().splitlines()
    assert LINE_EVERY_SECONDS == 30
    assert len(printed) == 4  # at 0 s, 30 s, 60 s and 90 s
    assert printed[1] == (
        "progress: 30,000/1,000,000 items (3%), 1,000 items/s, 30s elapsed, ETA 970s"
    )


async def test_progress_moves_with_every_batch_not_every_child(
    client: Client, database_url: str, task_queue: str
) -> None:
    seen: list[int] = []
    async with serving(client, database_url, task_queue):
        handle = await client.start_workflow(
            Workflow.run, IN_CHILDREN, id=f"progress-{uuid.uuid4()}", task_queue=task_queue
        )
        result = asyncio.ensure_future(result_within(handle))
        while not result.done():
            try:
                progress = await runs.read_progress(client, handle.id)
            except RPCError:  # not started yet, or between runs
                pass
            else:
                assert progress["total"] == 3_000
                assert 0 <= progress["done"] <= 3_000
                seen.append(progress["done"])
            await asyncio.wait({result}, timeout=0.02)
        assert (await result)["upserted"] == 3_000
    distinct = set(seen)
    assert len(distinct) >= 10, f"progress seen only as {sorted(distinct)}"
    # Between whole children: counts that only the running children's batches give.
    assert any(done % CHILD_SIZE for done in distinct), sorted(distinct)


async def test_the_web_ui_tells_the_same_story(
    client: Client, database_url: str, task_queue: str
) -> None:
    # Children of 20 items in batches of 10; two children per parent run, so three
    # children take two runs of the parent.
    job: Job = {
        "key_range": {"first": 1, "count": 50},
        "batch_size": 10,
        "max_activities_per_run": 2,
    }
    async with serving(client, database_url, task_queue):
        handle = await client.start_workflow(
            Workflow.run, job, id=f"summaries-{uuid.uuid4()}", task_queue=task_queue
        )
        await result_within(handle)
        # The Web UI reads a workflow's current details with this built-in query.
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        children = [client.get_workflow_handle(f"{handle.id}/items-{n}") for n in (0, 20, 40)]
        summaries = [await (await child.describe()).static_summary() for child in children]
        first_child = children[0]
        assert first_child.run_id is None
        history = await first_child.fetch_history()
    assert metadata.current_details.startswith("50 of 50 items (100%), ")
    assert summaries == ["items 1 to 20 of 50", "items 21 to 40 of 50", "items 41 to 50 of 50"]
    scheduled = events([history], EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    converter = PayloadConverter.default
    activity_summaries = [converter.from_payload(e.user_metadata.summary, str) for e in scheduled]
    assert activity_summaries == ["batch 1 of 2: items 1 to 10", "batch 2 of 2: items 11 to 20"]


def test_logs_on_a_terminal_fit_an_80_column_window() -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=80, force_terminal=True, color_system=None)
    logger = logging.getLogger("{{ cookiecutter.package_name }}.temporal.worker")
    handler = logs.terminal_log_handler(console)
    logger.addHandler(handler)
    try:
        logger.warning("worker polling %s; Ctrl-C or SIGTERM to stop", "q" * 120)
    finally:
        logger.removeHandler(handler)
    lines = screen.getvalue().splitlines()
    assert len(lines) > 1  # wrapped, not cut
    assert all(len(line) <= 80 for line in lines)
    assert "WARNING" in lines[0]
    assert "worker: worker polling" in lines[0]
    assert "{{ cookiecutter.package_name }}" not in screen.getvalue()
