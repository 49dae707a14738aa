"""The argument parser: every command, its options and its ``--help``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import config, dev, registry
from ..temporal import loading
from .common import PACKAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PACKAGE}",
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

    return parser


def add_workflow_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--workflow", metavar="TYPE", help="which workflow, by type name (default: the first)"
    )


def add_task_queue_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--task-queue", help="poll or use this task queue instead of each module's own"
    )
