"""``schedules``: apply the declared Temporal Schedules, list, trigger, pause, unpause."""

from __future__ import annotations

import argparse

from temporalio.client import Client

from .. import config, registry
from ..temporal import schedules
from .common import CommandError, connect


async def apply_schedules(client: Client, *, force: bool = False) -> list[str]:
    """``schedules apply``'s lines: each schedule and what was done to it, then a summary."""
    try:
        changes = await schedules.apply(
            client, registry.load(), owner=config.SERVICE_NAME, force=force
        )
    except (schedules.ScheduleDeclarationError, schedules.ScheduleOwnershipError) as error:
        raise CommandError(f"schedules not applied, nothing changed:\n{error}") from None
    return [*map(str, changes), schedules.summary(changes)]


async def cmd_schedules(args: argparse.Namespace) -> None:
    client = await connect()
    modules = registry.load()
    if args.action == "apply":
        print("\n".join(await apply_schedules(client, force=args.force)))
        return
    if args.action == "list":
        every_one = schedules.declared(modules)
        for entry in every_one:
            print("\n".join(await schedules.report(client, entry)))
        if not every_one:
            print("no schedules declared")
        return
    try:
        entry = schedules.find(modules, args.schedule_id)
    except KeyError as error:
        raise CommandError(str(error.args[0])) from None
    handle = client.get_schedule_handle(entry.scheduled.id)
    if args.action == "trigger":
        await handle.trigger()
        print(f"triggered {entry.scheduled.id}: `schedules list` shows its run")
    elif args.action == "pause":
        await handle.pause(note=f"paused with {config.SERVICE_NAME} schedules pause")
        print(f"paused {entry.scheduled.id}")
    else:
        await handle.unpause(note=f"unpaused with {config.SERVICE_NAME} schedules unpause")
        print(f"unpaused {entry.scheduled.id}: next runs in `schedules list`")
