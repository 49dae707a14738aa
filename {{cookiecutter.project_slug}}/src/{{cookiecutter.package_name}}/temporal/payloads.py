"""The service's data converter: no payload over 200 KiB leaves, none of the wrong shape enters.

Rule 4: Temporal only warns at 512 KiB and refuses at 2 MiB, and the SDK only
warns. Every client of this service, and so every worker built on one, converts
values with :data:`DATA_CONVERTER`, which refuses a larger payload before it is
sent, with a non-retryable error that says what to do instead.

On the way in, every typed argument is checked against its type hint by
:func:`.shapes.conform`, so a malformed payload fails its workflow or activity at
once instead of its workflow task.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultPayloadConverter
from temporalio.exceptions import ApplicationError

from . import telemetry
from .encryption import (
    KEYS_VARIABLE,
    EncryptionKeyError,
    keys_from_environment,
    required_from_environment,
    sealing_key_of,
    with_encryption,
)
from .failures import BoundedFailureConverter
from .shapes import conform

# The guide's limit. Big data belongs in PostgreSQL; payloads carry its keys.
MAX_PAYLOAD_BYTES = 200 * 1024

PAYLOAD_TOO_LARGE = "PayloadTooLarge"
# Protocol buffer messages (the SDK's own, such as the Web UI's metadata query) keep
# the SDK's conversion; every other value is plain JSON and checked by conform().
PROTOBUF_ENCODINGS = (b"json/protobuf", b"binary/protobuf")


class PayloadTooLargeError(ApplicationError):
    """A value whose payload is over MAX_PAYLOAD_BYTES. Non-retryable: a retry is as big."""

    def __init__(self, size: int, limit: int = MAX_PAYLOAD_BYTES) -> None:
        super().__init__(
            f"payload of {size:,} bytes is over the {limit:,}-byte limit: store the data in "
            "PostgreSQL and pass its key instead",
            type=PAYLOAD_TOO_LARGE,
            non_retryable=True,
        )
        self.size = size
        self.limit = limit


def check_payload_size(payload: Payload, limit: int = MAX_PAYLOAD_BYTES) -> None:
    size = payload.ByteSize()
    if size > limit:
        telemetry.count_refused_payload()
        raise PayloadTooLargeError(size, limit)


class CheckedPayloadConverter(DefaultPayloadConverter):
    """The default JSON converter, refusing payloads too big or of the wrong shape."""

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        payloads = super().to_payloads(values)
        for payload in payloads:
            check_payload_size(payload)
        return payloads

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        refuse_sealed(payloads)
        if not type_hints or len(type_hints) != len(payloads):
            # Untyped, or the wrong number of arguments: the InputChecks interceptor
            # refuses the latter with a message that counts them.
            return super().from_payloads(payloads, type_hints)
        values: list[Any] = []
        for payload, hint in zip(payloads, type_hints, strict=True):
            if payload.metadata.get("encoding") in PROTOBUF_ENCODINGS:
                values += super().from_payloads([payload], [hint])
            else:
                [plain] = super().from_payloads([payload], None)  # plain JSON values
                # JSON must escape a NUL; without one, no text needs walking for it.
                nul = NUL_IN_JSON in payload.data
                values.append(conform(plain, hint, may_hold_nul=nul))
        return values


NUL_IN_JSON = b"\\u0000"


def refuse_sealed(payloads: Sequence[Payload]) -> None:
    """A payload still sealed here reached a process without keys (a codec opens them
    before the converter sees them): say which key it needs, not "unknown encoding".

    Not a FailureError, so in workflow code it fails the task, which retries until a
    worker with the key takes it, rather than the workflow."""
    for payload in payloads:
        key_id = sealing_key_of(payload)
        if key_id is not None:
            raise EncryptionKeyError(
                f"a payload is sealed with key {key_id!r}, and {KEYS_VARIABLE} is not set here"
            )


DATA_CONVERTER = dataclasses.replace(
    DataConverter.default,
    payload_converter_class=CheckedPayloadConverter,
    failure_converter_class=BoundedFailureConverter,
)


def data_converter() -> DataConverter:
    """DATA_CONVERTER, sealing every payload and failure when PAYLOAD_ENCRYPTION_KEYS is
    set, and refusing plaintext when PAYLOAD_ENCRYPTION_REQUIRED is too.

    The 200 KiB limit is checked before sealing, on the payload as the converter wrote
    it: what a workflow author controls. Sealing adds under 100 bytes (nonce, tag, the
    key's id and the inner payload's encoding; tests/test_encryption.py pins it), far
    from Temporal's own limits.
    """
    keys = keys_from_environment()  # refuses PAYLOAD_ENCRYPTION_REQUIRED without keys
    return with_encryption(DATA_CONVERTER, keys, required=required_from_environment())
