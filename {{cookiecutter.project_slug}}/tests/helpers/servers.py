"""A Temporal dev server the fault tests can stop and start again where it was.

The tests' shared server comes from ``dev.start_temporal``, as dev's does; this one
runs in a process of its own, because a restart must keep its address and data.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from {{ cookiecutter.package_name }} import dev

from .processes import free_port, service_env, temporal_cli, wait_for_port
from .waits import assert_eventually_here

# Dev server options for the tests: one partition per task queue, so that describing a
# queue lists all its pollers (the multi-process tests wait for every process to poll).
ONE_PARTITION_PER_QUEUE = [
    option
    for partitions in ("numTaskqueueReadPartitions", "numTaskqueueWritePartitions")
    for option in ("--dynamic-config-value", f"matching.{partitions}=1")
]


class TemporalServer:
    """``temporal server start-dev`` in a process of its own.

    With a database file it can be stopped and started again where it was.
    """

    def __init__(self, db_file: Path | None = None) -> None:
        self.db_file = db_file
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_once = False

    def start(self, attempts: int = 3) -> None:
        """Start the server; on a port clash, try again on other free ports.

        The dev server also binds ports next to its own (its internal services), and
        a free port now may be taken a moment later: a clash makes it exit at once.
        """
        for attempt in range(1, attempts + 1):
            command = [dev.temporal_cli_path(), "server", "start-dev", "--headless"]
            command += ["--ip", "127.0.0.1", "--port", str(self.port), "--log-level", "error"]
            command += ONE_PARTITION_PER_QUEUE
            if self.db_file is not None:
                command += ["--db-filename", str(self.db_file)]
            self.process = subprocess.Popen(
                command,
                env=service_env("", ""),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_for_port(self.port, self.process)
                self.wait_until_serving()
            except RuntimeError:
                # A restart must keep its address: clients and workers hold it.
                if attempt == attempts or self.started_once:
                    raise
                self.port = free_port()
                self.address = f"127.0.0.1:{self.port}"
            else:
                self.started_once = True
                return

    def wait_until_serving(self, timeout: float = 30) -> None:
        """Wait until the frontend answers a real call, not only its port.

        After a restart the port opens before the frontend marks itself healthy;
        until then every call fails with "Frontend is not healthy yet".
        """
        describe = ["operator", "namespace", "describe", "--namespace", "default"]

        def serving() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError("the Temporal server exited before it served")
            return temporal_cli(self.address, *describe).returncode == 0

        assert_eventually_here(f"Temporal at {self.address} serves", serving, timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None
