"""What clients and other workflows import to use the {{ cookiecutter.workflow_name }} workflow.

Interfaces only: the task queue, the job type, and the classes whose names the
Temporal server and Web UI show. The code that runs lives in ``workflow.py`` (the
``...Impl`` classes). This module touches nothing outside the process, so
workflow code may import it inside the sandbox.

The job is a plain JSON object, so any client can start the workflow: this
service, another SDK, or ``temporal workflow start --input-file ...``.
"""

from __future__ import annotations

from temporalio import activity, workflow

from {{ cookiecutter.package_name }}.temporal.fanout import Job, JobResult

from .record import (
    {{ cookiecutter.workflow_name }}RecordDict,
)

TASK_QUEUE = "{{ cookiecutter.task_queue }}"
WORKFLOW_TYPE = "{{ cookiecutter.workflow_name }}Workflow"


class {{ cookiecutter.workflow_name }}Job(Job, total=False):
    """Workflow input, and each activity's batch: records, and/or a range of numbered ones.

    See :class:`Job` for ``key_range``, ``batch_size`` and ``max_activities_per_run``.
    """

    records: list[{{ cookiecutter.workflow_name }}RecordDict]


class {{ cookiecutter.workflow_name }}Activities:
    """Activity interface. Names are qualified with the class so two modules never collide."""

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.upsert")
    async def upsert(self, batch: {{ cookiecutter.workflow_name }}Job) -> int:
        """Upsert one batch of records in one transaction; return how many."""
        raise NotImplementedError


@workflow.defn(name=WORKFLOW_TYPE)
class {{ cookiecutter.workflow_name }}Workflow:
    """Workflow interface: clients start the workflow through this class, for example
    ``client.execute_workflow(<this class>.run, job, id=..., task_queue=TASK_QUEUE)``.
    """

    @workflow.run
    async def run(self, job: {{ cookiecutter.workflow_name }}Job) -> JobResult:
        """Upsert every record of the job, fanning out into children when it is big."""
        raise NotImplementedError
