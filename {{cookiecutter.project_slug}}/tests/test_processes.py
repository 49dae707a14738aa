"""The production shape: Temporal, PostgreSQL and the worker each in a process of their own.

The worker is started with ``python -m <package> worker``; the workflow is started
by the ``temporal`` CLI by its type name, with the input file the service ships.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }} import config

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.model import parse_input

from .processes import (
    TemporalServer,
    background,
    cli,
    run_cli,
    service_env,
    temporal_cli,
)
from .support import EXAMPLE, LARGE_EXAMPLE, example_input, table_rows

pytestmark = pytest.mark.processes


@pytest.fixture(scope="module")
def temporal_address() -> Iterator[str]:
    """A Temporal server in its own process (``temporal server start-dev``), or TEMPORAL_ADDRESS."""
    external = config.temporal_address()
    if external:
        yield external
        return
    server = TemporalServer()
    server.start()
    try:
        yield server.address
    finally:
        server.stop()


def test_worker_process_runs_the_example_started_by_the_temporal_cli_twice(
    temporal_address: str, database_url: str
) -> None:
    env = service_env(temporal_address, database_url)
    queue = f"processes-{uuid.uuid4()}"
    init = run_cli("init-db", env=env)
    assert init.returncode == 0, init.stderr
    assert "schema applied" in init.stdout

    snapshots = []
    with background(cli("worker", "--task-queue", queue), env=env) as worker:
        for attempt in range(2):
            started = temporal_cli(
                temporal_address,
                "workflow", "execute",
                "--type", "{{ cookiecutter.workflow_name }}Workflow",
                "--task-queue", queue,
                "--workflow-id", f"cli-{attempt}-{uuid.uuid4()}",
                "--input-file", str(EXAMPLE),
                "--output", "json",
            )  # fmt: skip
            assert started.returncode == 0, started.stdout + started.stderr
            assert json.loads(started.stdout)["status"] == "COMPLETED"
            snapshots.append(table_rows(database_url))

        # Our own CLI starts the same input through the typed interface and prints the result.
        ran = run_cli("run", "--input-file", str(EXAMPLE), "--task-queue", queue, env=env)
        assert ran.returncode == 0, ran.stderr
        members = example_input()["members"]
        assert json.loads(ran.stdout)["upserted"] == len(members)

        # The large example through our CLI: fan-out, and progress on stderr. Output is
        # a pipe here, so progress comes as plain lines, not a redrawn bar.
        large = parse_input(example_input(LARGE_EXAMPLE))
        ran = run_cli("run", "--input-file", str(LARGE_EXAMPLE), "--task-queue", queue, env=env)
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout)["upserted"] == large.total
        progress = [line for line in ran.stderr.splitlines() if line.startswith("progress: ")]
        assert progress[-1].startswith(f"progress: {large.total:,}/{large.total:,} items (100%)")
        assert "\r" not in ran.stderr

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0

    assert len(snapshots[0]) == len(members)
    assert snapshots[1] == snapshots[0]
    assert len(table_rows(database_url)) == large.total
