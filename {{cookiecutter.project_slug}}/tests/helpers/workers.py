"""The service's own workers on a test's task queue, and a stub activity that paces the work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from {{ cookiecutter.package_name }} import registry
from {{ cookiecutter.package_name }}.db import Database
from {{ cookiecutter.package_name }}.temporal.fanout import records_of
from {{ cookiecutter.package_name }}.temporal.module import WorkflowModule
from {{ cookiecutter.package_name }}.temporal.worker import create_workers, running

from ..module_under_test import FIELDS, MODULE, NAME, Job, Record


@asynccontextmanager
async def serving(
    client: Client,
    database_url: str,
    task_queue: str,
    *,
    modules: Sequence[WorkflowModule] | None = None,
) -> AsyncIterator[None]:
    """The service's own worker, for every registered module, on a test's task queue,
    with its connection pool, for the block; stopped with stop_worker_faster()."""
    database = Database(database_url)
    workers = create_workers(
        client,
        database,
        registry.load() if modules is None else modules,
        task_queue=task_queue,
        graceful_shutdown=timedelta(seconds=1),
    )
    async with running(workers, database):
        yield


class StubUpserts:
    """The module's upsert activity under its real name, writing nothing: it keeps the
    records of every batch it is given. A rule about the workflow (names, limits,
    payloads, arguments) is then proved in seconds, on the real server, without a
    database, as the SDK's samples test workflows; the rules about the database keep it.
    """

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.records: list[Any] = []
        self.batch_sizes: list[int] = []
        # Each batch waits for it to be set: a test paces the work, not the machine.
        self.gate = gate

    @activity.defn(name=f"{NAME}Activities.upsert")
    async def upsert(self, batch: Job) -> int:
        if self.gate is not None:
            await self.gate.wait()
        records = records_of(batch, Record)
        self.records += records
        self.batch_sizes.append(len(records))
        return len(records)

    def expect_every_item_once(self, total: int) -> None:
        keys = [tuple(getattr(record, name) for name in FIELDS.key) for record in self.records]
        assert (len(keys), len(set(keys))) == (total, total), f"expected {total} items once"


@asynccontextmanager
async def serving_stubs(client: Client, task_queue: str, stub: StubUpserts) -> AsyncIterator[None]:
    """The service's workflow worker for the module, as ``serving`` runs it, with ``stub``
    answering its activity on the same task queue; stopped with stop_worker_faster()."""
    workflows = create_workers(client, None, [MODULE], task_queue=task_queue, role="workflows")
    activities = Worker(client, task_queue=task_queue, activities=[stub.upsert])
    async with running([*workflows, activities]):
        yield
