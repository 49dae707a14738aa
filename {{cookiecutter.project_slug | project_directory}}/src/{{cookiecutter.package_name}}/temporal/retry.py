"""How every activity of this service is timed out and retried.

Temporal retries a failed activity for us: that is why activities must be
idempotent and why they raise instead of looping. A :class:`PermanentError`
means "retrying cannot help" (bad input, a row the table refuses) and fails the
workflow at once; any other exception, such as a database that is briefly down,
is retried with backoff.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy


class PermanentError(Exception):
    """An activity failure that no retry can fix. Listed as non-retryable below."""


DEFAULT_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    # Unlimited attempts: a transient outage (database restart, deploy) heals by
    # itself; the schedule-to-close timeout below bounds the total time.
    maximum_attempts=0,
    non_retryable_error_types=[PermanentError.__name__],
)


class ActivityOptions(TypedDict):
    """The keyword arguments every ``workflow.execute_activity*`` call of the service takes."""

    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta
    retry_policy: RetryPolicy


ACTIVITY_OPTIONS = ActivityOptions(
    # An attempt borrows a connection (at most db.POOL_TIMEOUT, 2 s, or opens one
    # within db.CONNECT_TIMEOUT, 3 s) and upserts one batch: 1,000 rows take about
    # 30 ms, the 10,000 of MAX_BATCH_SIZE a few tenths of a second. If its worker
    # dies, only this timeout tells the server the attempt is lost, so it is short:
    # a killed worker's batches run elsewhere within seconds. An activity that runs
    # for long must heartbeat instead (heartbeat_timeout), so a lost attempt is
    # noticed just as fast.
    start_to_close_timeout=timedelta(seconds=5),
    # Retries go on through a database outage of up to this long, then the workflow fails.
    schedule_to_close_timeout=timedelta(minutes=30),
    retry_policy=DEFAULT_RETRY_POLICY,
)
