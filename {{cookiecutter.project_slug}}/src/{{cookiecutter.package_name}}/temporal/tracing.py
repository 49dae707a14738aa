"""Opt-in OpenTelemetry tracing: one trace per job, from its start through every child
workflow and activity, by the SDK's ``TracingInterceptor``.

Install the ``otel`` extra and set the standard variables. Tracing is on when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set,
or ``OTEL_TRACES_EXPORTER`` is ``otlp`` or ``console``; ``OTEL_SDK_DISABLED=true``
turns it off. ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` name the
service, and the exporter reads the rest of ``OTEL_EXPORTER_OTLP_*`` itself.
"""

from __future__ import annotations

import os
from typing import Any

EXPORTERS = ("otlp", "console")


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
    from opentelemetry.sdk.trace import TracerProvider
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
    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return True


def interceptors(tracer: Any = None) -> list[Any]:
    """The client interceptors for tracing (workers built on the client use them too):
    the SDK's ``TracingInterceptor``, on ``tracer`` or the global provider's, when on."""
    if not enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer)]
