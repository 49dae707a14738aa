"""Items per second of the service, measured beside the designs that bound it.

In one process, on the same servers, each round runs every design over a fresh table:

* PostgreSQL's own idempotent bulk paths, no Temporal (bench/paths.py): ``executemany``,
  ``unnest`` and ``copy`` (COPY into a temporary table, then one merge), each on one
  connection (``/1``) and on as many as a worker's pool holds (``/8``). The best of
  them is this machine's limit for this work.
* ``per_item_noop``: the raw SDK, one no-op activity per item: the ceiling of any
  one-item-per-activity design.
* ``guide_style``: one activity per item, each opening its own connection, as the
  guide's examples do.
* ``service``: the service's own workflow with its defaults: batches, the pool, the
  payload guard and the fan-out.

The direct paths and the service run twice on each table: ``insert`` (it is empty) and
``update`` (the same keys again). The per-item designs run at most PER_ITEM_SAMPLE
items, inserted only: at their speed a big run would take hours, and their cost per
item does not fall with size.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from psycopg import sql
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from {{ cookiecutter.package_name }} import db, dev, registry
from {{ cookiecutter.package_name }}.bench import paths
from {{ cookiecutter.package_name }}.bench.noop import PerItemNoop, noop
from {{ cookiecutter.package_name }}.temporal.client import new_client
from {{ cookiecutter.package_name }}.temporal.fanout import BATCH_SIZE, MAX_ACTIVITIES_PER_RUN
from {{ cookiecutter.package_name }}.temporal.module import WorkflowModule
from {{ cookiecutter.package_name }}.temporal.worker import (
    MAX_CONCURRENT_ACTIVITIES,
    create_workers,
    running,
)

log = logging.getLogger(__name__)

PER_ITEM_SAMPLE = 2000
DIRECT = tuple(f"{path}/{n}" for path in paths.PATHS for n in (1, MAX_CONCURRENT_ACTIVITIES))
DESIGNS = (*DIRECT, "per_item_noop", "guide_style", "service")
CASES = ("insert", "update")


@dataclass
class Measure:
    """One design's runs: how many items, and how long each round took, by case."""

    items: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    applicable: bool = True

    def items_per_second(self, case: str) -> float | None:
        if not self.applicable or not self.seconds.get(case):
            return None
        return self.items / statistics.median(self.seconds[case])


def cases_of(design: str) -> tuple[str, ...]:
    return CASES if design in (*DIRECT, "service") else ("insert",)


async def timed(run: Callable[[int], Awaitable[None]], items: int) -> float:
    began = time.perf_counter()
    await run(items)
    return time.perf_counter() - began


def key_range_job(items: int, **settings: int) -> dict[str, Any]:
    return {"key_range": {"first": 1, "count": items}, **settings}


class Bench:
    """The designs, on one client, one database and one module."""

    def __init__(self, client: Client, database_url: str, module: WorkflowModule) -> None:
        self.client = client
        self.database_url = database_url
        self.module = module
        self.largest_history = 0

    def empty_table(self) -> None:
        with db.connect_to_db(self.database_url, attempts=1) as conn:
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(self.module.table)))
            conn.commit()

    def direct(self, design: str) -> Callable[[int], Awaitable[None]]:
        """The direct path ``design`` names (``copy/8``), in batches of BATCH_SIZE."""
        path, connections = design.split("/")

        async def run(items: int) -> None:
            await paths.write(
                path, self.database_url, self.module.table, self.module.fields, items,
                batch_size=BATCH_SIZE, connections=int(connections),
            )  # fmt: skip

        return run

    def design(self, name: str) -> Callable[[int], Awaitable[None]]:
        run: Callable[[int], Awaitable[None]] = (
            self.direct(name) if name in DIRECT else getattr(self, name)
        )
        return run

    async def per_item_noop(self, items: int) -> None:
        queue = f"bench-noop-{uuid.uuid4()}"
        worker = Worker(self.client, task_queue=queue, workflows=[PerItemNoop], activities=[noop])
        async with running([worker]):
            await asyncio.gather(
                *(
                    self.client.execute_workflow(
                        PerItemNoop.run,
                        min(MAX_ACTIVITIES_PER_RUN, items - start),
                        id=f"{queue}-{start}",
                        task_queue=queue,
                    )
                    for start in range(0, items, MAX_ACTIVITIES_PER_RUN)
                )
            )

    async def guide_style(self, items: int) -> None:
        """The service's workflow, one item per activity, and no pool: a connection each."""
        await self.run_service(key_range_job(items, batch_size=1), pooled=False)

    async def service(self, items: int) -> None:
        await self.run_service(key_range_job(items), pooled=True, measure_history=True)

    async def run_service(
        self, job: dict[str, Any], *, pooled: bool, measure_history: bool = False
    ) -> None:
        queue = f"bench-{uuid.uuid4()}"
        database = db.Database(self.database_url)
        workers = create_workers(self.client, database, [self.module], task_queue=queue)
        async with running(workers, database if pooled else None):
            handle = await self.client.start_workflow(
                self.module.workflow_type, job, id=queue, task_queue=queue
            )
            await handle.result()
        if measure_history:
            self.largest_history = max(self.largest_history, await self.longest_run(handle.id))

    async def longest_run(self, workflow_id: str) -> int:
        """The most events in any one run of the workflow, its continuations and children."""
        longest, pending = 0, [workflow_id]
        while pending:
            history = await self.client.get_workflow_handle(pending.pop()).fetch_history()
            longest = max(longest, len(history.events))
            for event in history.events:
                if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                    attributes = event.child_workflow_execution_started_event_attributes
                    pending.append(attributes.workflow_execution.workflow_id)
        return longest


def versions(database_url: str) -> dict[str, str]:
    with db.connect_to_db(database_url, attempts=1) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    cli = subprocess.run(
        [dev.temporal_cli_path(), "--version"], capture_output=True, text=True, check=False
    )
    return {
        "python": platform.python_version(),
        "temporalio": metadata.version("temporalio"),
        "psycopg": metadata.version("psycopg"),
        "postgresql": str(row[0]) if row else "?",
        "temporal_cli": cli.stdout.strip() or "?",
    }


def peak_rss_mib() -> float:
    """This process's peak resident memory: the workers ran in it."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


async def measure(module: WorkflowModule, items: int, rounds: int) -> dict[str, Any]:
    """Run every design ``rounds`` times on servers of its own (or the environment's)."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        stack = dev.dev_stack(
            registry.load(), Path(scratch), keep=False, temporal_port=None, ui=False
        )
        async with stack as servers:
            bench = Bench(await new_client(), servers.database_url, module)
            sample = min(items, PER_ITEM_SAMPLE)
            measures = {
                name: Measure(sample if name in ("per_item_noop", "guide_style") else items)
                for name in DESIGNS
            }
            for round_number in range(1, rounds + 1):
                for name, figures in measures.items():
                    if not figures.applicable:
                        continue
                    bench.empty_table()
                    for case in cases_of(name):
                        try:
                            seconds = await timed(bench.design(name), figures.items)
                        except paths.PathNotApplicable as why:
                            log.info("%s: not for this record (%s)", name, why)
                            figures.applicable = False
                            break
                        figures.seconds.setdefault(case, []).append(seconds)
                        log.info("round %d, %s, %s: %.2fs", round_number, name, case, seconds)
                        rows = db.count_rows(servers.database_url, module.table)
                        if name != "per_item_noop" and rows != figures.items:
                            raise RuntimeError(f"{name} left {rows} rows, not {figures.items}")
            report_versions = versions(servers.database_url)
    rates = {
        case: {name: figures.items_per_second(case) for name, figures in measures.items()}
        for case in CASES
    }
    best = {
        case: max((name for name in DIRECT if rates[case][name]), key=lambda n: rates[case][n] or 0)
        for case in CASES
    }

    def ratio(case: str, other: str, digits: int) -> float:
        service, that = rates[case]["service"], rates[case][other]
        return round((service or 0) / that, digits) if that else 0.0

    return {
        "workflow": module.workflow_type,
        "rounds": rounds,
        "items": {name: figures.items for name, figures in measures.items()},
        "items_per_second": {
            name: None if rate is None else round(rate, 1) for name, rate in rates["insert"].items()
        },
        "items_per_second_update": {
            name: None if rate is None else round(rate, 1)
            for name, rate in rates["update"].items()
            if name in (*DIRECT, "service")
        },
        "seconds": {name: figures.seconds for name, figures in measures.items()},
        "best_direct": best,
        "service_vs_direct": ratio("insert", best["insert"], 3),
        "service_vs_direct_update": ratio("update", best["update"], 3),
        "service_vs_per_item_noop": ratio("insert", "per_item_noop", 2),
        "service_vs_guide_style": ratio("insert", "guide_style", 2),
        "batch_size": BATCH_SIZE,
        "max_concurrent_activities": MAX_CONCURRENT_ACTIVITIES,
        "largest_history_events": bench.largest_history,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "cores": os.cpu_count(),
        "versions": report_versions,
    }


def table(report: dict[str, Any]) -> str:
    def shown(rate: float | None) -> str:
        return "n/a" if rate is None else f"{rate:,.0f}"

    inserts, updates = report["items_per_second"], report["items_per_second_update"]
    lines = [
        f"{'design':<16}{'items':>10}{'insert/s':>11}{'update/s':>11}{'service/this':>14}",
    ]
    for name in DESIGNS:
        rate = inserts[name]
        ratio = f"{inserts['service'] / rate:>14.2f}" if rate else f"{'':>14}"
        update = updates.get(name) if name in updates else None
        update_shown = shown(update) if name in updates else "-"
        lines.append(
            f"{name:<16}{report['items'][name]:>10,}{shown(rate):>11}{update_shown:>11}{ratio}"
        )
    best = report["best_direct"]
    lines.append(
        f"best direct path: {best['insert']} (insert), {best['update']} (update); service at "
        f"{report['service_vs_direct']:.2f} and {report['service_vs_direct_update']:.2f} of it"
    )
    lines.append(
        f"median of {report['rounds']} rounds; largest history "
        f"{report['largest_history_events']:,} events; peak RSS {report['peak_rss_mib']} MiB; "
        f"{report['cores']} cores"
    )
    return "\n".join(lines)


async def main(module: WorkflowModule, items: int, rounds: int, output: Path) -> None:
    report = await measure(module, items, rounds)
    await asyncio.to_thread(output.write_text, json.dumps(report, indent=2) + "\n", "utf-8")
    print(table(report))
    print(f"written to {output}")
