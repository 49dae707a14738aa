"""``dev`` and ``init-db``: the whole service on this machine, and the schema anywhere."""

from __future__ import annotations

import argparse
import json

from .. import db, dev, redaction, registry
from ..temporal import runs
from ..temporal.module import every_schema
from ..temporal.worker import create_workers, running
from .common import (
    DEV_DATA_DIR,
    chosen_module,
    connect,
    example_input,
    read_input,
    serve_metrics,
    wait_for_stop_signal,
)
from .schedules import apply_schedules


def cmd_init_db(args: argparse.Namespace) -> None:
    with db.connect_to_db(attempts=args.attempts) as conn:
        db.apply_schemas(conn, every_schema(registry.load()))
    print("schema applied")


async def cmd_dev(args: argparse.Namespace) -> None:
    modules = registry.load()
    module = chosen_module(args.workflow)
    job = read_input(args.input_file or example_input(module))
    async with dev.dev_stack(modules, DEV_DATA_DIR, temporal_port=args.port, codec=True) as stack:
        serve_metrics()
        client = await connect()
        database = db.Database(stack.database_url)
        if stack.banner:
            print(stack.banner, end="\n\n", flush=True)
        if stack.codec_address:
            print(
                f"Codec:     {stack.codec_address} (payloads are sealed; the Web UI and "
                f"temporal --codec-endpoint {stack.codec_address} decode through it)"
            )
        async with running(create_workers(client, database, modules), database):
            print(f"Schedules: {(await apply_schedules(client))[-1]}")
            handle = await runs.start(client, module, job)
            if stack.ui_address:
                namespace = client.namespace
                print(f"           {stack.ui_address}/namespaces/{namespace}/schedules")
                print(f"Workflow:  {stack.ui_address}/namespaces/{namespace}/workflows/{handle.id}")
            result = await runs.result_of(client, handle, show_progress=True)
            print(f"\nResult:    {json.dumps(result)}")
            rows = db.count_rows(stack.database_url, module.table)
            print(f"Rows:      {rows:,} in table {module.table}")
            if args.once:
                # The servers stop with this command: a psql line would point at nothing.
                print("The servers stop now; without --once, dev keeps them up to look around.")
                return
            shown_url = redaction.safe_conninfo(stack.database_url)
            print(f'To see them: psql "{shown_url}" -c "TABLE {module.table}"')
            print("Worker running; Ctrl-C to stop.")
            await wait_for_stop_signal()
