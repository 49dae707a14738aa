"""Log lines: short and readable on a terminal, one line each in files, or one JSON
object each with ``LOG_FORMAT=json``, for a log pipeline to index.

The SDK's ``workflow.logger`` and ``activity.logger`` attach the workflow id, run id
and activity type to each record they log. A JSON line gets them as fields of their
own (:class:`JsonFormatter`); a text line ends with the workflow id in brackets
(:class:`TemporalContext`) instead of the SDK's whole dictionary.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from rich.console import Console
from rich.logging import RichHandler
from temporalio import activity, workflow

from . import config
from .progress import stderr_console
from .redaction import RedactSecrets, redact_uncaught

# The fields a JSON line takes from the SDK's workflow and activity context; the
# activity's run id arrives as workflow_run_id and is stored as run_id.
CONTEXT_FIELDS = {
    "workflow_id": "workflow_id",
    "run_id": "run_id",
    "workflow_run_id": "run_id",
    "workflow_type": "workflow_type",
    "activity_type": "activity_type",
    "activity_id": "activity_id",
    "attempt": "attempt",
    "task_queue": "task_queue",
    "namespace": "namespace",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and its Temporal context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for context in ("temporal_workflow", "temporal_activity"):
            details = getattr(record, context, None)
            if isinstance(details, dict):
                for key, field in CONTEXT_FIELDS.items():
                    if key in details:
                        entry[field] = details[key]
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:  # already formatted, and scrubbed (redaction.RedactSecrets)
            entry["error"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


class TemporalContext(logging.Filter):
    """Adds ``context``: " [<workflow id>]" (and the activity type) for a line logged
    inside a workflow or an activity, "" for any other."""

    def filter(self, record: logging.LogRecord) -> bool:
        details = getattr(record, "temporal_activity", None) or getattr(
            record, "temporal_workflow", None
        )
        record.context = ""
        if isinstance(details, dict) and details.get("workflow_id"):
            where = [str(details["workflow_id"])]
            if details.get("activity_type"):
                where.insert(0, str(details["activity_type"]))
            record.context = f" [{', '.join(where)}]"
        return True


def plain_sdk_messages() -> None:
    """Stop the SDK's loggers appending their context dictionary to every message:
    the formatters here show it, as fields or as a short suffix."""
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False


class ShortLoggerName(logging.Filter):
    """Adds ``short_name``: the logger's last part ("worker" for ...temporal.worker)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.short_name = record.name.rsplit(".", 1)[-1].lstrip("_")
        return True


def terminal_log_handler(console: Console) -> logging.Handler:
    """Time, level, short logger name and message, wrapped to the window's width, and
    printed above the progress bar, which draws on the same console."""
    handler = RichHandler(console=console, show_path=False, log_time_format="%H:%M:%S")
    handler.setFormatter(logging.Formatter("%(short_name)s: %(message)s%(context)s"))
    handler.addFilter(ShortLoggerName())
    handler.addFilter(TemporalContext())
    return handler


def json_handler(stream: TextIO) -> logging.Handler:
    """A handler of JSON lines."""
    plain_sdk_messages()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    return handler


def configure_logging(level: str, log_format: str = "text", stream: TextIO | None = None) -> None:
    """JSON lines with ``log_format="json"``; otherwise short lines on a terminal and,
    elsewhere (files, CI), full timestamps, one line each."""
    stream = stream or sys.stderr
    plain_sdk_messages()
    handler: logging.Handler
    if log_format == "json":
        handler = json_handler(stream)
    elif stream.isatty():
        handler = terminal_log_handler(stderr_console())
    else:
        handler = logging.StreamHandler(stream)
        line = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"
        handler.setFormatter(logging.Formatter(line))
        handler.addFilter(TemporalContext())
    # Whoever logs, no line shows the database's password; nor does a traceback that
    # nobody caught, which Python prints without logging.
    handler.addFilter(RedactSecrets(config.database_url()))
    redact_uncaught(config.database_url())
    logging.basicConfig(level=level, handlers=[handler], force=True)
