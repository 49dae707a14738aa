"""Where a load's records come from: a file, an HTTP(S) URL or an S3 object, read from a byte.

The worker reads the source, never the client that started the load: a path names a
file on the worker's machine. Each source opens at a byte offset, so that a retried
stage goes on from the position it committed: a file seeks, HTTP asks for a ``Range``
and S3 for a ranged GET. A server that ignores the range sends the whole body, and
the bytes before the offset are skipped instead. Each source also has a version (a
file's size and modification time, an ETag or Last-Modified): a source whose version
changed between two readings of one load is refused, so a load never mixes two
versions of a file.

The reading is synchronous: a stage parses on a thread of its own (stage.py says why).
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import logging
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

import httpx

from ..temporal.loading import SCHEMES, shown
from ..temporal.retry import PermanentError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

BLOCK_SIZE = 1 << 20
# HTTP: a server that answers 429 or 5xx is asked again this many times in one attempt,
# after the Retry-After it gives (at most MAX_RETRY_AFTER) or a doubling pause; then
# the attempt fails and Temporal's retry policy takes over, from the committed position.
HTTP_RETRIES = 5
MAX_RETRY_AFTER = 30.0
# A body cut off mid-way is asked for again from where it stopped, this many times.
RESUMES = 5
HTTP_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)


class SourceError(Exception):
    """The source could not be read this time (a network error, a 503): retried."""


class SourceRefusedError(PermanentError):
    """No retry can help: the source is missing, forbidden, or changed during the load."""


class ByteSource(Protocol):
    """A source's bytes from an offset, and the version they belong to."""

    url: str

    def version(self) -> str | None:
        """What identifies this version of the source, once :meth:`blocks` has opened it."""
        ...

    def size(self) -> int | None:
        """The source's whole size in bytes, once opened, where the source says it."""
        ...

    def blocks(self, offset: int) -> Generator[bytes, None, None]:
        """The bytes from ``offset`` on, in blocks; SourceError or SourceRefusedError."""
        ...


def open_source(url: str, expected_version: str | None) -> ByteSource:
    """The source ``url`` names; its reads refuse a version other than ``expected_version``."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileSource(url, Path(unquote(parts.path)), expected_version)
    if parts.scheme in ("http", "https"):
        return HttpSource(url, expected_version)
    if parts.scheme == "s3":
        return S3Source(url, parts.netloc, unquote(parts.path.lstrip("/")), expected_version)
    raise SourceRefusedError(f"{shown(url)}: the scheme must be one of {', '.join(SCHEMES)}")


@dataclass
class Opened:
    """What every source learns when it opens: the version it read, and its whole size."""

    _version: str | None = field(default=None, init=False)
    _size: int | None = field(default=None, init=False)

    def version(self) -> str | None:
        return self._version

    def size(self) -> int | None:
        return self._size

    def __repr__(self) -> str:  # the URL without its user, password or query
        return f"{type(self).__name__}({shown(getattr(self, 'url', ''))!r})"


def changed(url: str, expected: str | None, found: str | None) -> SourceRefusedError | None:
    if expected is None or expected == found:
        return None
    return SourceRefusedError(
        f"{shown(url)} changed during the load (version {expected}, now {found}): "
        "a load never mixes two versions of a file; start it again to load the new one"
    )


@dataclass(repr=False)
class FileSource(Opened):
    url: str
    path: Path
    expected: str | None

    def blocks(self, offset: int) -> Generator[bytes, None, None]:
        try:
            file = self.path.open("rb")
        except (FileNotFoundError, NotADirectoryError):
            raise SourceRefusedError(
                f"{self.path}: no such file on the worker (the worker reads the source, "
                "not the client that started the load)"
            ) from None
        except OSError as error:
            raise SourceRefusedError(f"{self.path}: the worker cannot read it: {error}") from None
        with file:
            stat = Path(self.path).stat()
            self._version = f"{stat.st_size}-{stat.st_mtime_ns}"
            self._size = stat.st_size
            refused = changed(self.url, self.expected, self._version)
            if refused:
                raise refused
            file.seek(offset)
            while block := file.read(BLOCK_SIZE):
                yield block


def resuming(
    url: str,
    body: Callable[[int], Iterator[bytes]],
    offset: int,
    cut_off: tuple[type[Exception], ...],
) -> Generator[bytes, None, None]:
    """The bytes of ``body(offset)``; a body cut off mid-way (one of ``cut_off``) is asked
    for again from the byte where it stopped, RESUMES times at most."""
    for resumes in range(RESUMES + 1):
        delivered = offset
        try:
            for block in body(offset):
                delivered += len(block)
                yield block
            return
        except cut_off as error:
            if resumes == RESUMES:
                raise SourceError(f"{shown(url)}: {type(error).__name__}") from None
            log.info(
                "%s cut off after %s bytes (%s): asking again from there",
                shown(url), f"{delivered:,}", type(error).__name__,
            )  # fmt: skip
            offset = delivered


@functools.cache
def http_client() -> httpx.Client:
    """The process's one HTTP client: its pool is reused by every stage, on any thread."""
    return httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=True)


def retry_after(response: httpx.Response, default: float) -> float:
    """The pause a 429 or 503 asks for, in seconds or as an HTTP date; capped."""
    value = response.headers.get("retry-after", "")
    seconds = default
    if value.strip().isdigit():
        seconds = float(value)
    elif value:
        when = email.utils.parsedate_to_datetime(value)
        seconds = when.timestamp() - time.time() if when else default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass(repr=False)
class HttpSource(Opened):
    url: str
    expected: str | None

    def blocks(self, offset: int) -> Generator[bytes, None, None]:
        cut_off = (httpx.TransportError, httpx.DecodingError)
        return resuming(self.url, self._body, offset, cut_off)

    def _body(self, offset: int) -> Iterator[bytes]:
        """One request's body from ``offset``, skipping what a server without ranges resends."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with self._response(headers) as response:
            if response.status_code == 416:  # nothing left after offset
                return
            self._version = response.headers.get("etag") or response.headers.get("last-modified")
            refused = changed(self.url, self.expected, self._version)
            if refused:
                raise refused
            # A body asked for again within this attempt must be of the same version.
            self.expected = self.expected or self._version
            skip = offset if response.status_code == 200 else 0
            self._size = whole_size(response.headers, offset - skip)
            # As the bytes arrive: what was delivered before a cut need not be asked again.
            for block in response.iter_raw():
                if skip:
                    taken = min(skip, len(block))
                    block, skip = block[taken:], skip - taken
                if block:
                    yield block

    def _response(self, headers: dict[str, str]) -> contextlib.closing[httpx.Response]:
        """The response of a GET that succeeded, asked again after 429 and 5xx."""
        pause = 1.0
        for attempt in range(HTTP_RETRIES + 1):
            try:
                request = http_client().build_request("GET", self.url, headers=headers)
                response = http_client().send(request, stream=True)
            except httpx.TransportError as error:
                raise SourceError(f"{shown(self.url)}: {type(error).__name__}") from None
            status = response.status_code
            if status < 400:
                return contextlib.closing(response)
            response.close()
            if status != 429 and status < 500:
                raise SourceRefusedError(f"{shown(self.url)}: HTTP {status}, which no retry mends")
            if attempt == HTTP_RETRIES:
                raise SourceError(f"{shown(self.url)}: HTTP {status} after {attempt + 1} tries")
            wait = retry_after(response, pause)
            log.info("%s: HTTP %d, asking again in %.1fs", shown(self.url), status, wait)
            time.sleep(wait)
            pause *= 2
        raise AssertionError("unreachable")


def whole_size(headers: Any, start: int) -> int | None:
    """The whole source's size: Content-Range's total, or Content-Length after ``start``."""
    total = str(headers.get("content-range", "")).rpartition("/")[2]
    if total.isdigit():
        return int(total)
    length = str(headers.get("content-length", ""))
    return start + int(length) if length.isdigit() else None


@functools.cache
def s3_client() -> S3Client:
    """The process's one S3 client, with AWS's standard credential chain and
    ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) for an S3-compatible store."""
    import boto3  # only loads from s3:// need it, and it takes a while to import

    return boto3.session.Session().client("s3")


@dataclass(repr=False)
class S3Source(Opened):
    url: str
    bucket: str
    key: str
    expected: str | None

    def blocks(self, offset: int) -> Generator[bytes, None, None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield from resuming(self.url, self._body, offset, (BotoCoreError,))
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code == "InvalidRange":  # nothing left after the offset
                return
            if code == "PreconditionFailed":  # IfMatch: the ETag is no longer ours
                raise SourceRefusedError(
                    f"{shown(self.url)} changed during the load (ETag {self.expected} no "
                    "longer matches): a load never mixes two versions of a file"
                ) from None
            if status != 429 and 400 <= status < 500:
                raise SourceRefusedError(f"{shown(self.url)}: {code or status}") from None
            raise SourceError(f"{shown(self.url)}: {code or status}") from None

    def _body(self, offset: int) -> Iterator[bytes]:
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        if offset:
            arguments["Range"] = f"bytes={offset}-"
        if self.expected:
            arguments["IfMatch"] = self.expected
        answer = s3_client().get_object(**arguments)
        self._version = str(answer.get("ETag") or "") or None
        self.expected = self.expected or self._version  # for a resume within this attempt
        headers = {"content-range": answer.get("ContentRange", ""),
                   "content-length": str(answer.get("ContentLength", ""))}  # fmt: skip
        self._size = whole_size(headers, offset)
        body = answer["Body"]
        try:
            yield from body.iter_chunks(BLOCK_SIZE)
        finally:
            body.close()
