"""Files of the module's records, as a team's export would hold them, and a real HTTP
server that serves one with the faults a network has."""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.loads.cells import csv_cell

from ..module_under_test import FIELDS, Record


def csv_text(
    numbers: Sequence[int],
    extra_lines: dict[int, str] | None = None,
    edit: Callable[[dict[str, Any]], dict[str, Any]] = dict,
) -> str:
    """A CSV of numbered records under a header of every field; ``extra_lines`` puts a
    line of its own before the row of each number given (or after the last, for -1);
    ``edit`` changes each record first."""
    extra_lines = extra_lines or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS.names)
    for number in numbers:
        if number in extra_lines:
            out.write(extra_lines[number] + "\n")
        record = edit(dict(Record.numbered(number).to_dict()))
        writer.writerow([csv_cell(record[name]) for name in FIELDS.names])
    if -1 in extra_lines:
        out.write(extra_lines[-1] + "\n")
    return out.getvalue()


def jsonl_text(numbers: Sequence[int]) -> str:
    return "".join(json.dumps(Record.numbered(n).to_dict()) + "\n" for n in numbers)


def write(path: Path, text: str | bytes) -> Path:
    """``text`` written to ``path``, gzipped when the name ends in .gz."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def expected_rows(numbers: Sequence[int]) -> list[dict[str, Any]]:
    """The table's rows after loading these numbered records, in payload form, by key."""
    return sorted((dict(Record.numbered(n).to_dict()) for n in numbers), key=_key)


def _key(row: dict[str, Any]) -> str:
    return json.dumps([row[name] for name in FIELDS.key], sort_keys=True, default=str)


def without_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({k: v for k, v in row.items() if k != "id"} for row in rows), key=_key)


@dataclass
class Faults:
    """What the served file does wrong; the test changes them while it runs."""

    ranges: bool = True
    """Answers a Range with 206; without, the whole body with 200."""
    unavailable: int = 0
    """This many requests get 503 with Retry-After: 1 before one gets the file."""
    cut_after: int | None = None
    """The first response's body stops after this many bytes, its connection closed."""
    chunk_delay: float = 0.0
    """Seconds between the body's 16 KB chunks."""
    missing: bool = False
    """Every request gets 404."""
    hold_at: int | None = None
    """A body stops at this byte of the file until ``released`` is set: the test paces."""
    released: threading.Event = field(default_factory=threading.Event)
    etags: list[str] = field(default_factory=lambda: ['"v1"'])
    """The ETag of each response in turn, the last one for the rest: a file that changes."""
    requests: list[str] = field(default_factory=list)
    """Each request's Range header, or '' without one."""


@contextmanager
def http_source(data: bytes, faults: Faults) -> Iterator[str]:
    """A real HTTP server on loopback serving ``data`` at /export.csv; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            faults.requests.append(self.headers.get("Range", ""))
            if faults.missing:
                self.send_error(404)
                return
            if faults.unavailable > 0:
                faults.unavailable -= 1
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = 0
            asked = self.headers.get("Range", "")
            if faults.ranges and asked.startswith("bytes="):
                start = int(asked.removeprefix("bytes=").split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            if faults.ranges:
                self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", faults.etags[min(len(faults.requests), len(faults.etags)) - 1])
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self._body(data[start:], start)

        def _body(self, body: bytes, start: int) -> None:
            cut = faults.cut_after if len(faults.requests) == 1 else None
            sent = 0
            for offset in range(0, len(body), 16 * 1024):
                piece = body[offset : offset + 16 * 1024]
                hold = faults.hold_at
                if hold is not None and start + offset <= hold < start + offset + len(piece):
                    self.wfile.write(piece[: hold - start - offset])
                    self.wfile.flush()
                    faults.released.wait(120)
                    piece = piece[hold - start - offset :]
                if cut is not None and sent + len(piece) > cut:
                    self.wfile.write(piece[: cut - sent])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(piece)
                sent += len(piece)
                if faults.chunk_delay:
                    time.sleep(faults.chunk_delay)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/export.csv"
    finally:
        faults.released.set()
        server.shutdown()
        server.server_close()
