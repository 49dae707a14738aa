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
    """Answer of the ``progress`` query: items done so far, out of all."""

    done: int
    total: int


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

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> Progress:
        return {"done": self._done, "total": self._total}

    async def fan_out(
        self, job: JobT, record_type: RecordType[Any], upsert: BatchActivity[JobT]
    ) -> JobResult:
        """Upsert every item of ``job`` with ``upsert``, at most one run's worth per run."""
        settings: Mapping[str, Any] = job
        check_job(settings, record_type)
        limit: int = settings.get("max_activities_per_run", MAX_ACTIVITIES_PER_RUN)
        batch_size: int = settings.get("batch_size", BATCH_SIZE)
        self._done, self._total = settings.get("done", 0), job_size(job)
        if self._done == 0 and self._total <= limit * batch_size:
            await self._run_batches(job, batch_size, upsert)
        else:
            await self._run_children(job, limit * batch_size, limit)
            if self._done < self._total:
                workflow.continue_as_new(cast(JobT, {**job, "done": self._done}))
        return {"upserted": self._done}

    async def _run_batches(self, job: JobT, batch_size: int, upsert: BatchActivity[JobT]) -> None:
        async def run_batch(start: int) -> None:
            batch = slice_of(job, start, min(start + batch_size, self._total))
            # Not `self._done += await ...`: that would read _done before the await
            # and lose what other batches added meanwhile.
            upserted = await workflow.execute_activity_method(upsert, batch, **ACTIVITY_OPTIONS)
            self._done += upserted

        await asyncio.gather(*(run_batch(start) for start in range(0, self._total, batch_size)))

    async def _run_children(self, job: JobT, per_child: int, budget: int) -> None:
        """Start children for the items not done yet, at most ``budget`` in this run."""
        in_flight: list[asyncio.Task[int]] = []
        for start in range(self._done, self._total, per_child):
            if budget == 0 or workflow.info().is_continue_as_new_suggested():
                break
            budget -= 1
            if len(in_flight) >= MAX_CHILDREN_IN_FLIGHT:
                in_flight = await self._collect(in_flight)
            part = slice_of(job, start, min(start + per_child, self._total))
            in_flight.append(asyncio.ensure_future(self._child(part, start)))
        while in_flight:
            in_flight = await self._collect(in_flight)

    async def _child(self, part: JobT, start: int) -> int:
        # The id derives from the parent's and the slice's start, so a replayed or
        # continued parent finds its children instead of starting them again.
        result = await workflow.execute_child_workflow(
            workflow.info().workflow_type,
            part,
            id=f"{workflow.info().workflow_id}/items-{start}",
            result_type=JobResult,
        )
        upserted: int = result["upserted"]
        return upserted

    async def _collect(self, in_flight: list[asyncio.Task[int]]) -> list[asyncio.Task[int]]:
        """Wait for at least one child; count what finished; return those still running."""
        finished, pending = await workflow.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        for task in finished:
            self._done += task.result()
        return list(pending)
