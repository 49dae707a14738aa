"""Showing how far a long workflow is: a live bar for people, plain lines for logs.

On a terminal the bar is drawn by rich (Textualize/rich). It was picked over tqdm
for what this display needs:

* it redraws on a thread of its own five times a second, so elapsed time and ETA
  keep moving while the count waits for the next batch (tqdm redraws when the
  count changes, so a bar waiting on a batch would look hung);
* its columns give done/total, percent, rate, elapsed time and ETA from a
  smoothed speed, with no arithmetic of ours;
* log lines printed through the same console appear above the bar instead of
  tearing it (see ``cli.configure_logging``);
* it takes its clock as a parameter, which the tests use to move time by hand.

It is pure Python, typed, and released every few weeks. Anywhere else (a pipe, a
CI log) a plain line is printed at every further tenth of the work, or after 30 s
without one, so a log shows that a long run is alive without filling up.
"""

from __future__ import annotations

import functools
import math
import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TimeElapsedColumn,
)
from rich.text import Text

Clock = Callable[[], float]

# Redraws per second of the live bar: it ticks every 0.2 s.
BAR_REFRESHES_PER_SECOND = 5
# In a log: a line at every further tenth of the work, or after this long without one.
LINE_EVERY_SECONDS = 30.0


class ProgressDisplay(Protocol):
    def update(self, done: int, total: int | None, unit: str = "items") -> None:
        """The latest count of ``unit``; called as often as the caller learns one. A new
        unit (a load's "bytes staged", then its items) starts a new count. A total of None
        is unknown (a gzipped source's bytes): the count is shown without one."""

    def finish(self) -> None:
        """The work is over: leave the display in its final state."""


@functools.cache
def stderr_console() -> Console:
    """The one console on stderr: the bar and log lines share it, so logs print above the bar."""
    return Console(stderr=True)


def progress_display(stream: TextIO) -> ProgressDisplay:
    """A live bar when ``stream`` is a terminal, plain lines otherwise."""
    if stream.isatty():
        console = stderr_console() if stream is sys.stderr else Console(file=stream)
        return LiveBar(console)
    return PlainLines(stream)


class Count(ProgressColumn):
    """``done/total unit``, or ``done unit`` while the total is unknown."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "items")
        if task.total is None:
            return Text(f"{task.completed:,.0f} {unit}")
        return Text(f"{task.completed:,.0f}/{task.total:,.0f} {unit}")


class ItemsPerSecond(ProgressColumn):
    """The smoothed rate, in the task's unit per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = str(task.fields.get("unit", "items")).split()[0]
        return Text(f"-- {unit}/s" if speed is None else f"{speed:,.0f} {unit}/s")


class CountdownEta(ProgressColumn):
    """Time left: from the smoothed rate at the last count, counting down until the next.

    rich's own column holds still between counts; this one keeps ticking, so a run
    waiting on its next batch visibly gets closer to the end.
    """

    def render(self, task: Task) -> Text:
        speed = task.speed
        if task.finished:
            return Text("ETA 0:00:00")
        if not speed or task.total is None:
            return Text("ETA -:--:--")
        at_last_count = (task.total - task.completed) / speed
        since = task.get_time() - float(task.fields.get("counted_at", task.get_time()))
        left = max(0, math.ceil(at_last_count - since))
        return Text(f"ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}")


class LiveBar:
    """A bar redrawn in place: done/total, percent, rate, elapsed time, ETA."""

    def __init__(
        self, console: Console, *, clock: Clock = time.monotonic, auto_refresh: bool = True
    ) -> None:
        self.progress = Progress(
            Count(),
            BarColumn(),
            TaskProgressColumn(),
            ItemsPerSecond(),
            TimeElapsedColumn(),
            CountdownEta(),
            console=console,
            get_time=clock,
            auto_refresh=auto_refresh,
            refresh_per_second=BAR_REFRESHES_PER_SECOND,
        )
        self.clock = clock
        self.task_id: TaskID | None = None

    def update(self, done: int, total: int | None, unit: str = "items") -> None:
        task = self.progress.tasks[-1] if self.progress.tasks else None
        if task is not None and task.fields["unit"] != unit:  # the work's next phase
            self.progress.update(task.id, total=task.completed)  # shown as done
            self.task_id = None
        if self.task_id is None:  # the clock starts with the first count
            self.task_id = self.progress.add_task(unit, total=total, completed=done, unit=unit)
            self.progress.start()
        if done != self.progress.tasks[-1].completed:
            self.progress.update(self.task_id, completed=done, total=total, counted_at=self.clock())

    def finish(self) -> None:
        self.progress.stop()

    def line(self) -> str:
        """The bar as it would be drawn now, as plain text (for tests)."""
        console = Console(width=self.progress.console.width, color_system=None)
        with console.capture() as capture:
            console.print(self.progress.make_tasks_table(self.progress.tasks))
        return capture.get().rstrip("\n")


class PlainLines:
    """``progress: 1,506/2,506 items (60%), 60 items/s, 25s elapsed, ETA 17s``, now and then."""

    def __init__(self, stream: TextIO, *, clock: Clock = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.started: float | None = None  # at the first count
        self.last_line_at: float | None = None
        self.last_tenth = -1
        self.unit = "items"

    def update(self, done: int, total: int | None, unit: str = "items") -> None:
        now = self.clock()
        if unit != self.unit:  # the work's next phase: counted anew
            self.started, self.last_line_at, self.last_tenth, self.unit = None, None, -1, unit
        if self.started is None:
            self.started = now
        # No total (0 or unknown): the first line, then a line only with time.
        tenth = 10 * done // total if total else 10
        stale = self.last_line_at is None or now - self.last_line_at >= LINE_EVERY_SECONDS
        if tenth > self.last_tenth or stale:
            self.last_tenth = max(tenth, self.last_tenth)
            self.last_line_at = now
            self.stream.write(self.line(done, total, now - self.started, unit) + "\n")
            self.stream.flush()

    def finish(self) -> None:
        """Nothing to close: the last tenth was printed when it was reached."""

    @staticmethod
    def line(done: int, total: int | None, elapsed: float, unit: str = "items") -> str:
        if total is None:
            text = f"progress: {done:,} {unit}"
        else:
            percent = 100 * done // total if total else 100
            text = f"progress: {done:,}/{total:,} {unit} ({percent}%)"
        if elapsed <= 0 or done == 0:
            return f"{text}, {elapsed:.0f}s elapsed"
        rate = done / elapsed
        per = unit.split()[0]
        text = f"{text}, {rate:,.0f} {per}/s, {elapsed:.0f}s elapsed"
        return text if total is None else f"{text}, ETA {(total - done) / rate:.0f}s"
