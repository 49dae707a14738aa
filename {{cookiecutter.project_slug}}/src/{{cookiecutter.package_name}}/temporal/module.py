"""What a workflow module hands the rest of the service: one :class:`WorkflowModule`.

The worker, ``init-db``, ``dev``, ``run`` and the tests know workflow modules only
through this record, read from :mod:`..registry`; none of them imports a module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..fields import Fields
from .fanout import RecordType, check_job
from .scheduled_job import ScheduledJob
from .shapes import conform

if TYPE_CHECKING:  # workflow code imports this module, never the database
    from ..db import Database

ActivityFactory = Callable[["Database"], Sequence[Callable[..., Any]]]


@dataclass(frozen=True)
class WorkflowModule:
    """One workflow module: its names, its code for the worker, and its schema."""

    package: str
    """The module's Python package, where ``schema.sql`` lives."""
    workflow_type: str
    """The name clients start it by, as the server and Web UI show it."""
    task_queue: str
    workflows: Sequence[type]
    """The Impl classes a worker registers (never the interfaces)."""
    activities: ActivityFactory
    """Bound activity methods of the Impl, built on the worker's database."""
    table: str
    """The table its activities upsert into, for ``dev`` and the tests to count."""
    fields: Fields
    """Its record's declared fields: ``make bench`` writes them along PostgreSQL's own
    bulk paths (bench/paths.py), to measure the activity against."""
    schedules: Sequence[ScheduledJob[Any]] = ()
    """Its Temporal Schedules (its ``schedules.py``), which ``schedules apply`` applies."""
    check_job: Callable[[Any], None] | None = None
    """Refuses a job as its workflow would, outside one: ``schedules apply`` checks each
    schedule's job with it before the server is given any."""

    @property
    def name(self) -> str:
        """The module's own name, the last part of ``package``: examples/<name>.json."""
        return self.package.rsplit(".", 1)[-1]

    def schema_sql(self) -> str:
        """The module's ``schema.sql``: tables and the unique keys its upserts rely on."""
        return (resources.files(self.package) / "schema.sql").read_text(encoding="utf-8")


def every_schema(modules: Sequence[WorkflowModule]) -> list[str]:
    """What ``init-db`` applies: each module's schema.sql, then the tables its staged
    loads use (loads/staging.py), which copy the column types of the module's table."""
    # Activity code: kept out of the workflow sandbox, which imports this module.
    from ..loads.staging import SHARED_TABLES, Staging

    staged = [Staging(module.table, module.fields).schema() for module in modules]
    return [*(module.schema_sql() for module in modules), SHARED_TABLES, *staged]


def job_checker(job_type: Any, record_type: RecordType[Any]) -> Callable[[Any], None]:
    """A module's check_job: a job's shape as the payload converter checks it, then its
    values as the workflow's run() does, raising InvalidInputError naming the path."""

    def check(job: Any) -> None:
        check_job(conform(job, job_type), record_type)

    return check
