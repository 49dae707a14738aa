"""One Temporal client per process and event loop, as the workflow guide asks.

``Client.connect`` opens a gRPC connection; building one per call wastes seconds
and sockets. :func:`workflow_client` connects once per event loop (a client is
bound to the loop it was made on) and hands the same object to every caller.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfig

from .. import config
from . import tracing
from .payloads import data_converter

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[Client]] = (
    weakref.WeakKeyDictionary()
)


def connect_options() -> dict[str, Any]:
    """``Client.connect`` keyword arguments from ``temporalio.envconfig``.

    Reads ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``,
    ``TEMPORAL_TLS*`` and ``temporal.toml`` profiles; the address defaults to
    ``localhost:7233`` when nothing sets it.
    """
    options: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    options.setdefault("target_host", config.DEFAULT_TEMPORAL_ADDRESS)
    return options


async def new_client(**overrides: Any) -> Client:
    """A fresh client with this service's settings. Prefer :func:`workflow_client`."""
    defaults = {"data_converter": data_converter(), "plugins": tracing.plugins()}
    options = connect_options() | defaults | overrides
    return await Client.connect(**options)


async def workflow_client() -> Client:
    """The process's client for the running event loop, connected on first use."""
    loop = asyncio.get_running_loop()
    task = _clients.get(loop)
    if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
        # Cache the connecting task, not the client, so that concurrent first callers
        # share one connection attempt; a failed attempt is dropped and retried.
        task = loop.create_task(new_client())
        _clients[loop] = task
    return await asyncio.shield(task)
