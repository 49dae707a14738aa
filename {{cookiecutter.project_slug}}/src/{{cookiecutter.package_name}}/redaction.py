"""Connection strings and error messages made safe to show: no password ever prints.

``DATABASE_URL`` takes any connection string libpq accepts: a ``postgresql://`` URL
(the password in its userinfo or in a ``?password=`` parameter, percent-encoded or
not) or ``keyword=value`` pairs (the value quoted, with spaces and quotes inside).
Slicing strings cannot find the password in all of them, so libpq's own parser
(``psycopg.conninfo``) reads it. What is shown is built anew from the parts that are
safe to show; what is said about it (an error from psycopg, a log line) has every
secret of the string replaced.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import threading
import traceback
from types import TracebackType
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

# What a connection string may show: where the database is, and who connects.
SHOWN_PARAMETERS = ("host", "port", "dbname", "user")
# What it must never show.
SECRET_PARAMETERS = ("password", "sslpassword")
HIDDEN = "***"
UNPARSABLE = "a connection string that does not parse"


class InvalidConnectionStringError(ValueError):
    """The string is not a connection string libpq accepts. The message never quotes it:
    libpq's own message can quote a piece of a password written without quotes."""


def parse(conninfo: str) -> dict[str, str]:
    """The parameters of a connection string, by libpq's parser."""
    try:
        parameters = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        raise InvalidConnectionStringError(
            "not a PostgreSQL connection string: give a postgresql:// URL or keyword=value "
            "pairs, and quote a value that holds spaces (password='a b')"
        ) from None
    return {name: str(value) for name, value in parameters.items() if value is not None}


def safe_conninfo(conninfo: str) -> str:
    """The connection string with only host, port, database and user: safe to print,
    and still a string ``psql`` takes (it asks for the password)."""
    try:
        parameters = parse(conninfo)
    except InvalidConnectionStringError:
        return UNPARSABLE
    shown = {name: parameters[name] for name in SHOWN_PARAMETERS if name in parameters}
    return make_conninfo(**shown)


def written_forms(secret: str) -> set[str]:
    """The ways text can hold ``secret``: as it is, percent-encoded (a URL) or quoted as
    a keyword value, and each of those inside a Python repr or a JSON string (a
    traceback that shows the whole connection string, a JSON log line)."""
    written = {secret, quote(secret, safe=""), quote(secret), _backslashed(secret, "'")}
    return written | {escaped for form in written for escaped in _escaped(form)}


def _escaped(text: str) -> set[str]:
    """``text`` inside a quoted string: a repr in either quote, or JSON."""
    return {
        repr(text)[1:-1],
        _backslashed(text, "'"),
        _backslashed(text, '"'),
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
    }


def _backslashed(text: str, quote_mark: str) -> str:
    return text.replace("\\", "\\\\").replace(quote_mark, "\\" + quote_mark)


def secrets_of(*conninfos: str | None) -> list[str]:
    """The secrets the connection strings hold, in every form text may hold them (the
    whole string, for one that does not parse); longest first, so that a secret that
    contains another is replaced whole."""
    forms: set[str] = set()
    for conninfo in filter(None, conninfos):
        try:
            parameters = parse(conninfo)
        except InvalidConnectionStringError:
            forms |= written_forms(conninfo)
            continue
        for name in SECRET_PARAMETERS:
            if parameters.get(name):
                forms |= written_forms(parameters[name])
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with each of ``secrets`` (from :func:`secrets_of`) replaced by ``***``."""
    if not secrets:
        return text
    return _pattern(tuple(secrets)).sub(HIDDEN, text)


@functools.lru_cache(maxsize=16)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for every form, longest first; a percent-escape matches in either
    case, as URLs write ``%2F`` and ``%2f`` alike."""
    escaped = (re.escape(secret) for secret in secrets)
    either_case = (re.sub(r"%([0-9A-F]{2})", r"%(?i:\1)", form) for form in escaped)
    return re.compile("|".join(either_case))


def redact(text: str, conninfo: str | None) -> str:
    """``text`` with every secret of ``conninfo`` replaced by ``***``."""
    return scrub(text, secrets_of(conninfo))


class RedactSecrets(logging.Filter):
    """Scrubs the secrets of the service's connection strings from every log record,
    whoever logs it (psycopg's pool, the SDK, our own code), message and traceback."""

    def __init__(self, *conninfos: str | None) -> None:
        super().__init__()
        self.secrets = secrets_of(*conninfos)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg, record.args = scrub(record.getMessage(), self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
            # The scrubbed text is what formatters print; the live exception would be
            # formatted again, secrets and all.
            record.exc_info = None
        return True


class _RedactFailures(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, secrets: list[str]) -> None:
        super().__init__(next)
        self.secrets = secrets

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except Exception as error:
            # The whole chain as the SDK would send it: messages, causes, stack trace.
            sent = "".join(traceback.format_exception(error))
            if scrub(sent, self.secrets) == sent:
                raise
            # What the retry policy reads stays as it was: the type name, non_retryable
            # and the retry delay. No cause, which would carry the secret along, and no
            # details, which may hold it too.
            message = scrub(_message(error), self.secrets)
            if isinstance(error, ApplicationError):
                raise ApplicationError(
                    message,
                    type=error.type,
                    non_retryable=error.non_retryable,
                    next_retry_delay=error.next_retry_delay,
                    category=error.category,
                ) from None
            raise ApplicationError(message, type=type(error).__name__) from None


def _message(error: BaseException) -> str:
    """An error's own message: an ApplicationError's without the type its str() adds."""
    return error.message if isinstance(error, ApplicationError) else str(error)


class RedactFailures(Interceptor):
    """A worker interceptor: an activity failure that quotes a secret of the connection
    strings reaches Temporal (its history, the Web UI) with the secret replaced."""

    def __init__(self, *conninfos: str | None) -> None:
        self.secrets = secrets_of(*conninfos)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RedactFailures(next, self.secrets)


def redact_uncaught(*conninfos: str | None) -> None:
    """Print an uncaught exception's traceback, in the main thread or another, with the
    secrets of the connection strings replaced: Python's own printer bypasses logging."""
    secrets = secrets_of(*conninfos)

    def printed(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        text = "".join(traceback.format_exception(kind, error, trace))
        sys.stderr.write(scrub(text, secrets))

    def printed_in_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            sys.stderr.write(f"Exception in thread {args.thread.name if args.thread else '?'}:\n")
            printed(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = printed
    threading.excepthook = printed_in_thread
