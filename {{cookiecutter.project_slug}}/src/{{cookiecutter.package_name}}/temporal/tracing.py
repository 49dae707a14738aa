"""Opt-in OpenTelemetry tracing: one trace per job, from its start through every child
workflow and activity, by the SDK's ``OpenTelemetryPlugin``.

Install the ``otel`` extra and set the standard variables. Tracing is on when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set,
or ``OTEL_TRACES_EXPORTER`` is ``otlp`` or ``console``; ``OTEL_SDK_DISABLED=true``
turns it off. ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` name the
service, and the exporter reads the rest of ``OTEL_EXPORTER_OTLP_*`` itself.

The plugin (experimental in temporalio 1.35, and the SDK's README's recommended way; the
``TracingInterceptor`` it replaces is now called legacy) gives workflow spans their real
duration. It traces through the global provider, which must be the SDK's replay-safe one:
a span a workflow opens is then not opened again when the workflow replays.
"""

from __future__ import annotations

import os
from typing import Any

EXPORTERS = ("otlp", "console")
# The provider install_provider() made, which flush() empties before the process leaves.
_installed: list[Any] = []


def enabled() -> bool:
    """Whether the environment asks for traces."""
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").lower()
    return chosen in EXPORTERS or any(os.environ.get(name) for name in endpoints)


def install_provider() -> bool:
    """Send this process's spans where the environment says; True if tracing is on.

    Call it once, before the first client connects. Without the ``otel`` extra it
    raises ImportError, which names the missing package.
    """
    if not enabled():
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    exporter: SpanExporter
    if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    from temporalio.contrib.opentelemetry import create_tracer_provider

    provider = create_tracer_provider(resource=Resource.create())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _installed.append(provider)
    return True


def flush() -> None:
    """Export the spans still batched, and stop the exporter.

    The commands leave by ``os._exit`` (cli/main.py says why), which runs no exit hook:
    without this, a short command such as ``run`` would lose its last spans, often all.
    """
    while _installed:
        _installed.pop().shutdown()


def plugins() -> list[Any]:
    """The client plugins for tracing (workers built on the client take them too): the
    SDK's ``OpenTelemetryPlugin`` with its StartWorkflow, RunWorkflow, StartActivity and
    RunActivity spans, when the environment asks for traces."""
    if not enabled():
        return []
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

    return [OpenTelemetryPlugin(add_temporal_spans=True)]
