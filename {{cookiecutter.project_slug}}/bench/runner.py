"""Items per second of the service, measured beside the designs that bound it.

In one process, on the same servers, each round runs every design over a fresh table:

* PostgreSQL's own idempotent bulk paths, no Temporal (bench/paths.py): ``executemany``,
  ``unnest`` and ``copy`` (COPY into a temporary table, then one merge), each on one
  connection (``/1``) and on as many as a worker's pool holds (``/8``). The best of
  them is this machine's limit for this work.
* ``per_item_noop``: the raw SDK, one no-op activity per item: the ceiling of any
  one-item-per-activity design.
* ``guide_style``: one activity per item, each opening its own connection and running one
  plain ``INSERT ... ON CONFLICT``, as the guide's examples do.
* ``service``: the service's own workflow with its defaults over one job of a
  ``key_range``: batches of KEY_RANGE_BATCH_SIZE, the pool, the payload guard and the
  fan-out.
* ``service_inline``: the same items as records sent inline, as real records travel:
  jobs as big as the 200 KB payload rule allows, one batch each, INLINE_IN_FLIGHT at once.
* ``staged``: the same items as a CSV file the service loads (docs/loading.md): staged,
  checked row by row, merged in ranges, through Temporal; beside it PostgreSQL's own
  path for the same file (bench/files.py), ``file/1`` and ``file/4``: COPY and one
  merge, on one connection and on four at once, with the file cut into four parts.

The direct paths, the file paths and the services run twice on each table: ``insert``
(it is empty) and ``update`` (the same keys again). The per-item designs run at most PER_ITEM_SAMPLE
items, inserted only: at their speed a big run would take hours, and their cost per
item does not fall with size.
"""

from __future__ import annotations

import asyncio
import compileall
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
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from psycopg import sql
from temporalio.client import Client
from temporalio.worker import Worker

from {{ cookiecutter.package_name }} import db, dev, registry
from {{ cookiecutter.package_name }}.fields import Fields
from {{ cookiecutter.package_name }}.temporal import histories
from {{ cookiecutter.package_name }}.temporal.client import new_client
from {{ cookiecutter.package_name }}.temporal.fanout import (
    KEY_RANGE_BATCH_SIZE,
    MAX_ACTIVITIES_PER_RUN,
    MAX_BATCH_SIZE,
    staged_batch_size,
)
from {{ cookiecutter.package_name }}.temporal.module import WorkflowModule
from {{ cookiecutter.package_name }}.temporal.payloads import MAX_PAYLOAD_BYTES
from {{ cookiecutter.package_name }}.temporal.worker import (
    MAX_CONCURRENT_ACTIVITIES,
    create_workers,
    running,
)

from . import files, paths
from .noop import GuideStyle, PerItem, PerItemJob, noop

log = logging.getLogger(__name__)

PER_ITEM_SAMPLE = 2000
DIRECT = tuple(f"{path}/{n}" for path in paths.PATHS for n in (1, MAX_CONCURRENT_ACTIVITIES))
FILES = ("file/1", "file/4")
SERVICES = ("service", "service_inline", "staged")
DESIGNS = (*DIRECT, "per_item_noop", "guide_style", *FILES, *SERVICES)
# Inline jobs running at once: two per activity slot, so a slot never waits for a start.
INLINE_IN_FLIGHT = 2 * MAX_CONCURRENT_ACTIVITIES
# Of the payload limit, what an inline job's records may take: the rest is the job's
# own keys and the converter's framing.
INLINE_SHARE = 0.9
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
    return CASES if design in (*DIRECT, *FILES, *SERVICES) else ("insert",)


async def timed(run: Callable[[int], Awaitable[None]], items: int) -> float:
    began = time.perf_counter()
    await run(items)
    return time.perf_counter() - began


def key_range_job(items: int, **settings: int) -> dict[str, Any]:
    return {"key_range": {"first": 1, "count": items}, **settings}


def inline_jobs(fields: Fields, items: int) -> Iterator[dict[str, Any]]:
    """Stand-ins 1 to ``items`` as records, in jobs of at most INLINE_SHARE of the payload
    limit, each one batch: the largest batch an inline record can travel in."""
    # Records grow with their numbers' digits; the last few are the longest (every
    # fourth has its optional fields null, so one alone may not be).
    longest = max(
        len(json.dumps(fields.dump(SimpleNamespace(**fields.numbered(number)))))
        for number in range(max(1, items - 7), items + 1)
    )
    per_job = min(int(INLINE_SHARE * MAX_PAYLOAD_BYTES) // (longest + 2), MAX_BATCH_SIZE)
    for first in range(1, items + 1, per_job):
        numbers = range(first, min(first + per_job, items + 1))
        records = [fields.dump(SimpleNamespace(**fields.numbered(n))) for n in numbers]
        yield {"records": records, "batch_size": len(records)}


class Bench:
    """The designs, on one client, one database and one module."""

    def __init__(
        self, client: Client, database_url: str, module: WorkflowModule, scratch: Path
    ) -> None:
        self.client = client
        self.database_url = database_url
        self.module = module
        self.largest_history = 0
        self.largest_payload = 0
        self.scratch = scratch
        self._csv: Path | None = None
        # The services' runs, read after the timing: each id and its first run.
        self.to_measure: list[tuple[str, str | None]] = []

    def csv_of(self, items: int) -> Path:
        """The CSV of stand-ins 1 to ``items`` that the file designs load, made once."""
        if self._csv is None:
            self._csv = files.write_csv(self.scratch / "items.csv", self.module.fields, items)
        return self._csv

    def empty_table(self) -> None:
        with db.connect_to_db(self.database_url, attempts=1) as conn:
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(self.module.table)))
            conn.commit()

    def direct(self, design: str) -> Callable[[int], Awaitable[None]]:
        """The direct path ``design`` names (``copy/8``), in the batches of the service's
        job (KEY_RANGE_BATCH_SIZE), so that Temporal is all that differs."""
        path, connections = design.split("/")

        async def run(items: int) -> None:
            await paths.write(
                path, self.database_url, self.module.table, self.module.fields, items,
                batch_size=KEY_RANGE_BATCH_SIZE, connections=int(connections),
            )  # fmt: skip

        return run

    def file(self, design: str) -> Callable[[int], Awaitable[None]]:
        """PostgreSQL's own path for the CSV the ``staged`` design loads (bench/files.py)."""
        connections = int(design.split("/")[1])

        async def run(items: int) -> None:
            table, fields = self.module.table, self.module.fields
            path = self.csv_of(items)
            await files.load(self.database_url, table, fields, path, connections)

        return run

    def design(self, name: str) -> Callable[[int], Awaitable[None]]:
        if name in DIRECT:
            return self.direct(name)
        if name in FILES:
            return self.file(name)
        run: Callable[[int], Awaitable[None]] = getattr(self, name)
        return run

    async def per_item(self, items: int, activity: Callable[..., Any], name: str) -> None:
        """One activity per item, a workflow a thousand items (rule 3)."""
        queue = f"bench-per-item-{uuid.uuid4()}"
        worker = Worker(self.client, task_queue=queue, workflows=[PerItem], activities=[activity])
        async with running([worker]):
            await asyncio.gather(
                *(
                    self.client.execute_workflow(
                        PerItem.run,
                        PerItemJob(activity=name, first=first + 1, count=count),
                        id=f"{queue}-{first}",
                        task_queue=queue,
                    )
                    for first in range(0, items, MAX_ACTIVITIES_PER_RUN)
                    for count in [min(MAX_ACTIVITIES_PER_RUN, items - first)]
                )
            )

    async def per_item_noop(self, items: int) -> None:
        await self.per_item(items, noop, "bench.noop")

    async def guide_style(self, items: int) -> None:
        """One activity per item, each opening a connection for one plain INSERT ... ON
        CONFLICT, as the guide's examples do."""
        style = GuideStyle(self.database_url, self.module.table, self.module.fields)
        await self.per_item(items, style.upsert, "bench.guide_upsert")

    async def staged(self, items: int) -> None:
        """The service loading the CSV: staged, checked, merged, through Temporal."""
        job = {"source": {"url": self.csv_of(items).as_uri()}}
        await self.run_service([job], pooled=True, measure_history=True)

    async def service(self, items: int) -> None:
        await self.run_service([key_range_job(items)], pooled=True, measure_history=True)

    async def service_inline(self, items: int) -> None:
        jobs = inline_jobs(self.module.fields, items)
        await self.run_service(jobs, pooled=True, in_flight=INLINE_IN_FLIGHT)

    async def run_service(
        self,
        jobs: Iterable[dict[str, Any]],
        *,
        pooled: bool,
        measure_history: bool = False,
        in_flight: int = 1,
    ) -> None:
        """Run ``jobs`` on workers of their own, ``in_flight`` at a time, to the end."""
        queue = f"bench-{uuid.uuid4()}"
        database = db.Database(self.database_url)
        workers = create_workers(self.client, database, [self.module], task_queue=queue)
        pending = enumerate(jobs)  # made as they start, so that few are in memory at once
        started: list[tuple[str, str | None]] = []  # each job's id and first run

        async def one_at_a_time() -> None:
            for number, job in pending:
                handle = await self.client.start_workflow(
                    self.module.workflow_type, job, id=f"{queue}-{number}", task_queue=queue
                )
                await handle.result()
                started.append((handle.id, handle.first_execution_run_id))

        async with running(workers, database if pooled else None):
            await asyncio.gather(*(one_at_a_time() for _ in range(in_flight)))
        if measure_history:
            self.to_measure += started

    async def measure_histories(self) -> None:
        """The most events in any one run of the services' workflows, their continuations
        and children, and the largest payload any of them carries; outside the timing."""
        for workflow_id, first_run in self.to_measure:
            runs = await histories.every_history(self.client, workflow_id, first_run)
            longest = max(len(history.events) for history in runs)
            self.largest_history = max(self.largest_history, longest)
            self.largest_payload = max(self.largest_payload, *histories.payload_sizes(runs), 0)
        self.to_measure.clear()


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


async def measure(
    module: WorkflowModule, items: int, rounds: int, designs: Sequence[str] = DESIGNS
) -> dict[str, Any]:
    """Run ``designs`` ``rounds`` times on servers of their own (or the environment's)."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        stack = dev.dev_stack(
            registry.load(), Path(scratch), keep=False, temporal_port=None, ui=False
        )
        async with stack as servers:
            bench = Bench(await new_client(), servers.database_url, module, Path(scratch))
            sample = min(items, PER_ITEM_SAMPLE)
            measures = {
                name: Measure(sample if name in ("per_item_noop", "guide_style") else items)
                for name in designs
            }
            for round_number in range(1, rounds + 1):
                for name, figures in measures.items():
                    if figures.applicable:
                        await run_design(bench, name, figures, round_number)
            report_versions = versions(servers.database_url)
    return report(module, rounds, measures, bench, report_versions)


async def run_design(bench: Bench, name: str, figures: Measure, round_number: int) -> None:
    """One round of one design over an empty table: each of its cases, timed and checked."""
    bench.empty_table()
    if name in (*FILES, "staged"):
        bench.csv_of(figures.items)  # made once, before any timing
    for case in cases_of(name):
        try:
            seconds = await timed(bench.design(name), figures.items)
        except paths.PathNotApplicable as why:
            log.info("%s: not for this record (%s)", name, why)
            figures.applicable = False
            return
        figures.seconds.setdefault(case, []).append(seconds)
        log.info(
            "round %d, %s, %s: %.2fs, %s items/s",
            round_number, name, case, seconds, f"{figures.items / seconds:,.0f}",
        )  # fmt: skip
        await bench.measure_histories()
        rows = db.count_rows(bench.database_url, bench.module.table)
        if name != "per_item_noop" and rows != figures.items:
            raise RuntimeError(f"{name} left {rows} rows, not {figures.items}")


def report(
    module: WorkflowModule,
    rounds: int,
    measures: dict[str, Measure],
    bench: Bench,
    report_versions: dict[str, str],
) -> dict[str, Any]:
    rates = {
        case: {name: figures.items_per_second(case) for name, figures in measures.items()}
        for case in CASES
    }

    def fastest(names: Sequence[str]) -> dict[str, str | None]:
        """Of ``names``, the fastest in each case that ran."""
        return {
            case: max(
                (name for name in names if rates[case].get(name)),
                key=lambda name: rates[case][name] or 0.0,
                default=None,
            )
            for case in CASES
        }

    best, best_file = fastest(DIRECT), fastest(FILES)

    def ratio(case: str, design: str, other: str | None, digits: int = 3) -> float | None:
        mine, that = rates[case].get(design), rates[case].get(other) if other else None
        return round(mine / that, digits) if mine and that else None

    def rounded(case: str) -> dict[str, float | None]:
        return {
            name: None if rate is None else round(rate, 1)
            for name, rate in rates[case].items()
            if case in cases_of(name)
        }

    service = rates["insert"].get("service")
    return {
        "workflow": module.workflow_type,
        "rounds": rounds,
        "items": {name: figures.items for name, figures in measures.items()},
        "items_per_second": rounded("insert"),
        "items_per_second_update": rounded("update"),
        "seconds": {name: figures.seconds for name, figures in measures.items()},
        "best_direct": best,
        "service_vs_direct": ratio("insert", "service", best["insert"]),
        "service_vs_direct_update": ratio("update", "service", best["update"]),
        "service_inline_vs_direct": ratio("insert", "service_inline", best["insert"]),
        "best_file": best_file,
        "staged_vs_file": ratio("insert", "staged", best_file["insert"]),
        "staged_vs_file_update": ratio("update", "staged", best_file["update"]),
        "service_vs_per_item_noop": ratio("insert", "service", "per_item_noop", 2),
        "service_vs_guide_style": ratio("insert", "service", "guide_style", 2),
        "service_microseconds_per_item": round(1e6 / service, 2) if service else None,
        "batch_size": KEY_RANGE_BATCH_SIZE,
        "staged_batch_size": (
            staged_batch_size(measures["staged"].items) if "staged" in measures else None
        ),
        "max_concurrent_activities": MAX_CONCURRENT_ACTIVITIES,
        "largest_history_events": bench.largest_history,
        "largest_payload_bytes": bench.largest_payload,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "cores": os.cpu_count(),
        "versions": report_versions,
    }


def table(report: dict[str, Any]) -> str:
    def shown(rate: float | None) -> str:
        return "n/a" if rate is None else f"{rate:,.0f}"

    inserts, updates = report["items_per_second"], report["items_per_second_update"]
    service = inserts.get("service")
    lines = [
        f"{'design':<16}{'items':>11}{'insert/s':>11}{'update/s':>11}{'service/this':>14}",
    ]
    for name, rate in inserts.items():
        ratio = f"{service / rate:>14.2f}" if service and rate else f"{'':>14}"
        update = shown(updates[name]) if name in updates else "-"
        lines.append(f"{name:<16}{report['items'][name]:>11,}{shown(rate):>11}{update:>11}{ratio}")
    best = report["best_direct"]
    if best["insert"] and service:
        lines.append(
            f"best direct path: {best['insert']} (insert), {best['update']} (update); service "
            f"at {report['service_vs_direct']:.2f} and {report['service_vs_direct_update']:.2f} "
            "of it"
        )
    files = report["best_file"]
    if files["insert"] and report["staged_vs_file"]:
        lines.append(
            f"best file path: {files['insert']} (insert), {files['update']} (update); staged "
            f"at {report['staged_vs_file']:.2f} and {report['staged_vs_file_update']:.2f} of it"
        )
    batches = f"batches of {report['batch_size']:,}"
    if report["staged_batch_size"]:
        batches += f", a load's merges of {report['staged_batch_size']:,} rows"
    lines.append(
        f"median of {report['rounds']} rounds; {batches}; largest "
        f"history {report['largest_history_events']:,} events, largest payload "
        f"{report['largest_payload_bytes']:,} bytes; peak RSS {report['peak_rss_mib']} MiB; "
        f"{report['cores']} cores"
    )
    return "\n".join(lines)


async def main(
    module: WorkflowModule, items: int, rounds: int, output: Path, designs: Sequence[str]
) -> None:
    # As an image's code is (Dockerfile, UV_COMPILE_BYTECODE): the sandbox imports a
    # workflow's module again for every run, from source if no bytecode is cached.
    for code in (Path(db.__file__).parent, Path(__file__).parent):
        compileall.compile_dir(code, quiet=1)
    measured = await measure(module, items, rounds, designs)
    await asyncio.to_thread(output.write_text, json.dumps(measured, indent=2) + "\n", "utf-8")
    print(table(measured))
    print(f"written to {output}")
