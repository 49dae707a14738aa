"""PAYLOAD_ENCRYPTION_KEYS: the server holds ciphertext only, keys rotate, a lacking key is named.

Each test builds clients with keys of its own (the session's client has none), and
reads the server's histories raw: fetching a history decodes nothing, so what the
test sees is what the server stores.
"""

from __future__ import annotations

import base64
import os
import uuid
from typing import cast

import pytest
from temporalio.client import Client

from {{ cookiecutter.package_name }}.temporal.encryption import (
    ENCODING,
    KEY_ID,
    KEYS_VARIABLE,
    EncryptionKeyError,
    parse_keys,
)
from {{ cookiecutter.package_name }}.temporal.histories import stored_payloads
from {{ cookiecutter.package_name }}.temporal.payloads import (
    DATA_CONVERTER,
    MAX_PAYLOAD_BYTES,
    PayloadTooLargeError,
)

from .helpers import (
    StubUpserts,
    example_input,
    handle_histories,
    job_over,
    result_within,
    run_cli,
    serving,
    serving_stubs,
    stored,
)
from .module_under_test import Job, Record, Workflow
from .sealing import NEW, OLD, OTHER, keyed, plaintext_needles, shown_in


def test_keys_are_read_in_order_and_a_bad_one_is_refused_without_showing_it() -> None:
    assert list(parse_keys(f"new:{NEW},old:{OLD}")) == ["new", "old"]
    short = base64.b64encode(b"k" * 31).decode()
    for text, says in [
        (f"new:{short}", "entry 1 (id 'new'): the key is 31 bytes, not 32"),
        ("new:not base64!", "entry 1 (id 'new'): the key is not base64"),
        (f"a:{NEW}, a:{OLD}", "entry 2: id 'a' is listed twice"),
        (f"{NEW}", "entry 1 must be id:base64key"),
        (f"a:{NEW},", "entry 2 must be id:base64key"),
    ]:
        with pytest.raises(EncryptionKeyError) as refused:
            parse_keys(text)
        assert str(refused.value) == f"{KEYS_VARIABLE}: {says}"
        for key in (NEW, OLD, short):
            assert key not in str(refused.value)


def test_a_bad_key_stops_the_service_before_it_starts() -> None:
    env = {**os.environ, KEYS_VARIABLE: f"new:{base64.b64encode(b'k' * 16).decode()}"}
    ran = run_cli("init-db", env=env)
    assert ran.returncode == 2
    assert f"error: {KEYS_VARIABLE}: entry 1 (id 'new'): the key is 16 bytes, not 32" in ran.stderr


async def test_with_keys_the_server_stores_only_ciphertext(
    client: Client, database_url: str, task_queue: str
) -> None:
    sealed = await keyed(client, f"new:{NEW}")
    job = example_input()
    async with serving(sealed, database_url, task_queue):
        handle = await sealed.start_workflow(
            Workflow.run, job, id=f"sealed-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await result_within(handle) == {"upserted": len(job["records"])}
    # The activities saw the plaintext: the rows are the example's.
    sent = [Record.from_dict(data).to_dict() for data in job["records"]]
    assert [{k: v for k, v in row.items() if k != "id"} for row in stored(database_url)] == sent
    # The server did not: every payload it holds is sealed with the key named "new".
    held = stored_payloads(await handle_histories(client, handle))
    assert len(held) >= 3  # the input, the activity's batch and result, the workflow's result
    assert {(p.metadata["encoding"], p.metadata[KEY_ID]) for p in held} == {(ENCODING, b"new")}
    for needle in plaintext_needles(job):
        assert not shown_in(needle, held), f"{needle!r} is readable on the server"


async def test_after_rotation_a_run_sealed_with_the_old_key_completes(
    client: Client, task_queue: str
) -> None:
    before = await keyed(client, f"old:{OLD}")
    after = await keyed(client, f"new:{NEW},old:{OLD}")
    job = example_input()
    # Started while the old key sealed, run by workers that seal with the new one.
    handle = await before.start_workflow(
        Workflow.run, job, id=f"rotated-{uuid.uuid4()}", task_queue=task_queue
    )
    async with serving_stubs(after, task_queue, StubUpserts()):
        result = await result_within(after.get_workflow_handle(handle.id))
    assert result == {"upserted": len(job["records"])}
    held = stored_payloads(await handle_histories(client, handle))
    assert held[0].metadata[KEY_ID] == b"old"  # the input
    assert held[-1].metadata[KEY_ID] == b"new"  # the result


async def test_a_worker_without_the_key_fails_the_task_naming_the_key(
    client: Client, task_queue: str
) -> None:
    sender = await keyed(client, f"k1:{OLD}")
    stranger = await keyed(client, f"k2:{OTHER}")
    handle = await sender.start_workflow(
        Workflow.run, example_input(), id=f"no-key-{uuid.uuid4()}", task_queue=task_queue
    )
    async with serving_stubs(stranger, task_queue, StubUpserts()):
        with pytest.raises(AssertionError) as failed:
            await result_within(stranger.get_workflow_handle(handle.id), timeout=30)
    assert "a workflow task failed" in str(failed.value)
    assert "sealed with key 'k1'" in str(failed.value)
    assert OLD not in str(failed.value) and OTHER not in str(failed.value)


async def test_the_200_kib_limit_holds_with_encryption_on(client: Client) -> None:
    sealed = await keyed(client, f"new:{NEW}")
    too_big: Job = cast(Job, job_over(MAX_PAYLOAD_BYTES))
    with pytest.raises(PayloadTooLargeError) as refused:
        await sealed.start_workflow(
            Workflow.run, too_big, id=f"big-{uuid.uuid4()}", task_queue="none"
        )
    assert refused.value.limit == MAX_PAYLOAD_BYTES
    # Checked before sealing, which adds a few dozen bytes of its own.
    [plain] = DATA_CONVERTER.payload_converter.to_payloads([example_input()])
    [sealed_payload] = await sealed.data_converter.encode([example_input()])
    assert 0 < sealed_payload.ByteSize() - plain.ByteSize() < 100
