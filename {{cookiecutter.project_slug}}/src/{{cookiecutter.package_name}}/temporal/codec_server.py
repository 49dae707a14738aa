"""``codec-server``: Temporal's codec-server protocol, so the CLI and the Web UI show plaintext.

With ``PAYLOAD_ENCRYPTION_KEYS`` set, the Temporal server holds ciphertext only.
The ``temporal`` CLI (``--codec-endpoint``) and the Web UI (its codec endpoint
setting) post sealed payloads to ``/decode`` and show what comes back; they post
plaintext to ``/encode`` when a person starts or signals a workflow from them. Each
route is also served under a namespace, ``/{namespace}/decode``, as the CLI's
endpoint templating asks for it.

Whoever reaches this server reads every payload, so it is fenced three ways:

* it binds loopback (``127.0.0.1``) unless ``--address`` says otherwise;
* browsers may call it only from the origins in ``CODEC_CORS_ORIGINS``
  (comma-separated, such as ``https://temporal-ui.example.com``);
* with ``CODEC_AUTH_TOKEN`` set, every request must carry
  ``Authorization: Bearer <token>`` (``temporal --codec-auth "Bearer <token>"``).

It logs what it did and for which namespace, never a payload, a key or the token.
The standard library's threaded HTTP server is enough: one request is a few
milliseconds of AES, and no web framework is needed for two routes.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from .. import config
from .encryption import (
    KEYS_VARIABLE,
    EncryptionCodec,
    EncryptionKeyError,
    keys_from_environment,
)

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = config.DEFAULT_CODEC_ADDRESS
ORIGINS_VARIABLE = "CODEC_CORS_ORIGINS"
TOKEN_VARIABLE = "CODEC_AUTH_TOKEN"
# A history page asks for all its payloads at once: up to 2 MiB each on Temporal's
# side, so a few of the largest fit; a bigger body is refused before it is read.
MAX_BODY_BYTES = 16 * 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# What the Web UI sends: JSON, the namespace, and a token when it passes one.
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


class CodecSettingsError(ValueError):
    """A codec-server setting the service cannot use; the message names the variable."""


def parse_origins(text: str) -> frozenset[str]:
    """``CODEC_CORS_ORIGINS``: each ``scheme://host[:port]``, as a browser sends ``Origin``."""
    origins = set()
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        parts = urlsplit(entry)
        if entry == "*" or parts.scheme not in ("http", "https") or not parts.netloc:
            raise CodecSettingsError(
                f"{ORIGINS_VARIABLE}: {entry!r} is not an origin such as "
                "https://temporal-ui.example.com (list each one; '*' would let any page decode)"
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise CodecSettingsError(
                f"{ORIGINS_VARIABLE}: {entry!r} has a path; an origin is scheme://host[:port]"
            )
        origins.add(f"{parts.scheme}://{parts.netloc}")
    return frozenset(origins)


@dataclass(frozen=True)
class CodecSettings:
    """What the codec server decodes with, and whom it answers."""

    codec: EncryptionCodec
    origins: frozenset[str] = frozenset()
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_environment(
        cls, *, extra_origins: Sequence[str] = (), token: bool = True
    ) -> CodecSettings:
        """The keys, origins and token the environment names; ``token=False`` ignores the
        token (``dev``'s loopback server, which its embedded Web UI calls without one)."""
        keys = keys_from_environment()
        if not keys:
            raise CodecSettingsError(
                f"the codec server needs {KEYS_VARIABLE}: without keys nothing is sealed"
            )
        origins = parse_origins(os.environ.get(ORIGINS_VARIABLE, ""))
        secret = (os.environ.get(TOKEN_VARIABLE) or None) if token else None
        return cls(EncryptionCodec(keys), origins | set(extra_origins), secret)


class CodecHandler(BaseHTTPRequestHandler):
    """``POST [/{namespace}]/encode`` and ``/decode``, and the browser's CORS preflight."""

    server: CodecHTTPServer
    protocol_version = "HTTP/1.1"

    def do_OPTIONS(self) -> None:  # the standard library's naming
        if self.allowed_origin() is None:
            self.reply(403, {"error": "this origin may not call the codec server"})
            return
        self.reply(204, None)

    def do_POST(self) -> None:
        route, namespace = self.route()
        if route is None:
            self.reply(404, {"error": "try POST /encode or /decode"})
            return
        if not self.authorised():
            self.reply(401, {"error": f"a valid bearer token is required ({TOKEN_VARIABLE})"})
            return
        length = body_length(self.headers.get("Content-Length"))
        if length is None:
            self.reply(400, {"error": "Content-Length must be a number of bytes"})
            return
        if length > MAX_BODY_BYTES:
            self.reply(413, {"error": f"the body is over {MAX_BODY_BYTES:,} bytes"})
            return
        try:
            request = json_format.Parse(self.rfile.read(length), Payloads())
        except (json_format.ParseError, UnicodeDecodeError):
            self.reply(400, {"error": 'the body must be {"payloads": [...]} as Temporal sends it'})
            return
        codec = self.server.settings.codec
        try:
            if route == "encode":
                done = codec.seal(request.payloads)
            else:
                done = codec.open(request.payloads)
        # open() raises only this, for a key it lacks and for ciphertext cut, altered or
        # not a payload: each a 400 naming the key's id, never the key or a payload.
        except EncryptionKeyError as error:
            log.warning("%s for namespace %s refused: %s", route, namespace, error)
            self.reply(400, {"error": str(error)})
            return
        log.info("%s: %d payloads for namespace %s", route, len(done), namespace)
        self.reply(200, json_format.MessageToDict(Payloads(payloads=done)))

    def do_GET(self) -> None:
        self.reply(405, {"error": "the codec server takes POST /encode and /decode"})

    def route(self) -> tuple[str | None, str]:
        """(``"encode"`` or ``"decode"``, the namespace), or (None, ...) for another path."""
        segments = [part for part in urlsplit(self.path).path.split("/") if part]
        namespace = self.headers.get("X-Namespace") or "-"
        if len(segments) == 2:
            namespace = segments[0]
        if 1 <= len(segments) <= 2 and segments[-1] in ("encode", "decode"):
            return segments[-1], namespace
        return None, namespace

    def authorised(self) -> bool:
        token = self.server.settings.token
        if token is None:
            return True
        sent = self.headers.get("Authorization") or ""
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())

    def allowed_origin(self) -> str | None:
        origin = self.headers.get("Origin")
        return origin if origin in self.server.settings.origins else None

    def reply(self, status: int, body: object) -> None:
        text = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        origin = self.allowed_origin()
        if origin is not None:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Vary", "Origin")
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format: str, *args: object) -> None:
        # The standard library's access log goes to stderr; ours goes through logging,
        # at DEBUG, and do_POST logs each request's outcome at INFO.
        log.debug("%s %s", self.address_string(), format % args)


def body_length(header: str | None) -> int | None:
    """The ``Content-Length`` header's bytes (0 when absent), or None when it is no count."""
    text = (header or "0").strip()
    return int(text) if text.isascii() and text.isdigit() else None


class CodecHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], settings: CodecSettings) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, CodecHandler)
        self.settings = settings

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}"

    def stop(self) -> None:
        self.shutdown()  # waits for serve_forever() to return
        self.server_close()


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6); a bare ``:port`` still means loopback."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit():
        raise CodecSettingsError(f"--address {address!r} must be host:port, such as 127.0.0.1:8081")
    return host.strip("[]") or "127.0.0.1", int(port)


def warn_if_exposed(host: str, settings: CodecSettings) -> None:
    if host not in LOOPBACK_HOSTS and settings.token is None:
        log.warning(
            "the codec server listens on %s without %s: anyone who reaches it reads every "
            "payload. Set a token, or keep it on loopback behind your own proxy",
            host,
            TOKEN_VARIABLE,
        )


def start(address: str, settings: CodecSettings) -> CodecHTTPServer:
    """Serve the codec at ``address`` in a thread (port 0: any free one) until stop()."""
    host, port = split_address(address)
    warn_if_exposed(host, settings)
    try:
        server = CodecHTTPServer((host, port), settings)
    except OSError as error:
        raise CodecSettingsError(f"the codec server cannot listen at {address}: {error}") from None
    threading.Thread(target=server.serve_forever, name="codec-server", daemon=True).start()
    return server


@contextmanager
def serving(address: str, settings: CodecSettings) -> Iterator[CodecHTTPServer]:
    """The codec served at ``address`` for the block."""
    server = start(address, settings)
    try:
        yield server
    finally:
        server.stop()
