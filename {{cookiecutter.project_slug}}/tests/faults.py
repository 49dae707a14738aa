"""Servers the fault tests take away and bring back, each in a process of its own."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from {{ cookiecutter.package_name }} import dev

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import TABLE

from .processes import free_port, service_env, wait_for_port


class TemporalServer:
    """``temporal server start-dev`` with a database file, so it restarts where it was."""

    def __init__(self, db_file: Path) -> None:
        self.db_file = db_file
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [dev.temporal_cli_path(), "server", "start-dev", "--headless"]
        command += ["--ip", "127.0.0.1", "--port", str(self.port)]
        command += ["--db-filename", str(self.db_file), "--log-level", "error"]
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


def row_count(database_url: str) -> int:
    """Rows in the example table, or -1 while the database cannot be reached."""
    try:
        with psycopg.connect(database_url, connect_timeout=2) as conn:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(TABLE)).fetchone()
    except psycopg.OperationalError:
        return -1
    return int(row[0]) if row else 0


async def wait_until(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    """Poll ``check()`` every 0.2 s until it holds; fail naming ``what`` past ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.2)
