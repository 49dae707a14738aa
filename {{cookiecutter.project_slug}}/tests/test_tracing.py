"""Tracing: with the OTEL_* variables set, one job is one trace, joining the client's
start, the workflow, its child workflows and their activities, through the SDK's
OpenTelemetryPlugin."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

from {{ cookiecutter.package_name }} import dev
from {{ cookiecutter.package_name }}.temporal import tracing
from {{ cookiecutter.package_name }}.temporal.client import new_client

from .helpers import result_within, run_cli, service_env, serving
from .module_under_test import MODULE, Job, Workflow

# Four one-item batches at two per run: two children of two activities each.
JOB: Job = {"key_range": {"first": 1, "count": 4}, "batch_size": 1, "max_activities_per_run": 2}


def global_provider() -> ReplaySafeTracerProvider:
    """The process's global provider, of the replay-safe kind the plugin requires, as
    tracing.install_provider() makes it; set once, since OpenTelemetry never replaces one."""
    current = trace.get_tracer_provider()
    if isinstance(current, ReplaySafeTracerProvider):
        return current
    provider = create_tracer_provider()
    trace.set_tracer_provider(provider)
    return provider


async def test_one_job_is_one_trace_through_children_and_activities(
    client: Client, database_url: str, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tracing.plugins() == [], "off unless the environment asks"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    # Spans go to memory instead of the console.
    exported = InMemorySpanExporter()
    global_provider().add_span_processor(SimpleSpanProcessor(exported))
    traced = await new_client(target_host=client.service_client.config.target_host)
    assert [type(plugin).__name__ for plugin in traced.config()["plugins"]] == [
        "OpenTelemetryPlugin"
    ]
    async with serving(traced, database_url, task_queue):
        handle = await traced.start_workflow(
            Workflow.run, JOB, id=f"traced-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await result_within(handle) == {"upserted": 4}

    exported.shutdown()  # later tests in this process add no spans here
    spans = exported.get_finished_spans()
    names = Counter((span.name or "").split(":")[0] for span in spans)
    assert names["StartWorkflow"] == 1
    assert names["RunWorkflow"] == 3  # the parent and its two children
    assert names["StartChildWorkflow"] == 2
    assert names["StartActivity"] == 4
    assert names["RunActivity"] == 4
    trace_ids = {span.context.trace_id for span in spans if span.context is not None}
    assert len(trace_ids) == 1, "every span joins the one trace of the job"
    activity_type = f"{MODULE.workflow_type.removesuffix('Workflow')}Activities.upsert"
    assert f"RunActivity:{activity_type}" in {span.name for span in spans}


async def test_the_dev_server_starts_whatever_the_services_tracing_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Temporal server reads OTEL_* as well, and has no console exporter: dev and the
    # tests' server start without the service's settings, which are left as they were.
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    env = await dev.start_temporal()
    try:
        assert await env.client.count_workflows() is not None
    finally:
        await env.shutdown()
    assert tracing.enabled(), "the service's own settings are back"


async def test_a_command_exports_its_spans_before_it_exits(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    # `run` leaves by os._exit, which runs no exit hook: its spans, batched for export,
    # must be flushed by the command itself.
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"key_range": {"first": 1, "count": 2}}), encoding="utf-8")
    address = client.service_client.config.target_host
    env = service_env(address, database_url) | {"OTEL_TRACES_EXPORTER": "console"}
    args = ["run", "--input-file", str(job), "--task-queue", task_queue, "--quiet"]
    args += ["--workflow-id", f"traced-run-{uuid.uuid4()}"]
    async with serving(client, database_url, task_queue):
        ran = await asyncio.to_thread(run_cli, *args, env=env)
    assert ran.returncode == 0, ran.stderr
    # ConsoleSpanExporter prints each span as an indented JSON object.
    names = [line.split('"')[3] for line in ran.stdout.splitlines() if '    "name": ' in line]
    assert names == [f"StartWorkflow:{MODULE.workflow_type}"], ran.stdout[-2000:]
