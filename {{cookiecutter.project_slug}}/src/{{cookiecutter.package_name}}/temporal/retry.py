"""What the service's activities share about failing: the error no retry can fix, and
the shape of the options each activity declares beside its interface.

Temporal retries a failed activity for us: that is why activities must be
idempotent and why they raise instead of looping. A :class:`PermanentError`
means "retrying cannot help" (bad input, a row the table refuses) and, listed as
non-retryable in an activity's retry policy, fails the workflow at once; any other
exception, such as a database that is briefly down, is retried with backoff.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType
from typing_extensions import NotRequired, TypedDict


class PermanentError(Exception):
    """An activity failure that no retry can fix. Activities list it as non-retryable."""


class ActivityOptions(TypedDict):
    """The keyword arguments of a ``workflow.execute_activity*`` call: an activity's own
    timeouts and retries, declared beside its interface method."""

    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta
    retry_policy: RetryPolicy
    heartbeat_timeout: NotRequired[timedelta]
    """For an activity that runs long and heartbeats: a lost attempt is noticed this soon."""
    cancellation_type: NotRequired[ActivityCancellationType]
    """For a fan-out's batches, WAIT_CANCELLATION_COMPLETED: a run that stops its batches
    waits until each has ended, so none is still writing once the run has failed."""
