"""Tracing: with the OTEL_* variables set, one job is one trace, joining the client's
start, the workflow, its child workflows and their activities."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from {{ cookiecutter.package_name }}.temporal import tracing
from {{ cookiecutter.package_name }}.temporal.client import new_client

from .helpers import result_within, serving
from .module_under_test import MODULE, Job, Workflow

# Four one-item batches at two per run: two children of two activities each.
JOB: Job = {"key_range": {"first": 1, "count": 4}, "batch_size": 1, "max_activities_per_run": 2}


async def test_one_job_is_one_trace_through_children_and_activities(
    client: Client, database_url: str, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tracing.interceptors() == [], "off unless the environment asks"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    # Spans go to memory instead of the console: a provider of the test's own.
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    traced = await new_client(
        target_host=client.service_client.config.target_host,
        interceptors=tracing.interceptors(provider.get_tracer(__name__)),
    )
    async with serving(traced, database_url, task_queue):
        handle = await traced.start_workflow(
            Workflow.run, JOB, id=f"traced-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await result_within(handle) == {"upserted": 4}

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
