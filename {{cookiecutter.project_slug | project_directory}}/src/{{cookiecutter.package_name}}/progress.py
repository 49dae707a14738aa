"""Showing how far a long workflow is, for people and for logs.

On a terminal the bar redraws in place; anywhere else (a pipe, a CI log) it
prints a plain line whenever another tenth of the work is done, so logs stay short.
"""

from __future__ import annotations

import time
from typing import TextIO

BAR_WIDTH = 30


class ProgressDisplay:
    """Renders done/total to ``stream`` as a bar (terminal) or as plain lines."""

    def __init__(self, stream: TextIO, *, interactive: bool | None = None) -> None:
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.started = time.monotonic()
        self.last_shown: tuple[int, int] | None = None
        self.last_tenth = -1

    def show(self, done: int, total: int) -> None:
        if (done, total) == self.last_shown:
            return
        self.last_shown = (done, total)
        if self.interactive:
            self.stream.write("\r" + self.bar(done, total))
            self.stream.flush()
            return
        tenth = 10 * done // total if total else 10
        if tenth > self.last_tenth:
            self.last_tenth = tenth
            self.stream.write(f"progress: {self.summary(done, total)}\n")
            self.stream.flush()

    def finish(self) -> None:
        """End the bar's line so what follows starts on a fresh one."""
        if self.interactive and self.last_shown is not None:
            self.stream.write("\n")
            self.stream.flush()

    def bar(self, done: int, total: int) -> str:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.summary(done, total)}"

    def summary(self, done: int, total: int) -> str:
        percent = 100 * done // total if total else 100
        elapsed = time.monotonic() - self.started
        return f"{done:,}/{total:,} items ({percent}%) after {elapsed:.0f}s"
