"""A source's bytes as a record's rows: CSV or JSON Lines, either of them gzipped.

* CSV (RFC 4180 quoting): the header row names the declared fields; it must hold every
  field that is not optional, and nothing else. An empty cell is NULL for an optional
  field; a list or json field is JSON text in its cell.
* JSON Lines: each line is the record's ``...Dict``, as a job's ``records`` hold it.

Every row is checked as ``from_dict`` checks a record (loads/cells.py). A row that does
not fit is a :class:`Reject`, by its line number in the file (the header is line 1),
and the rest goes on. A :class:`Chunk` ends at a row's end, with the position there
(bytes of the decompressed file and lines), so a stage can commit it and resume from it.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..fields import FieldError, Fields
from ..temporal.retry import PermanentError
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
    end: Position = Position()
    finished: bool = False
    """True when the source has no more rows."""


class _BlockStream(io.RawIOBase):
    """Blocks of bytes as a file, so that io and gzip read lines from them in C."""

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


class _Lines:
    """Decoded lines of the text, counting the bytes and lines handed out."""

    def __init__(self, text: io.BufferedIOBase | gzip.GzipFile, start: Position) -> None:
        self._text = text
        self.bytes, self.number = start.bytes, start.lines
        self.taken: list[str] = []  # the lines of the row being read, for a reject's excerpt
        self.undecodable = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self._text.readline()
        if not raw:
            raise StopIteration
        if self.bytes == 0 and raw.startswith(codecs.BOM_UTF8):
            line = raw[len(codecs.BOM_UTF8) :].decode("utf-8", "replace")
        else:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.undecodable = True
                line = raw.decode("utf-8", "replace")
        self.bytes += len(raw)
        self.number += 1
        self.taken.append(line)
        return line

    def excerpt(self) -> str:
        # A NUL is shown as its escape: PostgreSQL's text cannot hold the character.
        return "".join(self.taken).rstrip("\r\n")[:EXCERPT].replace("\x00", "\\x00")


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
        if fmt.endswith(".gz"):
            stream = gzip.GzipFile(fileobj=stream)
            _skip(stream, start.bytes)  # a gzip stream cannot start mid-way: read up to it
        self.lines = _Lines(stream, start)
        self.header = header
        self.converters: list[Converter] = []
        self.width = 0  # a CSV row's cells: the header's columns
        self._csv = csv.reader(self.lines, strict=True)
        if self.format == "csv":
            if header is not None:
                self._use_header(header)
        else:
            self.converters = json_converters(fields)

    def read_header(self) -> list[str] | None:
        """A CSV's header, at the start of the file: its columns, checked against the fields."""
        if self.format != "csv" or self.header is not None:
            return None
        try:
            header = next(self._csv)
        except StopIteration:
            raise HeaderError("the file is empty: a CSV starts with a header row") from None
        self._use_header([column.strip() for column in header])
        return self.header

    def _use_header(self, header: list[str]) -> None:
        try:
            self.converters = csv_converters(self.fields, header)
        except HeaderMismatchError as error:
            raise HeaderError(str(error)) from None
        self.header, self.width = header, len(header)

    def chunk(self, max_rows: int, max_seconds: float) -> Chunk:
        """The next rows, up to ``max_rows`` or for about ``max_seconds``, then the position."""
        chunk = Chunk()
        deadline = time.monotonic() + max_seconds
        read = self._read_csv if self.format == "csv" else self._read_json
        while len(chunk.rows) < max_rows:
            if len(chunk.rows) % 256 == 0 and chunk.rows and time.monotonic() > deadline:
                break
            self.lines.taken.clear()
            self.lines.undecodable = False
            first_line = self.lines.number + 1
            try:
                values = read()
            except StopIteration:
                chunk.finished = True
                break
            except (FieldError, _RowError) as error:
                name = error.field if isinstance(error, FieldError) else None
                problem = str(error).removeprefix(f"{name}: ") if name else str(error)
                chunk.rejects.append(Reject(first_line, name, problem, self.lines.excerpt()))
                continue
            if values is not None:
                chunk.rows.append((first_line, values))
        chunk.end = Position(self.lines.bytes, self.lines.number)
        return chunk

    def _read_csv(self) -> list[Any] | None:
        try:
            cells = next(self._csv)
        except csv.Error as error:
            raise _RowError(f"not CSV: {error}") from None
        self._check_text()
        if not cells:
            return None  # a blank line
        if len(cells) != self.width:
            raise _RowError(f"has {len(cells)} cells, the header names {self.width}")
        return [convert(cells) for convert in self.converters]

    def _read_json(self) -> list[Any] | None:
        line = next(self.lines)
        self._check_text()
        if not line.strip():
            return None
        if "\\u0000" in line:
            raise _RowError(NUL)
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise _RowError(f"not JSON: {error.msg} at column {error.colno}") from None
        if not isinstance(data, dict):
            raise _RowError("must be a JSON object, one record")
        unknown = data.keys() - set(self.fields.names)
        if unknown:
            raise _RowError(f"has unknown field {sorted(unknown)[0]!r}")
        return [convert(data) for convert in self.converters]

    def _check_text(self) -> None:
        if self.lines.undecodable:
            raise _RowError("is not UTF-8 text")
        if any("\x00" in line for line in self.lines.taken):
            raise _RowError(NUL)


class _RowError(ValueError):
    """A row that is not a record at all: no field to name."""


def _skip(stream: gzip.GzipFile, count: int) -> None:
    while count:
        skipped = len(stream.read(min(count, 1 << 20)))
        if not skipped:
            return
        count -= skipped
