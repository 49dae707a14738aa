"""What clients and other workflows import to use the {{ cookiecutter.workflow_name }} workflow.

Interfaces only: the task queue, the limits, the payload types, and the classes
whose names the Temporal server and Web UI show. The code that runs lives in
``workflow.py`` (the ``...Impl`` classes). This module touches nothing outside
the process, so workflow code may import it inside the sandbox.

Payloads are plain JSON objects, so any client can start the workflow: this
service, another SDK, or ``temporal workflow start --input-file ...``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import TypedDict

from temporalio import activity, workflow

TASK_QUEUE = "{{ cookiecutter.task_queue }}"

# Rule 3: no workflow run schedules more than this many activities and child
# workflows. Each costs at least three history events, retries more, and the
# server warns at 10,240 events and fails a run at 51,200. Bigger jobs fan out
# into child workflows; a parent that would start too many children continues
# as new. An input may lower it (tests do), never raise it.
MAX_ACTIVITIES_PER_RUN = 1000

# One upsert takes milliseconds. If its worker dies, only this timeout tells the
# server the attempt is lost, so it is short: a killed worker's activities are
# retried elsewhere within seconds. Activities that run for long must heartbeat
# instead (heartbeat_timeout), so a lost attempt is noticed just as fast.
ACTIVITY_START_TO_CLOSE = timedelta(seconds=10)
# Retries go on through a database outage of up to this long, then the workflow fails.
ACTIVITY_SCHEDULE_TO_CLOSE = timedelta(minutes=30)


class {{ cookiecutter.workflow_name }}Dict(TypedDict):
    """One item (a person) as it travels in payloads."""

    name: str
    surname: str
    known_for: str


class _OptionalInput(TypedDict, total=False):
    fans: int
    """Numbered fans 1..fans to register. A number, not a list: a big job's input stays small."""
    max_activities_per_run: int
    """Lower than MAX_ACTIVITIES_PER_RUN to fan out sooner (tests use small values)."""
    done: int
    """Items already done by earlier runs; set by the workflow when it continues as new."""


class {{ cookiecutter.workflow_name }}WorkflowInput(_OptionalInput):
    """Workflow input: the family to keep up with, its members and its fans."""

    family: str
    members: list[{{ cookiecutter.workflow_name }}Dict]


class {{ cookiecutter.workflow_name }}WorkflowResult(TypedDict):
    """Workflow result: items upserted, and rows that carry the family's surname."""

    upserted: int
    family_size: int


class {{ cookiecutter.workflow_name }}ChunkInput(TypedDict):
    """One child workflow's share: some members, then a range of fan numbers."""

    family: str
    members: list[{{ cookiecutter.workflow_name }}Dict]
    first_fan: int
    fans: int


class {{ cookiecutter.workflow_name }}Progress(TypedDict):
    """Answer of the ``progress`` query: items upserted so far, out of all."""

    done: int
    total: int


def workflow_id_for(workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput) -> str:
    """A workflow id derived from the input: starting the same input twice finds the same run."""
    canonical = json.dumps(workflow_input, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return f"{{ cookiecutter.workflow_module | replace('_', '-') }}-{digest}"


class {{ cookiecutter.workflow_name }}Activities:
    """Activity interface. Names are qualified with the class so two modules never collide."""

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.upsert")
    async def upsert(self, item: {{ cookiecutter.workflow_name }}Dict) -> int:
        """Upsert one item; return its row id (the same id on every retry)."""
        raise NotImplementedError

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.count_family")
    async def count_family(self, surname: str) -> int:
        """How many rows share the surname."""
        raise NotImplementedError


@workflow.defn(name="{{ cookiecutter.workflow_name }}Workflow")
class {{ cookiecutter.workflow_name }}Workflow:
    """Workflow interface: clients start the workflow through this class, for example
    ``client.execute_workflow(<this class>.run, data, id=..., task_queue=TASK_QUEUE)``.
    """

    @workflow.run
    async def run(
        self,
        workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput,
    ) -> {{ cookiecutter.workflow_name }}WorkflowResult:
        """Upsert every member and fan through child workflows, then count the family."""
        raise NotImplementedError

    @workflow.query
    def progress(self) -> {{ cookiecutter.workflow_name }}Progress:
        """How far the workflow is: items upserted so far, out of all."""
        raise NotImplementedError


@workflow.defn(name="{{ cookiecutter.workflow_name }}ChunkWorkflow")
class {{ cookiecutter.workflow_name }}ChunkWorkflow:
    """Child workflow: upserts one share of the work, at most one run's worth of activities."""

    @workflow.run
    async def run(self, chunk: {{ cookiecutter.workflow_name }}ChunkInput) -> int:
        """Upsert the share's members and fans; return how many."""
        raise NotImplementedError
