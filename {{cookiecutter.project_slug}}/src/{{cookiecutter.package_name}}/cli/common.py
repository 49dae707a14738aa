"""What the commands share: reading input, choosing a module, connecting, waiting for
Ctrl-C or SIGTERM, and the one-line error a user can fix."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path
from typing import Any

from temporalio.client import Client

from .. import registry
from ..temporal import telemetry
from ..temporal.client import connect_options, workflow_client
from ..temporal.module import WorkflowModule

PACKAGE = __name__.split(".", 1)[0]
# The package's own logger, as every command's lines have always been named.
log = logging.getLogger(PACKAGE)

DEV_DATA_DIR = Path(".dev")


class CommandError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""


def read_input(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"input file not found: {path}") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"{path} is not valid JSON: {error}") from None


def chosen_module(workflow_type: str | None) -> WorkflowModule:
    """The module whose workflow is named ``workflow_type``; the first listed by default."""
    modules = registry.load()
    if workflow_type is None:
        return modules[0]
    for module in modules:
        if module.workflow_type == workflow_type:
            return module
    known = ", ".join(module.workflow_type for module in modules)
    raise CommandError(f"no workflow {workflow_type!r} in this service; it has: {known}")


def example_input(module: WorkflowModule) -> Path:
    return Path("examples") / f"{module.name}.json"


async def connect() -> Client:
    try:
        return await workflow_client()
    except RuntimeError as error:
        address = connect_options()["target_host"]
        raise CommandError(
            f"cannot reach Temporal at {address}: {error}. "
            "Start a server or set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TEMPORAL_API_KEY)."
        ) from None


async def wait_for_stop_signal() -> None:
    """Return on Ctrl-C or SIGTERM, so the caller can shut down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def serve_metrics() -> None:
    """Prometheus metrics at METRICS_ADDRESS, before the first client connects."""
    address = telemetry.install_runtime()
    if address:
        log.info("metrics at http://%s/metrics", address)
