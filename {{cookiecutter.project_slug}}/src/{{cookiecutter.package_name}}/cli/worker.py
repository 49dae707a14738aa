"""``worker``: the service's workers, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse

from .. import config, db, health, registry
from ..temporal import versioning
from ..temporal.worker import Role, create_workers
from .common import connect, log, serve_metrics, wait_for_stop_signal


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
