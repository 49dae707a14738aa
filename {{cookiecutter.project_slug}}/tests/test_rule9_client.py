"""Rule 9: one Temporal client per process and event loop, reused by every caller."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client

from {{ cookiecutter.package_name }}.temporal import client as client_module
from {{ cookiecutter.package_name }}.temporal.client import (
    connect_options,
    workflow_client,
)


@pytest.fixture
def server_address(client: Client, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point TEMPORAL_ADDRESS at the session's server and start with an empty cache."""
    address = client.service_client.config.target_host
    monkeypatch.setenv("TEMPORAL_ADDRESS", address)
    monkeypatch.setattr(client_module, "_clients", type(client_module._clients)())
    return address


async def test_two_calls_return_the_same_client(server_address: str) -> None:
    first = await workflow_client()
    second = await workflow_client()
    assert first is second
    assert first.service_client.config.target_host == server_address


async def test_concurrent_first_calls_share_one_connection(server_address: str) -> None:
    clients = await asyncio.gather(*(workflow_client() for _ in range(5)))
    assert len({id(c) for c in clients}) == 1


def test_address_defaults_to_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml")
    assert connect_options()["target_host"] == "localhost:7233"


def test_namespace_and_address_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "orders")
    options = connect_options()
    assert options["target_host"] == "temporal.example:7233"
    assert options["namespace"] == "orders"
