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

import json
import logging
import traceback
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
    """The ways text can hold ``secret``: as it is, percent-encoded (a URL), quoted as a
    keyword value or a Python repr (backslash before quotes), and inside a JSON string."""
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        secret.replace("\\", "\\\\").replace("'", "\\'"),
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


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
    for secret in secrets:
        text = text.replace(secret, HIDDEN)
    return text


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
            # The same type name, so the retry policy treats it as before; no cause,
            # which would carry the secret along.
            message = scrub(str(error), self.secrets)
            raise ApplicationError(message, type=type(error).__name__) from None


class RedactFailures(Interceptor):
    """A worker interceptor: an activity failure that quotes a secret of the connection
    strings reaches Temporal (its history, the Web UI) with the secret replaced."""

    def __init__(self, *conninfos: str | None) -> None:
        self.secrets = secrets_of(*conninfos)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RedactFailures(next, self.secrets)
