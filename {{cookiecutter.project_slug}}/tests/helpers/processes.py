"""The service's CLI, its worker and dev in processes of their own, and their ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }} import dev

from .jobs import EXAMPLE, PACKAGE, PROJECT_ROOT
from .waits import assert_eventually_here


def free_port() -> int:
    """A local TCP port with nothing listening on it: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def probe(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a health endpoint's GET ``path``; (0, {}) while
    nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Wait until something accepts connections on the port, or fail if the process died."""

    def listening() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    assert_eventually_here(f"something listens on port {port}", listening, timeout)


@contextmanager
def background(
    args: Sequence[str], env: dict[str, str], output_file: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process; on exit, SIGTERM it and kill it if it does not go within 15 s.

    Its output goes to a file (``output_file``, kept for the test to read, or a
    temporary one), never a pipe nobody reads: a chatty process would fill the pipe
    and block. The last lines are printed when the block exits, so a failing test
    shows what the process said.
    """
    with output_file.open("w+b") if output_file else tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            args, env=env, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            output.seek(0)
            tail = output.read().decode("utf-8", "replace").splitlines()[-40:]
            print(f"--- last output of {' '.join(args[-3:])}:", *tail, sep="\n")


def free_port_pair(offset: int = 1000) -> int:
    """A port P where P and P + offset are both free: dev's Temporal and its Web UI."""
    while True:
        port = free_port()
        with socket.socket() as other:
            if other.connect_ex(("127.0.0.1", port + offset)) != 0:
                return port


DEV_READY = "Worker running"


@contextmanager
def dev_running(env: dict[str, str], cwd: Path, timeout: float = 60) -> Iterator[tuple[int, str]]:
    """``dev`` with the example, on ports of its own, in ``cwd`` (where it keeps .dev/),
    until it is ready; yields its Temporal port and what it printed. Ctrl-C at the end."""
    port = free_port_pair()
    output = cwd / "dev.log"
    command = cli("dev", "--port", str(port), "--input-file", str(EXAMPLE))
    with output.open("wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=sink, stderr=sink)
    try:

        def ready() -> bool:
            printed = output.read_text(encoding="utf-8")
            assert process.poll() is None, printed[-3000:]
            return DEV_READY in printed

        assert_eventually_here(f"dev prints {DEV_READY!r}", ready, timeout, every=0.2)
        yield port, output.read_text(encoding="utf-8")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def cli(*args: str) -> list[str]:
    """The command line of ``python -m <package> ARGS`` with this interpreter."""
    return [sys.executable, "-m", PACKAGE, *args]


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <package> ARGS`` in the project directory, output captured."""
    return subprocess.run(
        cli(*args),
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def temporal_cli(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``temporal`` CLI against the server at ``address``, output captured."""
    return subprocess.run(
        [dev.temporal_cli_path(), *args, "--address", address],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def service_env(temporal_address: str, database_url: str) -> dict[str, str]:
    return os.environ | {"TEMPORAL_ADDRESS": temporal_address, "DATABASE_URL": database_url}
