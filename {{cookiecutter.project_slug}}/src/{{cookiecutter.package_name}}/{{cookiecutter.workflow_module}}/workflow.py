{%- set fields = cookiecutter.record_fields | record_fields %}
{%- set keys = fields | selectattr("key") | map(attribute="name") | list %}
{%- set others = fields | rejectattr("key") | map(attribute="name") | list -%}
"""The code behind the {{ cookiecutter.workflow_name }} interfaces: the ``...Impl`` classes.

The worker registers only these; each repeats its interface's decorators with the
same names, which the SDK requires of an override. The workflow's ``run`` reads as its
steps; the batches, children, limits and progress behind them come from
:class:`FanOut`, written once for every module. This file holds what is the workflow's
own: its steps, its table and the activity body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity, workflow

# The activities' side: the database driver, COPY and the staged loads. Workflow code
# only names these, so they pass through the sandbox as they are, never imported into
# it; the rest of this module's imports run inside the sandbox, checked there.
with workflow.unsafe.imports_passed_through():
    from ..bulk import BulkUpsert, RowRefusedError
    from ..db import Database, connect_to_db_or_raise
    from ..loads.stage import stage_source
    from ..loads.staging import Staging
from ..temporal.fanout import FanOut, JobResult, check_job, load_result, records_of
from ..temporal.loading import (
    LoadSummary,
    StagedLoad,
    StageRequest,
    finishes_load,
    stage_request,
    staged_job,
)
from ..temporal.retry import PermanentError
from .record import (
    FIELDS,
    {{ cookiecutter.record_name }},
)
from .workflow_interface import (
    MERGE_OPTIONS,
    STAGE_OPTIONS,
    UPSERT_OPTIONS,
    WORKFLOW_TYPE,
    {{ cookiecutter.workflow_name }}Activities,
    {{ cookiecutter.workflow_name }}Job,
    {{ cookiecutter.workflow_name }}Workflow,
)

# The table of schema.sql. Queries name it through sql.Identifier and take values
# only as bound parameters: no string formatting ever reaches the database.
TABLE_NAME = "{{ cookiecutter.table_name }}"

# Rule 2, idempotent by construction (bulk.py): each batch is copied into a staging
# table, then merged into this one by a single INSERT ... ON CONFLICT on the key
#     {{ keys | join(", ") | wordwrap(70, wrapstring="\n#     ") }}
{%- if others %}
# DO UPDATE, so a retry of the same batch updates the same rows in place
{%- else %}
# DO NOTHING (every field is in the key), so a retry finds the rows already there
{%- endif %}
# and the table never holds a duplicate. `make bench` measures it beside the others.
UPSERT = BulkUpsert(TABLE_NAME, FIELDS)
# A job that names a source is staged into PostgreSQL first, then merged a range of
# staged rows at a time, set-based, on the same key (loads/staging.py).
LOADS = Staging(TABLE_NAME, FIELDS)


class {{ cookiecutter.workflow_name }}ActivitiesImpl({{ cookiecutter.workflow_name }}Activities):
    """Activities that write to PostgreSQL, each safe to run more than once."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def all(self) -> list[Callable[..., Any]]:
        """The bound activity methods, for ``Worker(activities=...)``."""
        return [self.upsert, self.stage, self.merge, self.finish_load]

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.upsert")
    async def upsert(self, batch: {{ cookiecutter.workflow_name }}Job) -> int:
        try:
            records = records_of(batch, {{ cookiecutter.record_name }})
        except ValueError as error:
            raise PermanentError(str(error)) from error
        async with connect_to_db_or_raise(self.database.url, pool=self.database.pool) as conn:
            try:
                await UPSERT.write(conn, records)
            except RowRefusedError as error:
                # A row the table refuses (a CHECK, a key too big for its index): retrying
                # cannot help. Connection errors are not caught here: they are retried.
                raise PermanentError(str(error)) from None
        # With the activity's type, workflow and attempt attached by the SDK's logger.
        activity.logger.debug("upserted %d records", len(records))
        return len(records)

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.stage")
    async def stage(self, request: StageRequest) -> StagedLoad:
        async with connect_to_db_or_raise(self.database.url, pool=self.database.pool) as conn:
            # Its other lanes open connections of their own, outside the pool, which the
            # other activities share (loads/stage.py).
            return await stage_source(
                conn,
                LOADS,
                request,
                activity.heartbeat,
                lambda: connect_to_db_or_raise(self.database.url),
            )

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.merge")
    async def merge(self, batch: {{ cookiecutter.workflow_name }}Job) -> int:
        rows = batch["staged"]
        async with connect_to_db_or_raise(self.database.url, pool=self.database.pool) as conn:
            merged = await LOADS.merge(conn, rows["load"], rows["first"], rows["count"])
        activity.logger.debug("merged %d of %d staged rows", merged, rows["count"])
        return rows["count"]

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.finish_load")
    async def finish_load(self, load: StagedLoad) -> LoadSummary:
        async with connect_to_db_or_raise(self.database.url, pool=self.database.pool) as conn:
            return await LOADS.finish(conn, load["load"])


@workflow.defn(name=WORKFLOW_TYPE)
class {{ cookiecutter.workflow_name }}WorkflowImpl({{ cookiecutter.workflow_name }}Workflow):
    """Upserts the job's records in batches, through child workflows when it is big."""

    def __init__(self) -> None:
        # Batches, children, continue-as-new and the progress query (temporal/fanout.py).
        self.fan_out = FanOut()

    @workflow.run
    async def run(self, job: {{ cookiecutter.workflow_name }}Job) -> JobResult:
        # 1. Refuse a job whose values are wrong, before any activity runs.
        check_job(job, {{ cookiecutter.record_name }})
        # 2. A job that names a source: stage it into PostgreSQL; from here on the job
        #    is the staged rows, by reference, whatever the file's size (rule 4).
        if "source" in job:
            job = staged_job(job, await self.stage(job))
        # 3. Plan it: at most one run's worth of batches in a run (rule 3).
        plan = self.fan_out.plan(job)
        # 4. Write the batches: here, or in child workflows of this type when it is big.
        if not plan.in_children:
            await self.fan_out.run_batches(job, plan, self.write)
        else:
            await self.fan_out.run_children(job, plan)
            if not self.fan_out.finished:
                # This run started its share of children; the next run goes on from here.
                workflow.continue_as_new(self.fan_out.next_run(job))
        # 5. A load's own last run closes it, and returns its counts with the result.
        if finishes_load(job):
            return load_result(self.fan_out.result(), await self.finish_load(job))
        return self.fan_out.result()

    async def write(self, batch: {{ cookiecutter.workflow_name }}Job, summary: str) -> int:
        """Step 4 for one batch: upsert its records, or merge its range of staged rows,
        with the activity's options from the interface."""
        if "staged" in batch:
            return await workflow.execute_activity_method(
                {{ cookiecutter.workflow_name }}Activities.merge,
                batch,
                **MERGE_OPTIONS,
                summary=summary,
            )
        return await workflow.execute_activity_method(
            {{ cookiecutter.workflow_name }}Activities.upsert,
            batch,
            **UPSERT_OPTIONS,
            summary=summary,  # shown for each activity in the Web UI's event history
        )

    async def stage(self, job: {{ cookiecutter.workflow_name }}Job) -> StagedLoad:
        """Step 2: the stage activity reads the source on the worker; the load's id returns."""
        return await workflow.execute_activity_method(
            {{ cookiecutter.workflow_name }}Activities.stage,
            stage_request(job),
            **STAGE_OPTIONS,
            summary=f"stage {job['source'].get('format', 'the source')}",
        )

    async def finish_load(self, job: {{ cookiecutter.workflow_name }}Job) -> LoadSummary:
        """Step 5: the load's staged rows go, its counts come back."""
        load: StagedLoad = {"load": job["staged"]["load"], "count": job["staged"]["count"]}
        return await workflow.execute_activity_method(
            {{ cookiecutter.workflow_name }}Activities.finish_load, load, **MERGE_OPTIONS
        )


# What a worker registers: the Impl classes, never the interfaces.
WORKFLOWS = [{{ cookiecutter.workflow_name }}WorkflowImpl]
