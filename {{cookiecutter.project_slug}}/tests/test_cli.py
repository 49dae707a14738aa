"""The command line: help on every command, and clear one-line errors when set-up is missing."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import cli

from .helpers import PACKAGE, free_port, run_cli, service_env
from .module_under_test import MODULE

COMMANDS = [
    "dev",
    "worker",
    "init-db",
    "run",
    "load",
    "rejects",
    "codec-server",
    "record-history",
    "schedules",
]


def test_the_package_runs_as_a_command_and_lists_every_command() -> None:
    result = run_cli("--help", env=service_env("", ""))
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: python -m {PACKAGE}")
    listed = re.findall(r"^    ([a-z-]+)\s", result.stdout, re.MULTILINE)
    assert listed == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    # In this process: a process per command would cost a second of start-up each.
    with pytest.raises(SystemExit) as exit_info:
        cli.run_command([command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m {PACKAGE} {command}")


def test_worker_without_database_url_says_what_to_set() -> None:
    result = run_cli("worker", env=service_env(f"127.0.0.1:{free_port()}", ""))
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_without_temporal_exits_with_a_clear_message(database_url: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = run_cli("worker", env=service_env(address, database_url))
    assert result.returncode != 0
    assert f"cannot reach Temporal at {address}" in result.stderr
    assert "TEMPORAL_ADDRESS" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_without_database_exits_with_a_clear_message() -> None:
    port = free_port()
    url = f"postgresql://app@127.0.0.1:{port}/app"
    result = run_cli("worker", env=service_env(f"127.0.0.1:{free_port()}", url), timeout=30)
    assert result.returncode != 0
    assert f"cannot connect to PostgreSQL at host=127.0.0.1 port={port}" in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_dev_on_a_taken_port_names_it_and_what_to_do(database_url: str) -> None:
    # A second `dev` beside a running one: said at once, not after the server's start-up
    # bound as a traceback.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli(
            "dev", "--port", str(port), "--once", env=service_env("", database_url), timeout=60
        )
    assert result.returncode == 1
    assert f"port {port}, the Temporal server's, is taken" in result.stderr
    assert "--port" in result.stderr
    assert "TEMPORAL_ADDRESS" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_db_without_a_database_exits_after_its_attempts() -> None:
    url = f"postgresql://app@127.0.0.1:{free_port()}/app"
    result = run_cli("init-db", "--attempts", "2", env=service_env("", url))
    assert result.returncode == 1
    assert "after 2 attempts" in result.stderr
    assert "Traceback" not in result.stderr
    # Logs are text by default (tests/test_logs.py: LOG_FORMAT=json).
    assert " WARNING " in result.stderr
    assert not any(line.startswith("{") for line in result.stderr.splitlines())


def test_run_names_the_workflows_it_has_when_asked_for_another(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text("{}", encoding="utf-8")
    result = run_cli(
        "run", "--input-file", str(job), "--workflow", "NoSuchWorkflow", env=service_env("", "")
    )
    assert result.returncode == 1
    assert f"no workflow 'NoSuchWorkflow' in this service; it has: {MODULE.workflow_type}" in (
        result.stderr
    )
