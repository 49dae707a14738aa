"""The guide's pattern for a job of any size, written once for every workflow module.

A job names its items compactly: a list of ``records`` and/or a ``key_range`` of
numbered records, so that a million items still fit in a small payload (rule 4).
An activity upserts one batch of ``batch_size`` items. A job that fits in one run
(at most ``max_activities_per_run`` batches, rule 3) runs its batches itself;
a bigger one fans out into child workflows of the same type, each a slice that
fits in one run, and continues as new when it has started a run's worth of
children or the server suggests it. The ``progress`` query counts items done.

A module's workflow Impl mixes in :class:`FanOutWorkflow` and calls
:meth:`FanOutWorkflow.fan_out` from its ``run``; nothing here knows the module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypedDict, TypeVar, cast

from temporalio import workflow

from {{ cookiecutter.package_name }}.temporal.inputs import InvalidInputError
from {{ cookiecutter.package_name }}.temporal.retry import ACTIVITY_OPTIONS

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
MAX_BATCH_SIZE = 10_000
# Children running at once: bounds the work queued on the task queue, not history.
MAX_CHILDREN_IN_FLIGHT = 10
# A range is made from two numbers, so a billion cost nothing to send; the bound
# only keeps a typo from starting a job that would run for years.
MAX_RANGE_COUNT = 10**9

PROGRESS_QUERY = "progress"


class KeyRange(TypedDict):
    """Records ``first`` to ``first + count - 1``, each made from its number."""

    first: int
    count: int


class Job(TypedDict, total=False):
    """What every module's job has; the module's own adds ``records``."""

    key_range: KeyRange
    batch_size: int
    """Items per activity, 1 to MAX_BATCH_SIZE; default BATCH_SIZE."""
    max_activities_per_run: int
    """Lower than MAX_ACTIVITIES_PER_RUN to fan out sooner (tests use small values)."""
    done: int
    """Items done by earlier runs; set by the workflow itself when it continues as new."""


class JobResult(TypedDict):
    upserted: int


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


BatchActivity = Callable[[Any, JobT], Awaitable[int]]


def records_of(job: Mapping[str, Any], record_type: RecordType[RecordT]) -> list[RecordT]:
    """Every item of a job as a record: its ``records``, then one per number in its range."""
    records = [record_type.from_dict(data) for data in job.get("records", [])]
    if "key_range" in job:
        first, count = job["key_range"]["first"], job["key_range"]["count"]
        records += [record_type.numbered(number) for number in range(first, first + count)]
    return records


def job_size(job: Mapping[str, Any]) -> int:
    """How many items a job names."""
    return len(job.get("records", [])) + int(job.get("key_range", {}).get("count", 0))


def slice_of(job: JobT, start: int, stop: int) -> JobT:
    """Items ``start`` to ``stop`` of a job (records first, then the range), as a job of its own."""
    whole: Mapping[str, Any] = job
    part = {key: whole[key] for key in ("batch_size", "max_activities_per_run") if key in whole}
    records = whole.get("records", [])
    if start < len(records):
        part["records"] = records[start:stop]
    if "key_range" in whole:
        first, count = whole["key_range"]["first"], whole["key_range"]["count"]
        low, high = max(start - len(records), 0), min(stop - len(records), count)
        if high > low:
            part["key_range"] = {"first": first + low, "count": high - low}
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
    _whole(job, "batch_size", BATCH_SIZE, 1, MAX_BATCH_SIZE)
    if "key_range" in job:
        _whole(job["key_range"], "first", 0, 0, 2**62, "input.key_range")
        _whole(job["key_range"], "count", 0, 0, MAX_RANGE_COUNT, "input.key_range")
    if "done" in job and not workflow.info().continued_run_id:
        # Only a run continued by the workflow itself may skip work already done.
        raise InvalidInputError("input.done is set by the workflow itself when it continues")
    _whole(job, "done", 0, 0, job_size(job))
    for index, data in enumerate(job.get("records", [])):
        try:
            record_type.from_dict(data)
        except ValueError as error:
            raise InvalidInputError(f"input.records[{index}]: {error}") from None


class FanOutWorkflow:
    """Mixin for a module's workflow Impl: batches, fan-out, continue-as-new, progress."""

    def __init__(self) -> None:
        self._done = 0
        self._total = 0
        self._done_before_this_run = 0
        self._children: list[str] = []

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> Progress:
        return {"done": self._done, "total": self._total, "children": list(self._children)}

    def _count(self, items: int) -> None:
        """Add finished items, and say how far the run is in the Web UI's current details."""
        self._done += items
        percent = 100 * self._done // self._total if self._total else 100
        details = f"{self._done:,} of {self._total:,} items ({percent}%)"
        seconds = (workflow.now() - workflow.info().start_time).total_seconds()
        if seconds > 0:
            rate = (self._done - self._done_before_this_run) / seconds
            details += f", {rate:,.0f}/s in this run"
        # Shown by the Web UI and `temporal workflow describe`; costs no history.
        workflow.set_current_details(details)

    async def fan_out(
        self, job: JobT, record_type: RecordType[Any], upsert: BatchActivity[JobT]
    ) -> JobResult:
        """Upsert every item of ``job`` with ``upsert``, at most one run's worth per run."""
        settings: Mapping[str, Any] = job
        check_job(settings, record_type)
        limit: int = settings.get("max_activities_per_run", MAX_ACTIVITIES_PER_RUN)
        batch_size: int = settings.get("batch_size", BATCH_SIZE)
        self._done, self._total = settings.get("done", 0), job_size(job)
        self._done_before_this_run = self._done
        # The SDK's workflow logger adds the workflow and run ids, and says nothing
        # while a run replays: it costs no history and changes no decision.
        log = workflow.logger
        if self._done == 0 and self._total <= limit * batch_size:
            log.info("%s items in batches of %s", f"{self._total:,}", f"{batch_size:,}")
            await self._run_batches(job, batch_size, upsert)
        else:
            log.info("items %s: children of %s", span(self._done, self._total), f"{limit:,}")
            await self._run_children(job, limit * batch_size, limit)
            if self._done < self._total:
                log.info("continuing as new after %s items", f"{self._done:,}")
                workflow.continue_as_new(cast(JobT, {**job, "done": self._done}))
        log.info("upserted %s items", f"{self._done:,}")
        return {"upserted": self._done}

    async def _run_batches(self, job: JobT, batch_size: int, upsert: BatchActivity[JobT]) -> None:
        batches = -(-self._total // batch_size)

        async def run_batch(start: int) -> None:
            stop = min(start + batch_size, self._total)
            number = start // batch_size + 1
            upserted = await workflow.execute_activity_method(
                upsert,
                slice_of(job, start, stop),
                **ACTIVITY_OPTIONS,
                # Shown for each activity in the Web UI's event history.
                summary=f"batch {number:,} of {batches:,}: items {span(start, stop)}",
            )
            # Counted after the await, never `self._done += await ...`, which would
            # read _done before the await and lose what other batches added meanwhile.
            self._count(upserted)

        await asyncio.gather(*(run_batch(start) for start in range(0, self._total, batch_size)))

    async def _run_children(self, job: JobT, per_child: int, budget: int) -> None:
        """Start children for the items not done yet, at most ``budget`` in this run."""
        in_flight: list[asyncio.Task[None]] = []
        for start in range(self._done, self._total, per_child):
            if budget == 0 or workflow.info().is_continue_as_new_suggested():
                break
            budget -= 1
            if len(in_flight) >= MAX_CHILDREN_IN_FLIGHT:
                in_flight = await self._collect(in_flight)
            stop = min(start + per_child, self._total)
            child = self._child(slice_of(job, start, stop), start, stop)
            in_flight.append(asyncio.ensure_future(child))
        while in_flight:
            in_flight = await self._collect(in_flight)

    async def _child(self, part: JobT, start: int, stop: int) -> None:
        # The id derives from the parent's and the slice's start, so a replayed or
        # continued parent finds its children instead of starting them again.
        child_id = f"{workflow.info().workflow_id}/items-{start}"
        self._children.append(child_id)
        try:
            result = await workflow.execute_child_workflow(
                workflow.info().workflow_type,
                part,
                id=child_id,
                result_type=JobResult,
                # The Web UI lists children by this line, not only by their ids.
                static_summary=f"items {span(start, stop)} of {self._total:,}",
            )
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
