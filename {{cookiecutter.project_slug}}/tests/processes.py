"""Running the service's pieces as separate processes, as in production."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from {{ cookiecutter.package_name }} import dev

from .support import PROJECT_ROOT

PACKAGE = "{{ cookiecutter.package_name }}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Wait until something accepts connections on the port, or fail if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout}s")


@contextmanager
def background(args: Sequence[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process; on exit, SIGTERM it and kill it if it does not go within 15 s.

    Its output goes to a temporary file, never a pipe nobody reads: a chatty process
    would fill the pipe and block. The last lines are printed when the block exits,
    so a failing test shows what the process said.
    """
    with tempfile.TemporaryFile() as output:
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


def cli(*args: str) -> list[str]:
    """The command line of ``python -m <package> ARGS`` with this interpreter."""
    return [sys.executable, "-m", PACKAGE, *args]


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
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


class TemporalServer:
    """``temporal server start-dev`` in a process of its own.

    With a database file it can be stopped and started again where it was.
    """

    def __init__(self, db_file: Path | None = None) -> None:
        self.db_file = db_file
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [dev.temporal_cli_path(), "server", "start-dev", "--headless"]
        command += ["--ip", "127.0.0.1", "--port", str(self.port)]
        command += ["--log-level", "error"]
        if self.db_file is not None:
            command += ["--db-filename", str(self.db_file)]
        self.process = subprocess.Popen(
            command,
            env=service_env("", ""),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None
