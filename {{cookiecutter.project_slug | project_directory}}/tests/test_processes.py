"""The production shape: Temporal, PostgreSQL and the worker each in a process of their own.

The worker is started with ``python -m <package> worker``; the workflow is started
by the ``temporal`` CLI by its type name, with the input file the service ships.
"""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.temporal.fanout import job_size

from .helpers import (
    EXAMPLE,
    background,
    cli,
    example_input,
    run_cli,
    service_env,
    stored,
    temporal_cli,
)
from .module_under_test import MODULE

pytestmark = pytest.mark.processes


def test_worker_process_runs_the_example_started_by_the_temporal_cli_twice(
    temporal_address: str, database_url: str, tmp_path: Path
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
                "--type", MODULE.workflow_type,
                "--task-queue", queue,
                "--workflow-id", f"cli-{attempt}-{uuid.uuid4()}",
                "--input-file", str(EXAMPLE),
                "--output", "json",
            )  # fmt: skip
            assert started.returncode == 0, started.stdout + started.stderr
            assert json.loads(started.stdout)["status"] == "COMPLETED"
            snapshots.append(stored(database_url))

        # Our own CLI starts the same input and prints the result.
        ran = run_cli("run", "--input-file", str(EXAMPLE), "--task-queue", queue, env=env)
        assert ran.returncode == 0, ran.stderr
        small = job_size(example_input())
        assert json.loads(ran.stdout) == {"upserted": small}

        # A bigger job through our CLI: fan-out, and progress on stderr. Output is a
        # pipe here, so progress comes as plain lines, not a redrawn bar.
        large = 20_000
        job = {"key_range": {"first": 1, "count": large}, "batch_size": 100}
        job["max_activities_per_run"] = 50  # 200 batches: 4 children
        job_file = tmp_path / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        ran = run_cli("run", "--input-file", str(job_file), "--task-queue", queue, env=env)
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout) == {"upserted": large}
        progress = [line for line in ran.stderr.splitlines() if line.startswith("progress: ")]
        assert progress[-1].startswith(f"progress: {large:,}/{large:,} items (100%)")
        assert "\r" not in ran.stderr

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0

    assert len(snapshots[0]) == small
    assert snapshots[1] == snapshots[0]
    assert len(stored(database_url)) == large + small
