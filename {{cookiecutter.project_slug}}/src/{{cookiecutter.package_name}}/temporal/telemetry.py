"""What a worker tells Prometheus: the SDK's own metrics and the service's counters.

``METRICS_ADDRESS=host:port`` makes the process's Temporal runtime serve
``http://host:port/metrics`` (:func:`install_runtime`, called before any client is
made). Beside the SDK's task latencies and counts, the service counts:

* ``items_upserted``: what each activity reports it upserted (the batch activities
  return their count), labelled by activity type and task queue;
* ``payloads_refused_for_size``: payloads :mod:`.payloads` refused for being over
  200 KiB, wherever the refusal happened.

Counters go through the SDK's meters, so a replayed workflow counts nothing twice.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity, workflow
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from .. import config

ITEMS_UPSERTED = "items_upserted"
PAYLOADS_REFUSED = "payloads_refused_for_size"


def install_runtime() -> str | None:
    """Serve Prometheus metrics at ``METRICS_ADDRESS``, if set; the address, or None.

    It replaces the process's default Temporal runtime, so it must run before the
    first client connects: clients and workers stay on the runtime they began with.
    """
    address = config.metrics_address()
    if address:
        telemetry = TelemetryConfig(metrics=PrometheusConfig(bind_address=address))
        Runtime.set_default(Runtime(telemetry=telemetry), error_if_already_set=False)
    return address


def meter() -> MetricMeter:
    """The meter of the code running now: a workflow's (silent while it replays), an
    activity's (labelled with its type), or the process's."""
    if workflow.in_workflow():
        return workflow.metric_meter()
    if activity.in_activity():
        return activity.metric_meter()
    return Runtime.default().metric_meter


def count_refused_payload() -> None:
    meter().create_counter(PAYLOADS_REFUSED, "payloads refused for being over 200 KiB").add(1)


class _CountUpserts(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        if isinstance(result, int) and not isinstance(result, bool):
            counter = meter().create_counter(ITEMS_UPSERTED, "items upserted", "items")
            counter.add(result)
        return result


class CountUpserts(Interceptor):
    """A worker interceptor: adds each activity's returned count to ``items_upserted``."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountUpserts(next)
