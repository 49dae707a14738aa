"""What the tests share, each written once, in one module a topic.

- ``jobs``: the module under test's example inputs and records;
- ``workers``: the service's own workers on a test's task queue, and a stub activity;
- ``waits``: ``assert_eventually`` and ``result_within``, each with a bound and a message;
- ``rows``: the module's table, read, counted and held;
- ``histories``: what a workflow did, from its histories and its children's;
- ``processes``: the CLI, a worker and dev in processes of their own;
- ``servers``: a Temporal server the fault tests stop and start again.

Tests import from ``tests.helpers`` itself; the names below are the whole surface.
"""

from .histories import activity_attempts, events, handle_histories, scheduled_activity_names
from .jobs import (
    EXAMPLE,
    FIELD_NAMES,
    LARGE_EXAMPLE,
    MODULE_NAME,
    PACKAGE,
    PROJECT_ROOT,
    TEXT_FIELDS,
    example_input,
    job_over,
    records,
)
from .processes import (
    DEV_READY,
    background,
    cli,
    dev_running,
    free_port,
    free_port_pair,
    probe,
    run_cli,
    service_env,
    temporal_cli,
    wait_for_port,
)
from .rows import expect_every_row_once, row_count, row_held, stored, table_locked
from .servers import ONE_PARTITION_PER_QUEUE, TemporalServer
from .waits import (
    RESULT_TIMEOUT,
    application_error,
    assert_eventually,
    assert_eventually_here,
    has_failed_attempt,
    last_workflow_task_failure,
    result_within,
)
from .workers import StubUpserts, serving, serving_stubs

__all__ = [
    "DEV_READY",
    "EXAMPLE",
    "FIELD_NAMES",
    "LARGE_EXAMPLE",
    "MODULE_NAME",
    "ONE_PARTITION_PER_QUEUE",
    "PACKAGE",
    "PROJECT_ROOT",
    "RESULT_TIMEOUT",
    "TEXT_FIELDS",
    "StubUpserts",
    "TemporalServer",
    "activity_attempts",
    "application_error",
    "assert_eventually",
    "assert_eventually_here",
    "background",
    "cli",
    "dev_running",
    "events",
    "example_input",
    "expect_every_row_once",
    "free_port",
    "free_port_pair",
    "handle_histories",
    "has_failed_attempt",
    "job_over",
    "last_workflow_task_failure",
    "probe",
    "records",
    "result_within",
    "row_count",
    "row_held",
    "run_cli",
    "scheduled_activity_names",
    "service_env",
    "serving",
    "serving_stubs",
    "stored",
    "table_locked",
    "temporal_cli",
    "wait_for_port",
]
