"""The retry policy every activity of this service runs under.

Temporal retries a failed activity for us: that is why activities must be
idempotent and why they raise instead of looping. A :class:`PermanentError`
means "retrying cannot help" (bad input, a row that must not exist) and fails the
workflow at once; any other exception, such as a database that is briefly down,
is retried with backoff.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy


class PermanentError(Exception):
    """An activity failure that no retry can fix. Listed as non-retryable below."""


DEFAULT_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    # Unlimited attempts: a transient outage (database restart, deploy) heals by
    # itself; each activity's schedule-to-close timeout bounds the total time.
    maximum_attempts=0,
    non_retryable_error_types=[PermanentError.__name__],
)
