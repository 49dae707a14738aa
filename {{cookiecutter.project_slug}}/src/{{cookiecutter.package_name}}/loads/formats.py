"""A source's bytes as a record's rows: CSV or JSON Lines, either of them gzipped.

* CSV (RFC 4180 quoting): the header row names the declared fields; it must hold every
  field that is not optional, and nothing else. An empty cell is NULL for an optional
  field; a list or json field is JSON text in its cell.
* JSON Lines: each line is the record's ``...Dict``, as a job's ``records`` hold it.

Every row is checked as ``from_dict`` checks a record (loads/cells.py). A row that does
not fit is a :class:`Reject`, by its line number in the file (the header is line 1),
and the rest goes on. A :class:`Chunk` ends at a row's end, with the position there
(bytes of the decompressed file and lines), so a stage can commit it and resume from it.

The text is read a block at a time, not a line at a time: a block is cut at its last
line end outside quotes, decoded at once and split into lines at once, and the csv
module reads its rows; Python touches a line only where a row is refused. Measured on 2
cores, 200,000 rows of two text fields: 225,000 rows/s a line at a time, against
356,000 a block at a time.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..fields import FieldError, Fields
from ..temporal.retry import PermanentError
from . import text_copy
from .cells import Converter, HeaderMismatchError, csv_converters, json_converters

EXCERPT = 200
NUL = "holds a NUL character, which PostgreSQL cannot store"


class HeaderError(PermanentError):
    """The CSV's header does not name the record's fields: the file is not this record's."""


@dataclass(frozen=True)
class Position:
    """How far into the source: bytes of its decompressed text, and whole lines."""

    bytes: int = 0
    lines: int = 0


@dataclass(frozen=True)
class Reject:
    line: int
    field: str | None
    error: str
    excerpt: str


@dataclass
class Chunk:
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    """Each row's line number and its values, in the declared fields' order."""
    rejects: list[Reject] = field(default_factory=list)
    start: Position = Position()
    """Where the chunk begins: the position its commit moves the load on from."""
    end: Position = Position()
    header: list[str] | None = None
    """A CSV's header, when this chunk began the file."""
    finished: bool = False
    """True when the source has no more rows."""
    first_line: int = 1
    text: bytes | None = None
    """A CSV chunk's text, not yet read in Python: PostgreSQL may parse it whole
    (loads/text_copy.py); :meth:`RowReader.parse` reads it if not."""


class _BlockStream(io.RawIOBase):
    """Blocks of bytes as a file, so that io and gzip read them in C."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._left = block
        taken = self._left[: len(buffer)]
        buffer[: len(taken)] = taken
        self._left = self._left[len(taken) :]
        return len(taken)


class RowReader:
    """The rows of a source's text from a position, a chunk at a time."""

    def __init__(
        self,
        blocks: Iterator[bytes],
        fmt: str,
        fields: Fields,
        start: Position,
        header: list[str] | None,
    ) -> None:
        self.fields = fields
        self.format = fmt.removesuffix(".gz")
        stream: io.BufferedIOBase | gzip.GzipFile = io.BufferedReader(_BlockStream(blocks))
        # A gzip stream cannot start mid-way: the first chunk reads up to the position.
        self._skip = 0
        if fmt.endswith(".gz"):
            stream = gzip.GzipFile(fileobj=stream)
            self._skip = start.bytes
        self._stream = stream
        self._pending = bytearray()
        self._ended = False
        self.position = start
        self.header = header
        self.converters: list[Converter] = []
        self.width = 0  # a CSV row's cells: the header's columns
        if self.format != "csv":
            self.converters = json_converters(fields)
        elif header is not None:
            self._use_header(header)

    def _use_header(self, header: list[str]) -> None:
        try:
            self.converters = csv_converters(self.fields, header)
        except HeaderMismatchError as error:
            raise HeaderError(str(error)) from None
        self.header, self.width = header, len(header)

    def chunk(self, max_bytes: int, max_seconds: float) -> Chunk:
        """The next rows: about ``max_bytes`` of text, or what came in ``max_seconds``."""
        if self._skip:
            _skip(self._stream, self._skip)
            self._skip = 0
        body = self._next_body(max_bytes, time.monotonic() + max_seconds)
        chunk = Chunk(finished=self._ended and not self._pending, start=self.position)
        chunk.first_line = self.position.lines + 1
        if self.header is not None and self.position.bytes and text_copy.copyable(body):
            chunk.text = body  # a CSV's rows after its header: PostgreSQL may read them
            lines = text_copy.line_count(body)
        else:
            lines = self._read(body, chunk)
        self.position = Position(self.position.bytes + len(body), self.position.lines + lines)
        chunk.end = self.position
        return chunk

    def parse(self, chunk: Chunk) -> None:
        """Read a chunk's text in Python, row by row, as PostgreSQL would not take it whole."""
        if chunk.text is not None:
            self._read(chunk.text, chunk)
            chunk.text = None

    def _read(self, body: bytes, chunk: Chunk) -> int:
        """Read ``body``'s rows and rejects into ``chunk``; return its lines."""
        text, undecodable = _decoded(body, at_start=chunk.first_line == 1)
        lines = _lines(text)
        if self.format == "csv":
            self._read_csv(lines, undecodable, chunk)
        else:
            self._read_json(lines, undecodable, chunk)
        return len(lines)

    def _next_body(self, max_bytes: int, deadline: float) -> bytes:
        """Bytes up to the last whole row in what was read: all of it at the end."""
        while True:
            pending = self._pending
            while not self._ended and len(pending) < max_bytes:
                if pending and time.monotonic() > deadline:
                    break
                piece = self._stream.read1(max_bytes)
                if not piece:
                    self._ended = True
                pending += piece
            if self.format == "csv" and self.header is None:
                # The header row alone: Python reads it, and the rows after it go to
                # PostgreSQL whole from the next chunk on (loads/text_copy.py), instead of
                # a first chunk's worth of rows read in Python.
                cut = self._first_row_end(pending) or (len(pending) if self._ended else 0)
            else:
                cut = len(pending) if self._ended else self._row_end(pending)
            if cut or self._ended:
                body = bytes(pending[:cut])
                del pending[:cut]
                return body
            max_bytes *= 2  # a row longer than a chunk: read on

    def _first_row_end(self, data: bytearray) -> int:
        """Where the first whole row in ``data`` ends, or 0 before its line end comes."""
        end = data.find(b"\n")
        while end >= 0 and data.count(b'"', 0, end) % 2:
            end = data.find(b"\n", end + 1)
        return end + 1

    def _row_end(self, data: bytearray) -> int:
        """Where the last whole row in ``data`` ends: after a line end outside quotes."""
        end = data.rfind(b"\n")
        if self.format != "csv":
            return end + 1
        # The chunk begins at a row's start, so a line end is outside quotes when an even
        # number of quotes comes before it ("" inside a quoted cell counts twice).
        quotes = data.count(b'"', 0, end) if end >= 0 else 0
        while end >= 0 and quotes % 2:
            previous = data.rfind(b"\n", 0, end)
            quotes -= data.count(b'"', previous + 1, end)
            end = previous
        return end + 1

    def _read_csv(self, lines: list[str], undecodable: set[int], chunk: Chunk) -> None:
        reader = csv.reader(lines, strict=True)
        first_line = chunk.first_line
        suspect = bool(undecodable) or any("\x00" in line for line in lines)
        done = 0  # lines the reader has taken
        while True:
            start = done
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                done = reader.line_num
                refusal = _RowError(f"not CSV: {error}")
                chunk.rejects.append(_reject(lines, start, done, first_line, refusal))
                continue
            done = reader.line_num
            if not cells:
                continue  # a blank line
            if self.header is None:
                self._use_header([column.strip() for column in cells])
                chunk.header = self.header
                continue
            try:
                if suspect:
                    _check_text(lines, start, done, undecodable)
                if len(cells) != self.width:
                    raise _RowError(f"has {len(cells)} cells, the header names {self.width}")
                values = [convert(cells) for convert in self.converters]
            except (FieldError, _RowError) as error:
                chunk.rejects.append(_reject(lines, start, done, first_line, error))
                continue
            chunk.rows.append((first_line + start, values))

    def _read_json(self, lines: list[str], undecodable: set[int], chunk: Chunk) -> None:
        first_line = chunk.first_line
        names = set(self.fields.names)
        for index, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                _check_text(lines, index, index + 1, undecodable)
                if "\\u0000" in line:
                    raise _RowError(NUL)
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as error:
                    raise _RowError(f"not JSON: {error.msg} at column {error.colno}") from None
                if not isinstance(data, dict):
                    raise _RowError("must be a JSON object, one record")
                unknown = data.keys() - names
                if unknown:
                    raise _RowError(f"has unknown field {sorted(unknown)[0]!r}")
                values = [convert(data) for convert in self.converters]
            except (FieldError, _RowError) as error:
                chunk.rejects.append(_reject(lines, index, index + 1, first_line, error))
                continue
            chunk.rows.append((first_line + index, values))


class _RowError(ValueError):
    """A row that is not a record at all: no field to name."""


def _decoded(body: bytes, *, at_start: bool) -> tuple[str, set[int]]:
    """The body as text, and the indexes of its lines that are not UTF-8 (decoded with
    replacement characters, to be refused)."""
    if at_start and body.startswith(b"\xef\xbb\xbf"):  # a byte order mark: not data
        body = body[3:]
    try:
        return body.decode("utf-8"), set()
    except UnicodeDecodeError:
        pass
    raw_lines = body.split(b"\n")
    undecodable = set()
    for index, raw in enumerate(raw_lines):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            undecodable.add(index)
    return body.decode("utf-8", "replace"), undecodable


def _lines(text: str) -> list[str]:
    """The text's lines, each with its line end: what the csv module reads."""
    lines = text.split("\n")
    last = lines.pop()
    lines = [line + "\n" for line in lines]
    if last:  # the file's last line, without a line end
        lines.append(last)
    return lines


def _check_text(lines: Sequence[str], start: int, stop: int, undecodable: set[int]) -> None:
    if undecodable and any(index in undecodable for index in range(start, stop)):
        raise _RowError("is not UTF-8 text")
    if any("\x00" in line for line in lines[start:stop]):
        raise _RowError(NUL)


def _reject(
    lines: Sequence[str], start: int, stop: int, first_line: int, error: FieldError | _RowError
) -> Reject:
    """The reject of the row on ``lines[start:stop]``: its field, if the error names one."""
    name = error.field if isinstance(error, FieldError) else None
    problem = str(error).removeprefix(f"{name}: ") if name else str(error)
    # A NUL is shown as its escape: PostgreSQL's text cannot hold the character.
    excerpt = "".join(lines[start:stop]).rstrip("\r\n")[:EXCERPT].replace("\x00", "\\x00")
    return Reject(first_line + start, name, problem, excerpt)


def _skip(stream: io.BufferedIOBase | gzip.GzipFile, count: int) -> None:
    while count:
        skipped = len(stream.read(min(count, 1 << 20)))
        if not skipped:
            return
        count -= skipped
