"""Keys and readers for the tests of sealed payloads (PAYLOAD_ENCRYPTION_KEYS).

The keys here are for tests only. TEST_KEYS is fixed, so that a history recorded
from a run sealed with it (``PAYLOAD_ENCRYPTION_KEYS=$TEST_KEYS record-history``)
replays in tests/test_replay.py without a production key in the repository; the
others are new in every session.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowHistory

from {{ cookiecutter.package_name }}.temporal.client import new_client
from {{ cookiecutter.package_name }}.temporal.encryption import (
    ENCODING,
    KEY_ID,
    NONCE_BYTES,
    parse_keys,
    with_encryption,
)
from {{ cookiecutter.package_name }}.temporal.payloads import DATA_CONVERTER

from .module_under_test import FIELDS

# Thirty-two known bytes, for tests: never a key for data anyone keeps.
TEST_KEYS = "test-1:" + base64.b64encode(bytes(range(32))).decode()
OLD, NEW, OTHER = (base64.b64encode(os.urandom(32)).decode() for _ in range(3))


async def keyed(client: Client, keys: str) -> Client:
    """A client of the same server whose payloads are sealed with ``keys`` ("": none)."""
    converter = with_encryption(DATA_CONVERTER, parse_keys(keys) if keys else {})
    return await new_client(
        target_host=client.service_client.config.target_host,
        namespace=client.namespace,
        data_converter=converter,
    )


def damaged(sealed: Payload) -> dict[str, Payload]:
    """``sealed`` spoilt each way a disk, a proxy or a hand could, by what was done."""

    def holding(data: bytes) -> Payload:
        spoilt = Payload()
        spoilt.CopyFrom(sealed)
        spoilt.data = data
        return spoilt

    data = sealed.data
    spoilt = {
        # Under 8 bytes AES-GCM itself refuses the nonce, with a bare ValueError.
        "truncated to 5 bytes": holding(data[:5]),
        "truncated to 20 bytes": holding(data[:20]),  # a nonce, and part of the tag
        "cut short by a byte": holding(data[:-1]),
        "garbled": holding(data[:-1] + bytes([data[-1] ^ 1])),
        "not a payload": sealed_junk(sealed),
    }
    assert tuple(spoilt) == DAMAGES
    return spoilt


DAMAGES = (
    "truncated to 5 bytes",
    "truncated to 20 bytes",
    "cut short by a byte",
    "garbled",
    "not a payload",
)


def sealed_junk(like: Payload) -> Payload:
    """Bytes that are no Temporal payload, sealed as ``like`` is, under NEW: they
    authenticate (so the key is right) and then do not parse."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key_id = like.metadata[KEY_ID]
    assert key_id == b"new", "sealed_junk seals with NEW"
    nonce = os.urandom(NONCE_BYTES)
    data = nonce + AESGCM(base64.b64decode(NEW)).encrypt(nonce, b"\xff\xff\xff", key_id)
    return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=data)


def plaintext_needles(job: Any) -> set[str]:
    """What a job's plaintext would show: every field's name in quotes, and every text
    of five characters or more (a shorter needle could turn up in random ciphertext)."""
    return {json.dumps(name) for name in FIELDS.names} | {
        json.dumps(value)[1:-1]
        for data in job["records"]
        for value in data.values()
        if isinstance(value, str) and len(value) >= 5
    }


def shown_in(needle: str, held: list[Payload]) -> bool:
    """Whether ``needle`` can be read in any of the payloads' data."""
    return any(needle.encode() in payload.data for payload in held)


def history_shown(workflow_id: str, printed: str) -> WorkflowHistory:
    """A history as ``temporal workflow show --output json`` printed it."""
    return WorkflowHistory.from_json(workflow_id, json.loads(printed))


TASK_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED


async def last_task_failure(client: Client, workflow_id: str) -> Failure:
    """The failure of the workflow's latest failed workflow task, as the server holds it."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    failed = [e for e in history.events if e.event_type == TASK_FAILED]
    assert failed, f"workflow {workflow_id}: no workflow task failed"
    return failed[-1].workflow_task_failed_event_attributes.failure


async def failure_read(client: Client, failure: Failure) -> str:
    """A failure as a holder of ``client``'s keys reads it: each message, down its causes."""
    copy = Failure()
    copy.CopyFrom(failure)  # decoding opens the payloads in place
    error: BaseException | None = await client.data_converter.decode_failure(copy)
    messages = []
    while error is not None:
        messages.append(str(error))
        error = error.__cause__
    return " <- ".join(messages)


# The codec server's protocol, as the CLI and the Web UI speak it.
Reply = tuple[int, dict[str, str], Any]


def call(url: str, method: str = "POST", body: Any = None, **headers: str) -> Reply:
    """Status, headers and JSON body (None when empty) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, got, text = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, got, text = error.code, dict(error.headers), error.read()
    return status, got, json.loads(text) if text else None


def as_json(payloads: list[Payload]) -> dict[str, Any]:
    """Payloads as the CLI and the Web UI post them."""
    return json_format.MessageToDict(Payloads(payloads=payloads))


def from_json(body: dict[str, Any]) -> list[Payload]:
    return list(json_format.ParseDict(body, Payloads()).payloads)
