"""The guide's pattern for a job of any size, written once for every workflow module.

A job names its items compactly: a list of ``records`` and/or a ``key_range`` of
numbered stand-in records, or a ``source`` whose rows a load stages into PostgreSQL
and then names as ``staged`` ranges (temporal/loading.py), so that a million items
still fit in a small payload (rule 4). Stand-ins are made from their numbers by the
record's ``numbered()``, for the benchmark and the large example; ``NUMBERED_RECORDS=off``
refuses them.
An activity upserts one batch of ``batch_size`` items. A job that fits in one run
(at most ``max_activities_per_run`` batches, rule 3) runs its batches itself;
a bigger one fans out into child workflows of the same type, each a slice that
fits in one run, and continues as new when it has started a run's worth of
children or the server suggests it. The ``progress`` query counts items done.

A module's workflow Impl holds a :class:`FanOut` and its ``run`` reads as the steps:
check the job, plan it, run the batches here or in children, return the result. The
limits, continue-as-new and progress live here, once; nothing here knows the module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError
from typing_extensions import NotRequired, TypedDict

from .. import config
from ..fields import FieldError
from .inputs import InvalidInputError
from .loading import (
    FIRST_STAGED_BATCH_SIZE,
    MAX_REJECTS,
    MAX_STAGED_BATCH_SIZE,
    STAGED_BATCH_SIZE,
    LoadSummary,
    SourceSpec,
    StagedRows,
    check_source,
)

# Rule 3: no workflow run schedules more than this many activities or child
# workflows. Each costs at least three history events, retries more; the server
# warns at 10,240 events and fails a run at 51,200. An input may lower it (tests
# do), never raise it.
MAX_ACTIVITIES_PER_RUN = 1000
# Items per activity: one transaction of upserts. 1 is the guide's one item per
# activity. Measured with `make bench` on 2 cores, 50,000 items: 100 items per
# activity gave 15,000 items/s, 250 gave 22,000, 500 gave 30,000 and 1,000 gave
# 37,000, against 54,000 for the same upserts with no Temporal at all. Past 1,000
# the gain flattens while a retry redoes more work and progress moves in bigger
# steps. A run of 1,000 such activities covers a million items.
BATCH_SIZE = 1000
# Items per activity for a job that is only a key_range: its batches carry two numbers
# and no record, so they can be bigger at no payload cost, and fewer activities mean
# less of the worker's time in Temporal's machinery. `make bench`, 100,000 items on 2
# cores, median of 3 rounds, inserts: 1,000 gave 40,800 items/s, 2,500 gave 59,200,
# 5,000 gave 64,300 and 10,000 gave 62,600 (updates 44,800, 67,300, 76,000, 69,200).
# 5,000 numbered rows take about 0.1 s to upsert, well inside an attempt's 5 s.
KEY_RANGE_BATCH_SIZE = 5000
# Runs that began before KEY_RANGE_BATCH_SIZE replay with BATCH_SIZE for every job.
KEY_RANGE_BATCHES_PATCH = "key-range-batches"
MAX_BATCH_SIZE = 10_000
# Children running at once: bounds the work queued on the task queue, not history.
MAX_CHILDREN_IN_FLIGHT = 10
# Batches a run has scheduled and not yet seen finish. Scheduling a run's thousand at
# once made one workflow task convert a thousand payloads: on a CPU-starved worker that
# took longer than the SDK's deadlock detector allows (2 s of wall time), and the task
# failed with "Potential deadlock detected", again on every retry. A window keeps each
# task small, and still queues far more batches than a worker runs at once.
MAX_BATCHES_IN_FLIGHT = 100
# A load's merges at once: each is one statement that keeps a database core busy, and
# more at once than it has cores contend. A million rows on 2 cores, merged 50,000 at a
# time without Temporal: 8 at once took 6.75 s (inserts) and 2.83 s (unchanged rows),
# 4 took 6.33 s and 2.84 s, 2 took 5.19 s and 2.17 s. A bigger database takes more.
STAGED_MERGES_IN_FLIGHT = 2
# Runs that began before STAGED_MERGES_IN_FLIGHT replay with MAX_BATCHES_IN_FLIGHT.
STAGED_MERGES_PATCH = "staged-merges-in-flight"
# Loads that began before staged_batch_size replay with FIRST_STAGED_BATCH_SIZE.
EVEN_MERGES_PATCH = "even-staged-merges"
# A range is made from two numbers, so a billion cost nothing to send; the bound
# only keeps a typo from starting a job that would run for years.
MAX_RANGE_COUNT = 10**9

PROGRESS_QUERY = "progress"


class NumberedRange(TypedDict):
    """Stand-in records ``first`` to ``first + count - 1``, each made from its number by
    the record's ``numbered()``: generated data for the benchmark and the large example,
    written to the real table. A deployment refuses them with ``NUMBERED_RECORDS=off``."""

    first: int
    count: int


class Job(TypedDict, total=False):
    """What every module's job has; the module's own adds ``records``."""

    key_range: NumberedRange
    source: SourceSpec
    """A file, URL or bucket to load, instead of records: the workflow stages it first."""
    max_rejects: int
    """With a source: how many rows may not fit before the load fails (default 1,000)."""
    staged: StagedRows
    """Rows a load staged, by reference; set by the workflow itself, after staging."""
    batch_size: int
    """Items per activity, 1 to MAX_BATCH_SIZE; default BATCH_SIZE, or
    KEY_RANGE_BATCH_SIZE for a job that is only a key_range. A load's staged rows per
    merge: 1 to MAX_STAGED_BATCH_SIZE, by default the load's rows shared evenly among
    merges of at most STAGED_BATCH_SIZE (staged_batch_size)."""
    max_activities_per_run: int
    """Lower than MAX_ACTIVITIES_PER_RUN to fan out sooner (tests use small values)."""
    done: int
    """Items done by earlier runs; set by the workflow itself when it continues as new."""


class JobResult(TypedDict):
    upserted: int
    load: NotRequired[LoadSummary]
    """A load's counts and first rejects, from the run that finished it."""


def load_result(result: JobResult, load: LoadSummary) -> JobResult:
    """A finished load's result: what it upserted is its rows that fit (the fan-out
    counted lines, as its ranges are ranges of lines), then its counts and rejects."""
    return {**result, "upserted": load["rows"], "load": load}


class Progress(TypedDict):
    """Answer of the ``progress`` query: items done so far, out of all.

    ``done`` counts finished batches and finished children. The children running
    now are listed by id: each answers the same query with its own count, which
    moves with every batch (temporal/runs.py adds them up). Asking them, rather than
    having them signal the parent, costs no history at all.
    """

    done: int
    total: int
    children: list[str]


RecordT = TypeVar("RecordT", covariant=True)
JobT = TypeVar("JobT", bound=Job)


class RecordType(Protocol[RecordT]):
    """A module's record class: built from its payload form, or from a number in a range."""

    def from_dict(self, data: Any, /) -> RecordT: ...

    def numbered(self, number: int, /) -> RecordT: ...


UpsertBatch = Callable[[JobT, str], Awaitable[int]]
"""A workflow's call of its batch activity: the batch, and its one-line summary for the
Web UI; returns how many items it upserted."""


def records_of(job: Mapping[str, Any], record_type: RecordType[RecordT]) -> list[RecordT]:
    """Every item of a job as a record: its ``records``, then one per number in its range.

    Called by activities, never by workflow code: it reads ``NUMBERED_RECORDS``.
    """
    records = [record_type.from_dict(data) for data in job.get("records", [])]
    if "key_range" in job:
        if not config.numbered_records():
            raise ValueError(
                "key_range asks for numbered stand-in records, which this deployment "
                "refuses (NUMBERED_RECORDS=off): send the records themselves"
            )
        first, count = job["key_range"]["first"], job["key_range"]["count"]
        records += [record_type.numbered(number) for number in range(first, first + count)]
    return records


def job_size(job: Mapping[str, Any]) -> int:
    """How many items a job names."""
    ranges = (job.get(kind, {}).get("count", 0) for kind in ("key_range", "staged"))
    return len(job.get("records", [])) + sum(map(int, ranges))


def slice_of(job: JobT, start: int, stop: int) -> JobT:
    """Items ``start`` to ``stop`` of a job (records first, then the range), as a job of its own."""
    whole: Mapping[str, Any] = job
    part = {key: whole[key] for key in ("batch_size", "max_activities_per_run") if key in whole}
    records = whole.get("records", [])
    if start < len(records):
        part["records"] = records[start:stop]
    for kind in ("key_range", "staged"):  # a job holds one of them, never both
        if kind in whole:
            first, count = whole[kind]["first"], whole[kind]["count"]
            low, high = max(start - len(records), 0), min(stop - len(records), count)
            if high > low:
                part[kind] = {**whole[kind], "first": first + low, "count": high - low}
    return cast(JobT, part)


def span(start: int, stop: int) -> str:
    """Items ``start`` to ``stop`` (0-based, exclusive) as people count them: "1,001 to 2,000"."""
    return f"{start + 1:,} to {stop:,}"


def _whole(
    job: Mapping[str, Any], key: str, default: int, low: int, high: int, path: str = "input"
) -> int:
    value = int(job.get(key, default))
    if not low <= value <= high:
        raise InvalidInputError(f"{path}.{key} must be from {low:,} to {high:,}, got {value:,}")
    return value


def check_job(job: Mapping[str, Any], record_type: RecordType[Any]) -> None:
    """Refuse, at once, a job whose shape is right but whose values are not."""
    _whole(job, "max_activities_per_run", MAX_ACTIVITIES_PER_RUN, 1, MAX_ACTIVITIES_PER_RUN)
    # A merge's rows never travel: a load's batches may be as big as its merges allow.
    staged = "source" in job or "staged" in job
    _whole(job, "batch_size", BATCH_SIZE, 1, MAX_STAGED_BATCH_SIZE if staged else MAX_BATCH_SIZE)
    if "key_range" in job:
        _whole(job["key_range"], "first", 0, 0, 2**62, "input.key_range")
        _whole(job["key_range"], "count", 0, 0, MAX_RANGE_COUNT, "input.key_range")
    if "source" in job:
        check_source(job)
        _whole(job, "max_rejects", MAX_REJECTS, 0, MAX_RANGE_COUNT)
    if "staged" in job and not (workflow.info().continued_run_id or workflow.info().parent):
        raise InvalidInputError("input.staged is set by the workflow itself, after staging")
    if "done" in job and not workflow.info().continued_run_id:
        # Only a run continued by the workflow itself may skip work already done.
        raise InvalidInputError("input.done is set by the workflow itself when it continues")
    _whole(job, "done", 0, 0, job_size(job))
    for index, data in enumerate(job.get("records", [])):
        try:
            record_type.from_dict(data)
        except FieldError as error:
            raise InvalidInputError(f"input.records[{index}].{error}") from None
        except ValueError as error:
            raise InvalidInputError(f"input.records[{index}]: {error}") from None


def default_batch_size(job: Mapping[str, Any]) -> int:
    """Items per activity for a job that names none: bigger when no record travels."""
    if "staged" in job:
        # Asked only for a load, so that only its history carries the marker.
        if workflow.patched(EVEN_MERGES_PATCH):
            return staged_batch_size(job_size(job))
        return FIRST_STAGED_BATCH_SIZE
    if "records" in job or "key_range" not in job:
        return BATCH_SIZE
    # Asked only here, so that only such jobs carry the patch's marker in their history.
    return KEY_RANGE_BATCH_SIZE if workflow.patched(KEY_RANGE_BATCHES_PATCH) else BATCH_SIZE


def staged_batch_size(rows: int) -> int:
    """Rows per merge for a load of ``rows`` staged lines: at most STAGED_BATCH_SIZE, in a
    number of merges that STAGED_MERGES_IN_FLIGHT divides, so that each merge at once has
    as many rows and none is left to run alone while the database's other cores idle."""
    lanes = STAGED_MERGES_IN_FLIGHT
    merges = lanes * max(1, -(-rows // (lanes * STAGED_BATCH_SIZE)))
    return max(1, -(-rows // merges))


def batches_in_flight(job: Mapping[str, Any]) -> int:
    """How many of a run's batches may be scheduled and not yet finished."""
    # Asked only for a load, so that only its history carries the patch's marker.
    if "staged" in job and workflow.patched(STAGED_MERGES_PATCH):
        return STAGED_MERGES_IN_FLIGHT
    return MAX_BATCHES_IN_FLIGHT


@dataclass(frozen=True)
class Plan:
    """How one run does its job: the numbers of :func:`check_job`, and where the batches run."""

    total: int
    batch_size: int
    max_activities_per_run: int
    done: int
    """Items done by the runs this one continues."""

    @property
    def in_children(self) -> bool:
        """True when the job is more than one run's worth (rule 3), or was already split."""
        return self.done > 0 or self.total > self.per_child

    @property
    def per_child(self) -> int:
        """Items a child takes: one run's worth of batches."""
        return self.max_activities_per_run * self.batch_size


class FanOut:
    """The fan-out a workflow's ``run`` awaits: batches, children, continue-as-new, progress.

    Made in the workflow's ``__init__``, it answers the ``progress`` query for that
    workflow from then on.
    """

    def __init__(self) -> None:
        self._done = 0
        self._total = 0
        self._done_before_this_run = 0
        self._children: list[str] = []
        self._unit = "items"
        # Registered here, so every module's workflow answers it the same way.
        workflow.set_query_handler(PROGRESS_QUERY, self.progress)

    def progress(self) -> Progress:
        return {"done": self._done, "total": self._total, "children": list(self._children)}

    def plan(self, job: Mapping[str, Any]) -> Plan:
        """The plan for a job that :func:`check_job` accepted."""
        plan = Plan(
            total=job_size(job),
            batch_size=job["batch_size"] if "batch_size" in job else default_batch_size(job),
            max_activities_per_run=job.get("max_activities_per_run", MAX_ACTIVITIES_PER_RUN),
            done=job.get("done", 0),
        )
        self._done, self._total = plan.done, plan.total
        # A load's batches are ranges of its staged rows' lines (loads/staging.py).
        self._unit = "lines of staged rows" if "staged" in job else "items"
        self._done_before_this_run = plan.done
        return plan

    @property
    def finished(self) -> bool:
        """True once every item of the job is done, by this run or the ones before."""
        return self._done >= self._total

    def result(self) -> JobResult:
        # The SDK's workflow logger adds the workflow and run ids, and says nothing
        # while a run replays: it costs no history and changes no decision.
        workflow.logger.info("upserted %s %s", f"{self._done:,}", self._unit)
        return {"upserted": self._done}

    def next_run(self, job: JobT) -> JobT:
        """The input of the run this one continues as: the same job, and how far it got."""
        workflow.logger.info("continuing as new after %s %s", f"{self._done:,}", self._unit)
        return cast(JobT, {**job, "done": self._done})

    def _count(self, items: int) -> None:
        """Add finished items, and say how far the run is in the Web UI's current details."""
        self._done += items
        percent = 100 * self._done // self._total if self._total else 100
        details = f"{self._done:,} of {self._total:,} {self._unit} ({percent}%)"
        seconds = (workflow.now() - workflow.info().start_time).total_seconds()
        if seconds > 0:
            rate = (self._done - self._done_before_this_run) / seconds
            details += f", {rate:,.0f}/s in this run"
        # Shown by the Web UI and `temporal workflow describe`; costs no history.
        workflow.set_current_details(details)

    async def run_batches(self, job: JobT, plan: Plan, upsert: UpsertBatch[JobT]) -> None:
        """Every batch of the job, at once, in this run: a job that fits in one run."""
        size = plan.batch_size
        workflow.logger.info("%s %s in batches of %s", f"{plan.total:,}", self._unit, f"{size:,}")
        batches = -(-plan.total // size)
        # Deterministic, as workflow code must be: the waiting batches go in their order.
        window = asyncio.Semaphore(batches_in_flight(job))

        async def run_batch(start: int) -> None:
            stop = min(start + size, plan.total)
            number = start // size + 1
            summary = f"batch {number:,} of {batches:,}: items {span(start, stop)}"
            async with window:
                try:
                    upserted = await upsert(slice_of(job, start, stop), summary)
                except FailureError as error:
                    raise failed(summary, error) from error
            # Counted after the await, never `self._done += await ...`, which would
            # read _done before the await and lose what other batches added meanwhile.
            self._count(upserted)

        running = [asyncio.ensure_future(run_batch(start)) for start in range(0, plan.total, size)]
        async with stopped_on_failure(running):
            await asyncio.gather(*running)

    async def run_children(self, job: JobT, plan: Plan) -> None:
        """Children of this workflow's type for the items not done yet, one run's worth of
        them (or fewer, when the server suggests continuing as new); see :attr:`finished`."""
        per_child, budget = plan.per_child, plan.max_activities_per_run
        workflow.logger.info(
            "items %s: children of %s", span(self._done, self._total), f"{per_child:,}"
        )
        in_flight: list[asyncio.Task[None]] = []
        async with stopped_on_failure(in_flight):
            for start in range(self._done, self._total, per_child):
                if budget == 0 or workflow.info().is_continue_as_new_suggested():
                    break
                budget -= 1
                if len(in_flight) >= MAX_CHILDREN_IN_FLIGHT:
                    in_flight[:] = await self._collect(in_flight)
                stop = min(start + per_child, self._total)
                child = self._child(slice_of(job, start, stop), start, stop)
                in_flight.append(asyncio.ensure_future(child))
            while in_flight:
                in_flight[:] = await self._collect(in_flight)

    async def _child(self, part: JobT, start: int, stop: int) -> None:
        # The id derives from the parent's and the slice's start, so a replayed or
        # continued parent finds its children instead of starting them again.
        child_id = f"{workflow.info().workflow_id}/items-{start}"
        self._children.append(child_id)
        summary = f"items {span(start, stop)} of {self._total:,}"
        try:
            result = await workflow.execute_child_workflow(
                workflow.info().workflow_type,
                part,
                id=child_id,
                result_type=JobResult,
                # The Web UI lists children by this line, not only by their ids.
                static_summary=summary,
            )
        except FailureError as error:
            raise failed(f"child {child_id} ({summary})", error) from error
        finally:
            self._children.remove(child_id)
        # In the same step as leaving the list: a query sees the child's items
        # either in its own count or in ours, never in both or neither.
        self._count(result["upserted"])

    @staticmethod
    async def _collect(in_flight: list[asyncio.Task[None]]) -> list[asyncio.Task[None]]:
        """Wait for at least one child to finish; return those still running."""
        finished, pending = await workflow.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        for task in finished:
            task.result()  # a failed child fails this run
        return list(pending)


@asynccontextmanager
async def stopped_on_failure(tasks: list[asyncio.Task[None]]) -> AsyncIterator[None]:
    """On a failure in the block (a batch or child failed, or the workflow was cancelled),
    cancel ``tasks`` and wait until each has ended before the failure goes on: a failed
    run then has no batch left writing, and no batch waiting for its turn ever starts.
    Activities are cancelled as their options say (WAIT_CANCELLATION_COMPLETED) and
    children as the SDK's default does, which waits for them too."""
    try:
        yield
    # Not BaseException: the SDK tears down a workflow it evicts from its cache with an
    # error of its own, which must pass through without awaiting anything.
    except (Exception, asyncio.CancelledError):
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def failed(what: str, error: FailureError) -> ApplicationError:
    """The failure a run ends with when one of its batches or children failed for good:
    which one, and why, with the type of the failure behind it."""
    cause = error.cause if error.cause is not None else error
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else None
    why = cause.message if isinstance(cause, FailureError) else str(cause)
    return ApplicationError(f"{what}: {why}", type=kind or type(cause).__name__, non_retryable=True)
