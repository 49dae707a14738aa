"""Schedules declared with the module: applied safely again and again, on the real server.

Each test declares schedules of its own, under ids and an owner of its own, so that
``apply`` (which deletes what its owner no longer declares) touches nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionResult,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleState,
    WorkflowExecutionStatus,
)

from {{ cookiecutter.package_name }} import config, registry
from {{ cookiecutter.package_name }}.temporal.encryption import KEYS_VARIABLE, sealing_key_of
from {{ cookiecutter.package_name }}.temporal.module import WorkflowModule
from {{ cookiecutter.package_name }}.temporal.scheduled_job import ScheduledJob
from {{ cookiecutter.package_name }}.temporal.schedules import (
    OWNER,
    Declared,
    ScheduleDeclarationError,
    ScheduleOwnershipError,
    ScheduleUnreadableError,
    apply,
    declared,
    describe,
    job_payloads,
    problems,
    schedule_of,
    summary,
)

from .helpers import (
    StubUpserts,
    assert_eventually,
    example_input,
    expect_every_row_once,
    run_cli,
    service_env,
    serving,
    serving_stubs,
)
from .module_under_test import MODULE, Job
from .sealing import NEW, OLD, OTHER, keyed

HOUR = timedelta(hours=1)


def scheduled(name: str, **settings: Any) -> ScheduledJob[Job]:
    """A paused hourly schedule of the example job, unless ``settings`` say otherwise."""
    fields: dict[str, Any] = {"job": example_input(), "every": HOUR, "paused": True}
    return ScheduledJob(id=f"test-{name}-{uuid.uuid4().hex[:8]}", **(fields | settings))


def module_with(*schedules: ScheduledJob[Any]) -> list[WorkflowModule]:
    return [dataclasses.replace(MODULE, schedules=schedules)]


@pytest_asyncio.fixture
async def owner(client: Client) -> AsyncIterator[str]:
    """An owner of this test's own; its schedules are deleted after it."""
    name = f"test-owner-{uuid.uuid4().hex[:8]}"
    yield name
    await apply(client, module_with(), owner=name)


async def applied(
    client: Client, owner: str, task_queue: str, *schedules: ScheduledJob[Any]
) -> list[str]:
    changes = await apply(client, module_with(*schedules), owner=owner, task_queue=task_queue)
    return [f"{change.what} {change.schedule_id}" for change in changes]


async def test_apply_twice_changes_nothing_the_second_time_and_says_so(
    client: Client, owner: str, task_queue: str
) -> None:
    hourly, daily = scheduled("hourly"), scheduled("daily", every=None, cron="0 6 * * *")
    assert await applied(client, owner, task_queue, hourly, daily) == [
        f"created {hourly.id}",
        f"created {daily.id}",
    ]
    changes = await apply(client, module_with(hourly, daily), owner=owner, task_queue=task_queue)
    assert [change.what for change in changes] == ["unchanged", "unchanged"]
    assert summary(changes) == "2 schedules: nothing to change"
    for one in (hourly, daily):
        description = await describe(client, one.id)
        assert description is not None and description.schedule.state.paused
        assert (await description.memo())[OWNER] == owner


async def test_a_changed_spec_is_updated_and_a_persons_unpause_is_kept(
    client: Client, owner: str, task_queue: str
) -> None:
    hourly = scheduled("changing")
    await applied(client, owner, task_queue, hourly)
    await client.get_schedule_handle(hourly.id).unpause()
    every_two_hours = dataclasses.replace(hourly, every=2 * HOUR)
    assert await applied(client, owner, task_queue, every_two_hours) == [f"updated {hourly.id}"]
    description = await describe(client, hourly.id)
    assert description is not None
    assert [spec.every for spec in description.schedule.spec.intervals] == [2 * HOUR]
    # Paused when created; unpaused since by a person, which apply leaves as it is.
    assert not description.schedule.state.paused


async def test_a_schedule_every_second_starts_runs_that_upsert_each_row_once(
    client: Client, owner: str, task_queue: str, database_url: str
) -> None:
    every_second = scheduled("every-second", every=timedelta(seconds=1), paused=False)
    async with serving(client, database_url, task_queue):
        await applied(client, owner, task_queue, every_second)

        async def two_completed() -> bool:
            return len(await finished_runs(client, every_second.id)) >= 2

        await assert_eventually("two scheduled runs completed", two_completed)
        await client.get_schedule_handle(every_second.id).pause()
        await assert_eventually(
            "no run left running", lambda: none_running(client, every_second.id)
        )
    expect_every_row_once(database_url, len(every_second.job["records"]))


async def test_skip_never_runs_two_at_once_even_when_a_run_outlasts_the_interval(
    client: Client, owner: str, task_queue: str
) -> None:
    # Each run waits for the gate, so it lasts as long as this test says: many seconds.
    gate = asyncio.Event()
    every_second = scheduled("overlap", every=timedelta(seconds=1), paused=False)
    async with serving_stubs(client, task_queue, StubUpserts(gate)):
        await applied(client, owner, task_queue, every_second)

        async def skipped_twice() -> bool:
            description = await describe(client, every_second.id)
            return description is not None and description.info.num_actions_skipped_overlap >= 2

        await assert_eventually("two times skipped while the first run goes on", skipped_twice)
        description = await describe(client, every_second.id)
        assert description is not None
        assert (description.info.num_actions, len(description.info.running_actions)) == (1, 1)
        await client.get_schedule_handle(every_second.id).pause()
        gate.set()
        await assert_eventually(
            "no run left running", lambda: none_running(client, every_second.id)
        )
    # The histories agree: each run closed before the next began.
    description = await describe(client, every_second.id)
    assert description is not None and description.info.recent_actions
    spans = sorted([await run_span(client, action) for action in description.info.recent_actions])
    for (_, closed), (started, _) in itertools.pairwise(spans):
        assert closed <= started


async def test_schedules_the_service_does_not_own_survive_and_its_stale_ones_go(
    client: Client, owner: str, task_queue: str
) -> None:
    kept, stale = scheduled("kept"), scheduled("stale")
    foreign = [f"test-foreign-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for schedule_id, memo in zip(foreign, (None, {OWNER: "another-service"}), strict=True):
        await client.create_schedule(schedule_id, foreign_schedule(task_queue), memo=memo)
    await applied(client, owner, task_queue, kept, stale)

    # The list apply deletes from is eventually consistent: wait until it shows both.
    async def listed() -> bool:
        ids = [entry.id async for entry in await client.list_schedules()]
        return {kept.id, stale.id, *foreign} <= set(ids)

    await assert_eventually("the new schedules listed", listed)
    assert await applied(client, owner, task_queue, kept) == [
        f"unchanged {kept.id}",
        f"deleted {stale.id}",
    ]
    assert await describe(client, stale.id) is None
    for schedule_id in foreign:
        assert await describe(client, schedule_id) is not None
    # Declaring another's id is refused, and changes nothing.
    taken = dataclasses.replace(kept, id=foreign[1])
    with pytest.raises(ScheduleOwnershipError, match="was not made by"):
        await applied(client, owner, task_queue, dataclasses.replace(kept, every=2 * HOUR), taken)
    description = await describe(client, kept.id)
    assert description is not None
    assert [spec.every for spec in description.schedule.spec.intervals] == [HOUR]
    for schedule_id in foreign:
        await client.get_schedule_handle(schedule_id).delete()


async def sealing_of(client: Client, schedule_id: str) -> tuple[set[str | None], str | None]:
    """The keys a schedule's job and fingerprint are sealed with, and its owner's mark's
    (None: plaintext), as the server holds them."""
    description = await describe(client, schedule_id)
    assert description is not None, schedule_id
    mark = description.raw_description.memo.fields[OWNER]
    return {sealing_key_of(p) for p in job_payloads(description)}, sealing_key_of(mark)


async def test_rotation_reseals_the_services_schedules_and_skips_those_it_cannot_read(
    client: Client, owner: str, task_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    old, both, new = [await keyed(client, keys) for keys in (OLD_ONLY, BOTH, NEW_ONLY)]
    hourly, daily = scheduled("hourly"), scheduled("daily", every=None, cron="0 6 * * *")
    earlier = scheduled("earlier")
    mine = [hourly, daily, earlier]
    modules = module_with(*mine)
    ids = {one.id for one in mine}
    await applied(old, owner, task_queue, hourly, daily)
    # As apply made them before the owner's mark was written in the clear: sealed too.
    schedule = schedule_of(Declared(MODULE, earlier), task_queue, owner)
    await old.create_schedule(earlier.id, schedule, memo={OWNER: owner})
    # Another service's schedule, sealed with a key this service never had.
    foreign = f"test-foreign-{uuid.uuid4().hex[:8]}"
    stranger = await keyed(client, f"k9:{OTHER}")
    await stranger.create_schedule(foreign, foreign_schedule(task_queue), memo={OWNER: "other"})
    try:
        assert await sealing_of(client, hourly.id) == ({"old"}, None)
        assert await sealing_of(client, earlier.id) == ({"old"}, "old")

        # Dropping the old key first: apply cannot read the earlier mark, and changes nothing.
        with pytest.raises(ScheduleUnreadableError, match="sealed with key 'old'"):
            await apply(new, modules, owner=owner, task_queue=task_queue)
        assert await sealing_of(client, hourly.id) == ({"old"}, None)

        async def listed() -> bool:  # the list is eventually consistent
            return foreign in [entry.id async for entry in await client.list_schedules()]

        await assert_eventually("the foreign schedule listed", listed)
        # Rotated, the new key first: every schedule of the service is sealed with it.
        changes = await apply(both, modules, owner=owner, task_queue=task_queue)
        assert [c.what for c in changes if c.schedule_id in ids] == ["resealed"] * 3
        for one in mine:
            assert await sealing_of(client, one.id) == ({"new"}, None), one.id
            description = await describe(client, one.id)
            assert description is not None and description.schedule.state.paused
        [skipped] = [str(c) for c in changes if c.schedule_id == foreign]
        assert skipped == (
            f"skipped    {foreign}: left alone, its owner cannot be read here: a payload is "
            f"sealed with key 'k9', which {KEYS_VARIABLE} does not list here"
        )
        assert f"schedule {foreign} left alone" in caplog.text

        # The old key dropped: apply still reads all it owns, and has nothing to change.
        changes = await apply(new, modules, owner=owner, task_queue=task_queue)
        assert [c.what for c in changes if c.schedule_id in ids] == ["unchanged"] * 3
        assert [c.what for c in changes if c.schedule_id == foreign] == ["skipped"]
        # Without keys, apply would store the jobs in plaintext: it refuses.
        with pytest.raises(ScheduleUnreadableError, match=f"{KEYS_VARIABLE} is not set here"):
            await apply(client, modules, owner=owner, task_queue=task_queue)
        # And without keys, another service's sealed schedule is skipped just the same.
        changes = await apply(client, module_with(), owner=f"test-nobody-{uuid.uuid4().hex}")
        [skipped] = [c.why for c in changes if c.schedule_id == foreign]
        assert skipped.endswith(f"sealed with key 'k9', and {KEYS_VARIABLE} is not set here")
        assert OLD not in caplog.text and NEW not in caplog.text and OTHER not in caplog.text
    finally:
        await client.get_schedule_handle(foreign).delete()


OLD_ONLY, BOTH, NEW_ONLY = f"old:{OLD}", f"new:{NEW},old:{OLD}", f"new:{NEW}"


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        pytest.param({"time_zone": "Mars/Olympus"}, "time_zone", "not a time zone", id="zone"),
        pytest.param({"every": None, "cron": "61 * * * *"}, "cron", "minute '61'", id="cron"),
        pytest.param({"every": None, "cron": "0 6 * *"}, "cron", "4 fields", id="cron-fields"),
        pytest.param({"every": timedelta(seconds=0.5)}, "every", "under 1 second", id="fast"),
        pytest.param({"cron": "@daily"}, "every", "not both", id="both"),
        pytest.param({"job": {"records": [{}]}}, "job", "input.records[0]", id="job"),
        pytest.param({"job": {"batch_size": 0}}, "job", "batch_size must be", id="job-value"),
        pytest.param({"catchup_window": timedelta(0)}, "catchup_window", "10 s", id="catchup"),
    ],
)
async def test_a_bad_declaration_is_refused_by_name_and_nothing_changes(
    client: Client, owner: str, task_queue: str, settings: dict[str, Any], field: str, words: str
) -> None:
    good, bad = scheduled("good"), scheduled("bad", **settings)
    with pytest.raises(ScheduleDeclarationError) as refused:
        await applied(client, owner, task_queue, good, bad)
    [line] = str(refused.value).splitlines()
    assert line.startswith(f"schedule {bad.id!r}: {field}: "), line
    assert words in line, line
    assert await describe(client, good.id) is None


async def test_an_id_declared_twice_is_refused(client: Client, owner: str, task_queue: str) -> None:
    once = scheduled("twice")
    with pytest.raises(ScheduleDeclarationError, match=f"schedule {once.id!r}: id: declared twice"):
        await applied(client, owner, task_queue, once, dataclasses.replace(once, every=2 * HOUR))
    assert await describe(client, once.id) is None


def test_the_bakes_own_schedules_are_valid_and_created_paused() -> None:
    # What `schedules apply` would refuse is caught here first, before any deploy.
    every_one = declared(registry.load())
    assert problems(every_one) == []
    assert all(entry.scheduled.paused for entry in every_one)


async def test_the_readme_flow_applies_lists_triggers_and_unpauses(
    client: Client, temporal_address: str, database_url: str
) -> None:
    """The commands docs/schedules.md shows, in its order: apply, list, trigger, unpause."""
    env = service_env(temporal_address, database_url)
    every_one = [entry.scheduled for entry in declared(registry.load())]
    if not every_one:  # every module baked with schedule=none
        said = run_cli("schedules", "apply", env=env)
        assert said.stdout.splitlines() == ["no schedules declared, none on the server"]
        assert run_cli("schedules", "list", env=env).stdout == "no schedules declared\n"
        return
    example, count = every_one[0], len(every_one)
    plural = "s" * (count != 1)
    try:
        said = run_cli("schedules", "apply", env=env)
        assert said.returncode == 0, said.stderr
        assert said.stdout.splitlines() == [
            *(f"created    {one.id}" for one in every_one),
            f"{count} schedule{plural}: {count} created",
        ]
        again = run_cli("schedules", "apply", env=env)
        assert again.stdout.splitlines()[-1] == f"{count} schedule{plural}: nothing to change"
        listed = run_cli("schedules", "list", env=env)
        assert listed.stdout.startswith(f"{example.id}  paused  {example.when()}\n"), listed.stdout
        assert "    last: none yet" in listed.stdout
        triggered = run_cli("schedules", "trigger", example.id, env=env)
        assert triggered.stdout.startswith(f"triggered {example.id}")
        await assert_eventually(
            "the triggered run started", lambda: started_any(client, example.id)
        )
        unpaused = run_cli("schedules", "unpause", example.id, env=env)
        assert unpaused.stdout.startswith(f"unpaused {example.id}")
        listed = run_cli("schedules", "list", env=env)
        assert listed.stdout.startswith(f"{example.id}  active  "), listed.stdout
        unknown = run_cli("schedules", "trigger", "no-such-schedule", env=env)
        assert unknown.returncode == 1
        assert "no schedule 'no-such-schedule' is declared; the modules declare: " in unknown.stderr
    finally:
        # No worker polls the modules' own queues here: a triggered run would wait for ever.
        description = await describe(client, example.id)
        for running in description.info.running_actions if description else []:
            if isinstance(running, ScheduleActionExecutionStartWorkflow):
                await client.get_workflow_handle(running.workflow_id).terminate("test over")
        await apply(client, module_with(), owner=config.SERVICE_NAME)


def foreign_schedule(task_queue: str) -> Schedule:
    """A paused schedule made by someone else's code."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MODULE.workflow_type, example_input(), id="foreign", task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=HOUR)]),
        state=ScheduleState(paused=True),
    )


async def finished_runs(client: Client, schedule_id: str) -> list[str]:
    """The ids of the completed runs the schedule started (the list is eventually
    consistent: wait for it to show what is expected)."""
    query = f'TemporalScheduledById = "{schedule_id}"'
    return [
        run.id
        async for run in client.list_workflows(query)
        if run.status == WorkflowExecutionStatus.COMPLETED
    ]


async def run_span(client: Client, action: ScheduleActionResult) -> tuple[datetime, datetime]:
    """When the run the schedule started began and closed, by its history's first and last
    events."""
    started = action.action
    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
    handle = client.get_workflow_handle(started.workflow_id, run_id=started.first_execution_run_id)
    events = (await handle.fetch_history()).events
    return events[0].event_time.ToDatetime(), events[-1].event_time.ToDatetime()


async def none_running(client: Client, schedule_id: str) -> bool:
    description = await describe(client, schedule_id)
    return description is not None and not description.info.running_actions


async def started_any(client: Client, schedule_id: str) -> bool:
    description = await describe(client, schedule_id)
    return description is not None and description.info.num_actions >= 1
