"""Progress: counts that move with every batch, drawn as a live bar or as plain lines,
and the same story in the Web UI (summaries and current details)."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import uuid
from typing import Any, cast

import pytest
from rich.console import Console
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client
from temporalio.converter import PayloadConverter
from temporalio.service import RPCError
from temporalio.worker import Worker

from {{ cookiecutter.package_name }} import logs
from {{ cookiecutter.package_name }}.progress import LINE_EVERY_SECONDS, LiveBar, PlainLines
from {{ cookiecutter.package_name }}.temporal import runs
from {{ cookiecutter.package_name }}.temporal.fanout import JobResult, job_size
from {{ cookiecutter.package_name }}.temporal.worker import SANDBOX, running

from .helpers import assert_eventually, events, result_within, serving
from .module_under_test import NAME, WORKFLOWS, Job, Workflow

# Three children of 20 items, each in two batches of 10, and two children to a run of
# the parent: a run in children that continues as new, as the guide's million does.
IN_CHILDREN: Job = {
    "key_range": {"first": 1, "count": 60},
    "batch_size": 10,
    "max_activities_per_run": 2,
}
TOTAL, BATCH, CHILD_SIZE = 60, 10, 20
# How long one step may take: a batch let go, its count seen. Milliseconds when it works;
# a count that never moves (no running children listed) fails here instead of hanging.
STEP_TIMEOUT = 15.0


class PacedUpserts:
    """The module's upsert activity under its real name, each batch held until the test
    lets it go, so the test and not the machine's speed decides when counts move.

    It writes nothing: progress counts what the batches return, not rows.
    """

    def __init__(self) -> None:
        self.waiting: asyncio.Queue[asyncio.Event] = asyncio.Queue()

    @activity.defn(name=f"{NAME}Activities.upsert")
    async def upsert(self, batch: Job) -> int:
        go = asyncio.Event()
        self.waiting.put_nowait(go)
        await go.wait()
        return job_size(batch)

    async def let_one_batch_go(self) -> None:
        go = await asyncio.wait_for(self.waiting.get(), timeout=STEP_TIMEOUT)
        go.set()


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


def test_bytes_of_an_unknown_total_are_counted_without_one() -> None:
    # A gzipped source's size says nothing of the bytes it stages: no total, no percent.
    clock = FakeClock()
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    bar = LiveBar(console, clock=clock, auto_refresh=False)
    stream = io.StringIO()
    lines = PlainLines(stream, clock=clock)
    for second in range(0, 61, 10):  # 1,000 bytes a second
        bar.update(1_000 * second, None, "bytes staged")
        lines.update(1_000 * second, None, "bytes staged")
        clock.now += 10
    at_60s = bar.line()
    bar.finish()
    assert "60,000 bytes staged" in at_60s
    assert "/" not in at_60s.split("bytes/s")[0]
    assert "%" not in at_60s
    assert stream.getvalue().splitlines() == [
        "progress: 0 bytes staged, 0s elapsed",
        "progress: 30,000 bytes staged, 1,000 bytes/s, 30s elapsed",
        "progress: 60,000 bytes staged, 1,000 bytes/s, 60s elapsed",
    ]


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
    client: Client, task_queue: str
) -> None:
    paced = PacedUpserts()
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[paced.upsert],
        workflow_runner=SANDBOX,
        # One batch at a time: each is held only while the test reads the count before it.
        max_concurrent_activities=1,
    )
    workflow_id = f"progress-{uuid.uuid4()}"
    seen: list[int] = []

    async def count_is(expected: int) -> bool:
        try:
            progress = await runs.read_progress(client, workflow_id)
        except RPCError:  # not started yet, or between two runs of the parent
            return False
        assert progress["total"] == TOTAL
        seen.append(progress["done"])
        assert progress["done"] <= expected, f"more counted than let go: {seen}"
        return progress["done"] == expected

    async with running([worker]):
        handle = await client.start_workflow(
            Workflow.run, IN_CHILDREN, id=workflow_id, task_queue=task_queue
        )
        for done in range(BATCH, TOTAL + 1, BATCH):
            await paced.let_one_batch_go()
            step = f"progress at {done} of {TOTAL} items once {done // BATCH} batches are let go"
            await assert_eventually(step, functools.partial(count_is, done), STEP_TIMEOUT)
        assert (await result_within(handle))["upserted"] == TOTAL
        final = await runs.read_progress(client, workflow_id)
    assert final == {"done": TOTAL, "total": TOTAL, "children": []}
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    # Between whole children: counts that only the running children's batches give.
    assert [done for done in seen if done % CHILD_SIZE], seen


class RecordedDisplay:
    """What a progress display was asked to show, in order."""

    def __init__(self) -> None:
        self.shown: list[tuple[int, int | None, str]] = []

    def update(self, done: int, total: int | None, unit: str = "items") -> None:
        self.shown.append((done, total, unit))

    def finish(self) -> None:
        """Nothing to close."""


async def test_a_load_shows_its_bytes_then_nothing_until_its_merge_is_planned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Between its stage and its plan a load counts 0 of 0, which a display draws as 100 %.
    # The answers are the workflow's, one a poll: a gzipped source's bytes (its size
    # unknown), the stage over, then the plan. No poll waits for a clock.
    staging: list[dict[str, Any] | None] = [{"bytes": 500, "size": None}, None, None]
    answers = [{"done": 0, "total": 0}] * 3 + [{"done": 4, "total": 10}]
    result: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()

    async def read_progress(client: Client, workflow_id: str) -> dict[str, Any]:
        answer = answers.pop(0)
        if not answers:
            result.set_result({"upserted": 10})
        return answer

    async def read_staging(client: Client, workflow_id: str) -> dict[str, Any] | None:
        return staging.pop(0)

    monkeypatch.setattr(runs, "read_progress", read_progress)
    monkeypatch.setattr(runs, "read_staging", read_staging)
    monkeypatch.setattr(runs, "PROGRESS_POLL_SECONDS", 0.0)
    display = RecordedDisplay()
    await runs.show_progress_until_done(cast(Client, None), "a-load", result, display)
    assert (answers, staging) == ([], [])
    assert display.shown == [(500, None, "bytes staged"), (4, 10, "items"), (10, 10, "items")]


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
