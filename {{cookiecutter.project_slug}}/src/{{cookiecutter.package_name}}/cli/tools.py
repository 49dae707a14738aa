"""``codec-server`` and ``record-history``: tools beside the service."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from .. import db, dev, registry
from ..temporal import histories
from ..temporal.worker import create_workers, running
from .common import (
    CommandError,
    connect,
    example_input,
    log,
    read_input,
    wait_for_stop_signal,
)


async def cmd_codec_server(args: argparse.Namespace) -> None:
    # Only this command serves HTTP; dev imports it the same way (see dev.py).
    from ..temporal import codec_server

    try:
        settings = codec_server.CodecSettings.from_environment()
        server = codec_server.start(args.address, settings)
    except codec_server.CodecSettingsError as error:
        raise CommandError(str(error)) from None
    try:
        origins = ", ".join(sorted(settings.origins)) or "none (CLI only)"
        needed = "a bearer token" if settings.token else "no token"
        log.info("codec server at %s: browser origins %s; %s needed", server.url, origins, needed)
        print(f"temporal workflow show --codec-endpoint {server.url} -w WORKFLOW_ID", flush=True)
        await wait_for_stop_signal()
    finally:
        server.stop()


async def cmd_record_history(args: argparse.Namespace) -> None:
    if args.workflow_id:
        client = await connect()
        history = await histories.fetch(client, args.workflow_id, args.run_id)
        output = args.output or histories.HISTORIES_DIR / f"{args.workflow_id}.json"
        print(histories.write(history, output))
        return
    modules = registry.load()
    with tempfile.TemporaryDirectory(prefix="record-history-") as data_dir:
        async with dev.dev_stack(
            modules, Path(data_dir), keep=False, temporal_port=None, ui=False
        ) as stack:
            client = await connect()
            database = db.Database(stack.database_url)
            async with running(create_workers(client, database, modules), database):
                for module in modules:
                    small = read_input(example_input(module))
                    for path in await histories.record_cases(client, module, small):
                        print(path)
