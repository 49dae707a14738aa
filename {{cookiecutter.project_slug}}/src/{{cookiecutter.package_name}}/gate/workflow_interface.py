"""What the worker controller, or any client, names to run the rollout gate.

Interfaces only, as a workflow module's are: the gate's type, its activity, their
options, and its report. ``workflow.py`` holds the ``...Impl`` classes that run.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from typing_extensions import TypedDict

from ..temporal.retry import ActivityOptions, PermanentError

WORKFLOW_TYPE = "RolloutGateWorkflow"


class GateRequest(TypedDict, total=False):
    """The gate's optional input: the ``input`` of the WorkerDeployment's gate, if any."""

    require_encryption: bool
    """Fail unless this build's workers hold PAYLOAD_ENCRYPTION_KEYS."""


class GateReport(TypedDict):
    """What the gate found: the tables it checked, each with every column the code writes."""

    tables: list[str]
    encrypted: bool


class RolloutGateActivities:
    """Activity interface of the gate."""

    @activity.defn(name="RolloutGateActivities.check")
    async def check(self, request: GateRequest) -> GateReport:
        """Reach PostgreSQL and find every table and column this build's modules write."""
        raise NotImplementedError


# A database that is briefly away during a deploy is retried; one still away after
# CHECK_OPTIONS' schedule_to_close fails the gate. A schema the code does not match
# fails it at once: no retry can add a column. A failed gate holds the version back
# for good (the controller starts it once per build), so only a real fault fails it.
CHECK_OPTIONS = ActivityOptions(
    start_to_close_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=10),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=0,
        non_retryable_error_types=[PermanentError.__name__],
    ),
)


@workflow.defn(name=WORKFLOW_TYPE)
class RolloutGateWorkflow:
    """Completes if this build is ready for traffic; fails naming what is not."""

    @workflow.run
    async def run(self, request: GateRequest | None = None) -> GateReport:
        """The controller passes the gate's ``input``, or nothing."""
        raise NotImplementedError
