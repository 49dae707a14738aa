"""Metrics: a worker with ``METRICS_ADDRESS`` serves Prometheus text at ``/metrics``: the
SDK's task latencies, and the service's own counters with the values of the run."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.temporal.payloads import MAX_PAYLOAD_BYTES
from {{ cookiecutter.package_name }}.temporal.telemetry import ITEMS_UPSERTED, PAYLOADS_REFUSED

from .helpers import (
    EXAMPLE,
    assert_eventually,
    background,
    cli,
    example_input,
    free_port,
    job_over,
    run_cli,
    service_env,
    temporal_cli,
)
from .module_under_test import MODULE

pytestmark = pytest.mark.processes

# One sample of Prometheus' text format: name, optional {labels}, value.
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text: str = response.read().decode("utf-8")
    return text


def total(text: str, name: str) -> float:
    """The sum of a metric's samples over all its labels."""
    matches = (SAMPLE.match(line) for line in text.splitlines())
    return sum(float(m["value"]) for m in matches if m and m["name"] == name)


async def test_a_worker_serves_sdk_latencies_and_the_services_counters(
    temporal_address: str, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = service_env(temporal_address, database_url)
    queue = f"metrics-{uuid.uuid4()}"
    # Over 200 KiB, from a client that skips our converter: the worker refuses it.
    too_big = tmp_path / "too-big.json"
    too_big.write_text(json.dumps(job_over(MAX_PAYLOAD_BYTES)), encoding="utf-8")

    worker_env = env | {"METRICS_ADDRESS": f"127.0.0.1:{port}"}
    with background(cli("worker", "--task-queue", queue), worker_env):
        await assert_eventually("the metrics endpoint answers", lambda: bool(try_scrape(port)))
        ran = run_cli(
            "run", "--input-file", str(EXAMPLE), "--task-queue", queue,
            "--workflow-id", f"metrics-{uuid.uuid4()}", "--quiet", env=env,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        started = temporal_cli(
            temporal_address, "workflow", "execute", "--type", MODULE.workflow_type,
            "--task-queue", queue, "--input-file", str(too_big),
        )  # fmt: skip
        assert started.returncode != 0  # the workflow failed: PayloadTooLarge
        text = scrape(port)

    upserted = len(example_input()["records"])
    assert total(text, ITEMS_UPSERTED) == upserted
    assert total(text, PAYLOADS_REFUSED) == 1
    # The SDK's own: how long workflow tasks and activities took, as histograms.
    assert total(text, "temporal_workflow_task_execution_latency_count") >= 2
    assert total(text, "temporal_activity_execution_latency_count") >= 1


def try_scrape(port: int) -> str:
    try:
        return scrape(port)
    except OSError:
        return ""
