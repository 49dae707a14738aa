"""``run``, ``load`` and ``rejects``: start a job, show its progress and result, and list
a load's rejected lines."""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import db, redaction
from ..loads import staging
from ..temporal import loading, runs
from .common import CommandError, chosen_module, connect, read_input


async def cmd_run(args: argparse.Namespace) -> None:
    module = chosen_module(args.workflow)
    job = read_input(args.input_file)
    client = await connect()
    result = await runs.execute(
        client, module, job, args.workflow_id, args.task_queue, show_progress=not args.quiet
    )
    print(json.dumps(result))


def source_url(given: str) -> str:
    """A URL as given, or a path as the ``file://`` URL of its absolute form."""
    if any(given.startswith(f"{scheme}://") for scheme in loading.SCHEMES):
        return given
    return Path(given).resolve().as_uri()


async def cmd_load(args: argparse.Namespace) -> None:
    module = chosen_module(args.workflow)
    source: loading.SourceSpec = {"url": source_url(args.source)}
    if args.format:
        source["format"] = args.format
    job: dict[str, Any] = {"source": source}
    if args.max_rejects is not None:
        job["max_rejects"] = args.max_rejects
    # A new id for every load: the same file loaded again is read again, since the worker
    # cannot know from its name whether it changed.
    started = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    workflow_id = args.workflow_id or f"{module.workflow_type}-load-{started}-{os.urandom(3).hex()}"
    client = await connect()
    result = await runs.execute(
        client, module, job, workflow_id, args.task_queue, show_progress=not args.quiet
    )
    print(json.dumps(result))


async def cmd_rejects(args: argparse.Namespace) -> None:
    url = db.require_database_url()
    try:
        async with db.connect_to_db_or_raise(url) as conn:
            load, rejects = await staging.rejects_of(conn, args.workflow_id)
    except db.DatabaseUnavailableError as error:
        raise CommandError(str(error)) from None
    if load is None:
        shown = redaction.safe_conninfo(url)
        raise CommandError(f"no load of workflow {args.workflow_id} in {shown}")
    print(
        f"load {load['id']} of {load['source']} into {load['target']}: {load['state']}; "
        f"{load['lines']:,} lines, {load['rows_staged']:,} rows, {load['rejects']:,} rejects"
    )
    for reject in rejects:
        field = f"{reject['field']}: " if reject["field"] else ""
        print(f"line {reject['line']:,}: {field}{reject['error']}\n    {reject['excerpt']}")
