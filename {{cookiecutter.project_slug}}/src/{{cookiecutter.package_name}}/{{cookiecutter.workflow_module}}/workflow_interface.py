"""What clients and other workflows import to use the {{ cookiecutter.workflow_name }} workflow.

Interfaces only: the task queue, the job type, and the classes whose names the
Temporal server and Web UI show. The code that runs lives in ``workflow.py`` (the
``...Impl`` classes). This module touches nothing outside the process, so
workflow code may import it inside the sandbox.

The job is a plain JSON object, so any client can start the workflow: this
service, another SDK, or ``temporal workflow start --input-file ...``.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

from ..temporal.fanout import Job, JobResult
from ..temporal.loading import LoadSummary, StagedLoad, StageRequest
from ..temporal.retry import ActivityOptions, PermanentError
from .record import (
    {{ cookiecutter.record_name }}Dict,
)

TASK_QUEUE = "{{ cookiecutter.task_queue }}"
WORKFLOW_TYPE = "{{ cookiecutter.workflow_name }}Workflow"


class {{ cookiecutter.workflow_name }}Job(Job, total=False):
    """Workflow input, and each activity's batch: records, and/or a range of numbered ones,
    or a ``source`` to load (a file, URL or bucket) and then the ranges it staged.

    See :class:`Job` for ``key_range``, ``source``, ``batch_size`` and ``max_activities_per_run``.
    """

    records: list[{{ cookiecutter.record_name }}Dict]


class {{ cookiecutter.workflow_name }}Activities:
    """Activity interface. Names are qualified with the class so two modules never collide."""

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.upsert")
    async def upsert(self, batch: {{ cookiecutter.workflow_name }}Job) -> int:
        """Upsert one batch of records in one transaction; return how many."""
        raise NotImplementedError

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.stage")
    async def stage(self, request: StageRequest) -> StagedLoad:
        """Stream a job's source into PostgreSQL, a chunk a transaction; return the load."""
        raise NotImplementedError

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.merge")
    async def merge(self, batch: {{ cookiecutter.workflow_name }}Job) -> int:
        """Merge one range of a load's staged rows into the table; return how many rows."""
        raise NotImplementedError

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.finish_load")
    async def finish_load(self, load: StagedLoad) -> LoadSummary:
        """Close a merged load: its staged rows go; return its counts and first rejects."""
        raise NotImplementedError


# How the workflow calls upsert. An attempt borrows a connection (at most db.POOL_TIMEOUT,
# 2 s, or opens one within db.CONNECT_TIMEOUT, 3 s) and upserts one batch: 1,000 rows
# take about 30 ms, the 10,000 of MAX_BATCH_SIZE a few tenths of a second. If its worker
# dies, only start_to_close tells the server the attempt is lost, so it is short: a
# killed worker's batches run elsewhere within seconds. (An activity that runs for long
# must heartbeat instead, with a heartbeat_timeout, so a lost attempt is noticed as fast.)
UPSERT_OPTIONS = ActivityOptions(
    start_to_close_timeout=timedelta(seconds=5),
    # When another batch fails for good, the run cancels this one and waits for it to
    # end (temporal/fanout.py): a failed run leaves no batch writing.
    cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    # Retries go on through a database outage of up to this long, then the workflow fails.
    schedule_to_close_timeout=timedelta(minutes=30),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        # Unlimited attempts: a transient outage (database restart, deploy) heals by
        # itself; schedule_to_close bounds the total time.
        maximum_attempts=0,
        # A row the table refuses, or a record that is not valid: no retry can help.
        non_retryable_error_types=[PermanentError.__name__],
    ),
)


# How the workflow calls stage. An attempt streams the whole source, committing its
# position every chunk (at most loads/stage.py's CHUNK_SECONDS apart) and heartbeating
# it more often still: a worker that dies is noticed after heartbeat_timeout, and the
# next attempt goes on from the committed position. A big file may take an hour.
STAGE_OPTIONS = ActivityOptions(
    start_to_close_timeout=timedelta(hours=6),
    schedule_to_close_timeout=timedelta(hours=12),
    heartbeat_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=0,
        # A missing or changed source, a header that is not the record's, too many
        # rejects: no retry can help.
        non_retryable_error_types=[PermanentError.__name__, "SourceRefusedError", "HeaderError"],
    ),
)
# How the workflow calls merge and finish_load: one statement over at most
# MAX_STAGED_BATCH_SIZE rows (temporal/loading.py), about a second; retried
# through a database outage, as upsert is.
MERGE_OPTIONS = ActivityOptions(
    start_to_close_timeout=timedelta(seconds=30),
    cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    schedule_to_close_timeout=timedelta(minutes=30),
    retry_policy=UPSERT_OPTIONS["retry_policy"],
)


@workflow.defn(name=WORKFLOW_TYPE)
class {{ cookiecutter.workflow_name }}Workflow:
    """Workflow interface: clients start the workflow through this class's ``run``.

    For example, with ``job`` a {{ cookiecutter.workflow_name }}Job::

        await client.execute_workflow(
            {{ cookiecutter.workflow_name }}Workflow.run, job, id=..., task_queue=TASK_QUEUE
        )
    """

    @workflow.run
    async def run(self, job: {{ cookiecutter.workflow_name }}Job) -> JobResult:
        """Upsert every record of the job, fanning out into children when it is big."""
        raise NotImplementedError
