"""Temporal Schedules, declared beside each module's workflow and applied at deploy.

A module lists its schedules in its ``schedules.py``, each a :class:`ScheduledJob`:
an id; when (``every`` an interval, or a ``cron`` expression in a ``time_zone``);
the job, as plain JSON; and what happens to a run still going at the next time
(``overlap``: skip, by default, so a slow run is never doubled).

:func:`apply` (``schedules apply``) makes the server match the code, and may run again
safely. It checks every declaration first and changes nothing if one is wrong. Then it
creates what is missing, updates what changed and deletes what the code no longer
declares, and leaves alone every schedule this service did not create: those it
creates carry the service's name in their memo (OWNER). What it applied is known by a
fingerprint of the declaration, in the memo of the workflows a schedule starts,
because the server answers a cron expression back as calendars.

Whether a schedule is paused is set once, when apply creates it (``paused``). After
that, pausing is for people (``schedules pause`` / ``unpause``, the Web UI), and apply
keeps whatever they chose.

With PAYLOAD_ENCRYPTION_KEYS, a schedule's job and fingerprint are sealed like every
payload, and apply re-seals with the first key any schedule of its owner sealed
otherwise (``resealed``), so that an old key can be dropped once apply has run with
both. The owner's mark is written in the clear: the service's name is no secret, and
any process, with whatever keys, can then tell its schedules from others'. A schedule
whose mark it cannot read (sealed with a key it lacks) is someone else's to judge: apply
leaves it alone and says so (``skipped``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.api.common.v1 import Memo, Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleIntervalSpec,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from .cron import cron_problem
from .encryption import KEYS_VARIABLE, EncryptionKeyError, current_sealing_key, sealing_key_of
from .module import WorkflowModule
from .scheduled_job import ScheduledJob

OWNER = "owned-by"
DECLARATION = "schedule-declaration"
# The server's own floors: it refuses a shorter catch-up window, and an interval under
# a second has no meaning for a workflow that takes longer than that to start.
SHORTEST_INTERVAL = timedelta(seconds=1)
SHORTEST_CATCHUP_WINDOW = timedelta(seconds=10)

log = logging.getLogger(__name__)


class ScheduleDeclarationError(ValueError):
    """One or more declarations the server must not be given; each line names one."""


class ScheduleOwnershipError(Exception):
    """A declared id is taken on the server by a schedule this service did not create."""


class ScheduleUnreadableError(ScheduleOwnershipError):
    """A declared id's schedule this process cannot read with its keys (whose it is, or
    what it holds), so apply changes nothing; the message names the key's id."""


@dataclass(frozen=True)
class Declared:
    """A declaration and the module whose workflow it starts."""

    module: WorkflowModule
    scheduled: ScheduledJob[Any]


def declared(modules: Sequence[WorkflowModule]) -> list[Declared]:
    return [Declared(module, one) for module in modules for one in module.schedules]


def problems(every_one: Sequence[Declared]) -> list[str]:
    """What is wrong with each declaration, ``schedule '<id>': <field>: <why>``."""
    found: list[str] = []
    seen: set[str] = set()
    for entry in every_one:
        one = entry.scheduled
        for field, problem in _field_problems(entry.module, one):
            found.append(f"schedule {one.id!r}: {field}: {problem}")
        if one.id in seen:
            found.append(f"schedule {one.id!r}: id: declared twice")
        seen.add(one.id)
    return found


def _field_problems(module: WorkflowModule, one: ScheduledJob[Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if not one.id.strip() or one.id != one.id.strip():
        found.append(("id", "must be text without spaces around it"))
    if (one.every is None) == (one.cron is None):
        found.append(("every", "give either every or cron, not both and not neither"))
    if one.every is not None and one.every < SHORTEST_INTERVAL:
        found.append(("every", f"{one.every.total_seconds():g} s is under 1 second"))
    if one.cron is not None:
        problem = cron_problem(one.cron)
        if problem:
            found.append(("cron", problem))
    try:
        ZoneInfo(one.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        found.append(("time_zone", f"{one.time_zone!r} is not a time zone (IANA names)"))
    if one.catchup_window < SHORTEST_CATCHUP_WINDOW:
        found.append(("catchup_window", "is under the server's least, 10 s"))
    if "done" in one.job:
        found.append(("job", "done is set by the workflow itself when it continues"))
    elif module.check_job is None:
        found.append(("job", f"module {module.name} gives no check_job to check it with"))
    else:
        try:
            module.check_job(one.job)
        except Exception as error:  # any refusal: the message names the path
            found.append(("job", str(error).removeprefix("invalid input: ")))
    return found


def fingerprint(entry: Declared, task_queue: str) -> str:
    """What apply applied, in 16 hex digits: every declared field but ``paused``."""
    one = entry.scheduled
    text = json.dumps(
        {
            "id": one.id,
            "workflow": entry.module.workflow_type,
            "task_queue": task_queue,
            "job": one.job,
            "every": one.every.total_seconds() if one.every else None,
            "cron": one.cron,
            "time_zone": one.time_zone,
            "overlap": one.overlap.name,
            "catchup_window": one.catchup_window.total_seconds(),
            "pause_on_failure": one.pause_on_failure,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def schedule_of(entry: Declared, task_queue: str, owner: str) -> Schedule:
    one = entry.scheduled
    spec = (
        ScheduleSpec(intervals=[ScheduleIntervalSpec(every=one.every)])
        if one.every
        else ScheduleSpec(cron_expressions=[one.cron or ""], time_zone_name=one.time_zone)
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            entry.module.workflow_type,
            one.job,
            id=one.id,
            task_queue=task_queue,
            memo={DECLARATION: fingerprint(entry, task_queue)},
        ),
        spec=spec,
        policy=SchedulePolicy(
            overlap=one.overlap,
            catchup_window=one.catchup_window,
            pause_on_failure=one.pause_on_failure,
        ),
        state=ScheduleState(paused=one.paused, note=one.note or f"applied by {owner}"),
    )


@dataclass(frozen=True)
class Change:
    """What apply did, or would do, to one schedule."""

    schedule_id: str
    what: str  # created, updated, resealed, unchanged, deleted, skipped
    why: str = ""  # for resealed and skipped: the keys, never a key

    def __str__(self) -> str:
        done = f"{self.what:<10} {self.schedule_id}"
        return f"{done}: {self.why}" if self.why else done


@dataclass(frozen=True)
class Step:
    """What apply will do to one declared schedule, decided before anything changes."""

    entry: Declared
    queue: str
    what: str
    why: str = ""
    # The schedule's current pause and note, when it must be created again: its owner's
    # mark was sealed (by an earlier apply), and the server refuses to update the memo
    # of a schedule ("memo updates are not supported on workflow-backed schedules").
    recreate_with: ScheduleState | None = None


def owner_mark(client: Client, owner: str) -> Payload:
    """The memo's OWNER entry, in the clear whatever the keys (see the module's notes)."""
    [payload] = client.data_converter.payload_converter.to_payloads([owner])
    return payload


async def owner_of(client: Client, memo: Memo) -> str | None:
    """Who created the schedule with this memo, when an owner's mark says; raises
    EncryptionKeyError when the mark is sealed with a key this process lacks."""
    if OWNER not in memo.fields:
        return None
    raw = memo.fields[OWNER]
    try:
        if sealing_key_of(raw) is None:
            # In the clear: read without the codec, which may refuse plaintext.
            [value] = client.data_converter.payload_converter.from_payloads([raw])
        else:
            [value] = await client.data_converter.decode([raw])
    except (KeyError, RuntimeError):  # a mark none of ours would write: not ours
        return None
    return value if isinstance(value, str) else None


def job_payloads(description: ScheduleDescription) -> list[Payload]:
    """The sealed part of a schedule: its job and the memo of the runs it starts."""
    start = description.raw_description.schedule.action.start_workflow
    return [*start.input.payloads, *start.memo.fields.values()]


def keys_named(key_ids: set[str | None]) -> str:
    return ", ".join(sorted("plaintext" if key is None else f"key {key!r}" for key in key_ids))


async def applied_fingerprint(client: Client, description: ScheduleDescription) -> str | None:
    action = description.schedule.action
    if not isinstance(action, ScheduleActionStartWorkflow) or not action.memo:
        return None
    raw = action.memo.get(DECLARATION)
    if raw is None:
        return None
    [value] = await client.data_converter.decode([raw])
    return str(value)


async def describe(client: Client, schedule_id: str) -> ScheduleDescription | None:
    try:
        return await client.get_schedule_handle(schedule_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def owned_ids(client: Client, owner: str) -> tuple[list[str], list[Change]]:
    """Every schedule on the server that ``owner`` created, and those whose owner this
    process cannot read, each a ``skipped`` Change saying why (the list is eventually
    consistent: one created a moment ago may not be in it yet)."""
    found, skipped = [], []
    async for entry in await client.list_schedules():
        try:
            if await owner_of(client, entry.raw_entry.memo) == owner:
                found.append(entry.id)
        except EncryptionKeyError as error:  # names the key's id, never the key
            why = f"left alone, its owner cannot be read here: {error}"
            log.warning("schedule %s %s", entry.id, why)
            skipped.append(Change(entry.id, "skipped", why))
    return found, skipped


async def step_for(client: Client, entry: Declared, queue: str, owner: str, *, force: bool) -> Step:
    """What apply must do to ``entry``'s schedule; raises before anything changes if the
    id is another's, or this process cannot read what it must keep."""
    schedule_id = entry.scheduled.id
    description = await describe(client, schedule_id)
    if description is None:
        return Step(entry, queue, "created")
    memo = description.raw_description.memo
    try:
        found = await owner_of(client, memo)
    except EncryptionKeyError as error:
        raise ScheduleUnreadableError(
            f"schedule {schedule_id!r} exists on the server and its owner cannot be read "
            f"here: {error}. Apply with the keys it was sealed with"
        ) from None
    if found != owner:
        raise ScheduleOwnershipError(
            f"schedule {schedule_id!r} exists on the server and was not made by "
            f"{owner}: rename the declaration, or delete that schedule first"
        )
    state = description.schedule.state
    recreate_with = state if sealing_key_of(memo.fields[OWNER]) is not None else None
    current = current_sealing_key(client.data_converter)
    held = {sealing_key_of(payload) for payload in job_payloads(description)}
    if held - {current}:
        if current is None:  # an update would store the job in plaintext
            raise ScheduleUnreadableError(
                f"schedule {schedule_id!r} holds a job sealed with {keys_named(held)}, and "
                f"{KEYS_VARIABLE} is not set here: apply with the keys the workers have"
            )
        why = f"was sealed with {keys_named(held)}, now with key {current!r}"
        return Step(entry, queue, "resealed", why, recreate_with)
    if recreate_with is not None:  # the job is sealed right, the owner's mark was sealed too
        return Step(entry, queue, "resealed", "its owner's mark is now in the clear", state)
    same = await applied_fingerprint(client, description) == fingerprint(entry, queue)
    return Step(entry, queue, "unchanged" if same and not force else "updated")


async def apply(
    client: Client,
    modules: Sequence[WorkflowModule],
    *,
    owner: str,
    task_queue: str | None = None,
    force: bool = False,
) -> list[Change]:
    """Make the server's schedules of ``owner`` match the modules' declarations.

    Raises ScheduleDeclarationError before anything changes if a declaration is
    wrong, and ScheduleOwnershipError if a declared id belongs to someone else (or
    ScheduleUnreadableError, one of those, if it cannot be read here).
    ``task_queue`` sends every run to that queue (tests do); ``force`` updates even
    the schedules whose declaration did not change (someone edited them by hand).
    Every schedule of ``owner`` sealed otherwise than the client seals is re-sealed.
    """
    every_one = declared(modules)
    wrong = problems(every_one)
    if wrong:
        raise ScheduleDeclarationError("\n".join(wrong))
    # First look, then change: a conflict found late must not leave half a change.
    plan = [
        await step_for(client, entry, task_queue or entry.module.task_queue, owner, force=force)
        for entry in every_one
    ]
    names = {entry.scheduled.id for entry in every_one}
    owned, skipped = await owned_ids(client, owner)
    stale = [found for found in owned if found not in names]

    changes = []
    for step in plan:
        schedule_id = step.entry.scheduled.id
        schedule = schedule_of(step.entry, step.queue, owner)
        if step.recreate_with is not None:
            await client.get_schedule_handle(schedule_id).delete()
            schedule = replace(schedule, state=step.recreate_with)
        if step.what == "created" or step.recreate_with is not None:
            mark = {OWNER: owner_mark(client, owner)}
            await client.create_schedule(schedule_id, schedule, memo=mark)
        elif step.what != "unchanged":
            await client.get_schedule_handle(schedule_id).update(keeping_state(schedule))
        changes.append(Change(schedule_id, step.what, step.why))
    for schedule_id in stale:
        await client.get_schedule_handle(schedule_id).delete()
        changes.append(Change(schedule_id, "deleted"))
    return changes + [change for change in skipped if change.schedule_id not in names]


def keeping_state(schedule: Schedule) -> Callable[[ScheduleUpdateInput], ScheduleUpdate]:
    """The update to ``schedule``, keeping the pause and note people gave the old one."""

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(replace(schedule, state=current.description.schedule.state))

    return update


def summary(changes: Sequence[Change]) -> str:
    """``2 schedules: 1 created, 1 unchanged``, or that nothing changed."""
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.what] = counts.get(change.what, 0) + 1
    told = ", ".join(f"{count} {what}" for what, count in counts.items())
    if not changes:
        return "no schedules declared, none on the server"
    if set(counts) == {"unchanged"}:
        return f"{len(changes)} schedule{'s' * (len(changes) != 1)}: nothing to change"
    return f"{len(changes)} schedule{'s' * (len(changes) != 1)}: {told}"


def find(modules: Sequence[WorkflowModule], schedule_id: str) -> Declared:
    """The declaration of ``schedule_id``; KeyError, naming those there are, if none."""
    every_one = declared(modules)
    for entry in every_one:
        if entry.scheduled.id == schedule_id:
            return entry
    known = ", ".join(entry.scheduled.id for entry in every_one) or "none"
    raise KeyError(f"no schedule {schedule_id!r} is declared; the modules declare: {known}")


async def report(client: Client, entry: Declared) -> list[str]:
    """What ``schedules list`` shows of one: its state and times, its next runs, its last."""
    one = entry.scheduled
    description = await describe(client, one.id)
    if description is None:
        return [f"{one.id}  not on the server: run `schedules apply`"]
    info = description.info
    state = "paused" if description.schedule.state.paused else "active"
    upcoming = ", ".join(f"{moment:%Y-%m-%d %H:%M:%S %Z}" for moment in info.next_action_times[:3])
    lines = [
        f"{one.id}  {state}  {one.when()}",
        f"    next: {upcoming or 'none'}",
        f"    last: {await last_result(client, description)}",
        f"    runs: {info.num_actions} started, {info.num_actions_skipped_overlap} skipped "
        f"(a run was still going), {info.num_actions_missed_catchup_window} missed",
    ]
    return lines


async def last_result(client: Client, description: ScheduleDescription) -> str:
    """The latest run the schedule started, and how it stands: ``completed``, ``running``."""
    if not description.info.recent_actions:
        return "none yet"
    latest = description.info.recent_actions[-1]
    started = latest.action
    if not isinstance(started, ScheduleActionExecutionStartWorkflow):
        return f"{latest.started_at:%Y-%m-%d %H:%M:%S %Z}"
    run = client.get_workflow_handle(started.workflow_id, run_id=started.first_execution_run_id)
    status = (await run.describe()).status
    shown = status.name.lower().replace("_", " ") if status else "unknown"
    return f"{latest.started_at:%Y-%m-%d %H:%M:%S %Z}: {shown} ({started.workflow_id})"
