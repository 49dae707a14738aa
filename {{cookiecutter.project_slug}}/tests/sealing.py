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
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory

from {{ cookiecutter.package_name }}.temporal.client import new_client
from {{ cookiecutter.package_name }}.temporal.encryption import parse_keys, with_encryption
from {{ cookiecutter.package_name }}.temporal.payloads import DATA_CONVERTER

from .module_under_test import FIELDS

# Thirty-two known bytes, for tests: never a key for data anyone keeps.
TEST_KEYS = "test-1:" + base64.b64encode(bytes(range(32))).decode()
OLD, NEW, OTHER = (base64.b64encode(os.urandom(32)).decode() for _ in range(3))


async def keyed(client: Client, keys: str) -> Client:
    """A client of the same server whose payloads are sealed with ``keys``."""
    converter = with_encryption(DATA_CONVERTER, parse_keys(keys))
    return await new_client(
        target_host=client.service_client.config.target_host,
        namespace=client.namespace,
        data_converter=converter,
    )


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
