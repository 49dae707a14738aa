"""What a module declares to run on its own: a :class:`ScheduledJob` per schedule.

A module's ``schedules.py`` lists them and its ``MODULE`` carries the list; ``schedules
apply`` (:mod:`.schedules`) makes the server match it. Kept apart from the applying:
the module record imports this, and workflow code imports the module record, in the
sandbox, for every run; the applying imports the module record, never the other way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from temporalio.client import ScheduleOverlapPolicy

JobT = TypeVar("JobT", bound=Mapping[str, Any])


@dataclass(frozen=True)
class ScheduledJob(Generic[JobT]):
    """One schedule of a module's workflow, as its ``schedules.py`` declares it."""

    id: str
    """Unique on the server; the runs it starts are named ``<id>-<time>``."""
    job: JobT
    """The workflow's input, plain JSON: what any client would send."""
    every: timedelta | None = None
    cron: str | None = None
    """Five fields, ``minute hour day-of-month month day-of-week``, or ``@daily`` and such."""
    time_zone: str = "UTC"
    """An IANA name (``Europe/Paris``): the zone ``cron`` is read in."""
    overlap: ScheduleOverlapPolicy = ScheduleOverlapPolicy.SKIP
    catchup_window: timedelta = timedelta(minutes=10)
    """A time missed by more than this (the server was down) is skipped, not run late."""
    pause_on_failure: bool = False
    paused: bool = False
    """Only when first created; people pause and unpause it from then on."""
    note: str = ""

    def when(self) -> str:
        """The schedule's times in words: ``every 1:00:00`` or ``cron 0 6 * * * (UTC)``."""
        return f"every {self.every}" if self.every else f"cron {self.cron} ({self.time_zone})"
