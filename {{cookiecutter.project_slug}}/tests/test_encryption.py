"""PAYLOAD_ENCRYPTION_KEYS: the server holds ciphertext only, keys rotate, a lacking key is named.

Each test builds clients with keys of its own (the session's client has none), and
reads the server's histories raw: fetching a history decodes nothing, so what the
test sees is what the server stores. Failures travel sealed as payloads do; damaged
ciphertext, a worker without the key and plaintext under PAYLOAD_ENCRYPTION_REQUIRED
each fail with EncryptionKeyError naming the key's id, never the key.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import uuid
from collections.abc import Sequence
from typing import cast

import pytest
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from {{ cookiecutter.package_name }}.temporal import codec_server
from {{ cookiecutter.package_name }}.temporal.client import new_client
from {{ cookiecutter.package_name }}.temporal.codec_server import CodecSettings
from {{ cookiecutter.package_name }}.temporal.encryption import (
    ENCODING,
    KEY_ID,
    KEYS_VARIABLE,
    REQUIRED_VARIABLE,
    EncryptionCodec,
    EncryptionKeyError,
    parse_keys,
)
from {{ cookiecutter.package_name }}.temporal.failures import MESSAGE_CHARS
from {{ cookiecutter.package_name }}.temporal.histories import payload_sizes, stored_payloads
from {{ cookiecutter.package_name }}.temporal.payloads import (
    DATA_CONVERTER,
    MAX_PAYLOAD_BYTES,
    PayloadTooLargeError,
    data_converter,
)
from {{ cookiecutter.package_name }}.temporal.worker import create_workers, running

from .helpers import (
    StubUpserts,
    application_error,
    assert_eventually,
    events,
    example_input,
    handle_histories,
    job_over,
    result_within,
    run_cli,
    serving,
    serving_stubs,
    stored,
)
from .module_under_test import MODULE, NAME, Job, Record, Workflow
from .sealing import (
    DAMAGES,
    NEW,
    OLD,
    OTHER,
    as_json,
    call,
    damaged,
    failure_read,
    from_json,
    keyed,
    last_task_failure,
    plaintext_needles,
    shown_in,
)


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


@pytest.mark.parametrize("keys", ["", f"k2:{OTHER}"], ids=["no-keys", "another-key"])
async def test_a_worker_without_the_key_fails_the_task_naming_the_key(
    client: Client, task_queue: str, keys: str
) -> None:
    sender = await keyed(client, f"k1:{OLD}")
    stranger = await keyed(client, keys)
    handle = await sender.start_workflow(
        Workflow.run, example_input(), id=f"no-key-{uuid.uuid4()}", task_queue=task_queue
    )
    async with serving_stubs(stranger, task_queue, StubUpserts()):
        with pytest.raises(AssertionError, match="a workflow task failed"):
            await result_within(stranger.get_workflow_handle(handle.id), timeout=30)
    # With keys, the task's failure travels sealed too, with the worker's: its holders read it.
    said = await failure_read(stranger, await last_task_failure(client, handle.id))
    if keys:
        lacking = f"which {KEYS_VARIABLE} does not list here"
    else:  # no codec: the converter says it, inside "Failed decoding arguments"
        lacking = f"and {KEYS_VARIABLE} is not set here"
    assert f"EncryptionKeyError: a payload is sealed with key 'k1', {lacking}" in said
    assert OLD not in said and OTHER not in said


@pytest.mark.parametrize("keys", ["", f"k2:{OTHER}"], ids=["no-keys", "another-key"])
async def test_an_activity_worker_without_the_key_fails_naming_it_until_one_with_it_serves(
    client: Client, task_queue: str, keys: str, caplog: pytest.LogCaptureFixture
) -> None:
    sender = await keyed(client, f"k1:{OLD}")
    stranger = await keyed(client, keys)
    job, stub = example_input(), StubUpserts()
    workflows = create_workers(sender, None, [MODULE], task_queue=task_queue, role="workflows")
    handle = await sender.start_workflow(
        Workflow.run, job, id=f"keyless-activity-{uuid.uuid4()}", task_queue=task_queue
    )

    async def failed_attempts() -> list[PendingActivityInfo]:
        pending = (await handle.describe()).raw_description.pending_activities
        return [activity for activity in pending if activity.HasField("last_failure")]

    async def an_attempt_failed() -> bool:
        return bool(await failed_attempts())

    async with running(workflows):
        # Only the worker without the key serves the activity: each attempt fails.
        async with running([Worker(stranger, task_queue=task_queue, activities=[stub.upsert])]):
            await assert_eventually("an attempt failed on the worker without k1", an_attempt_failed)
        [failed, *_] = await failed_attempts()
        assert stub.records == []  # the activity never ran: its input could not be opened
        assert failed.last_failure.cause.application_failure_info.type == "EncryptionKeyError"
        said = await failure_read(stranger, failed.last_failure)
        named = "EncryptionKeyError: a payload is sealed with key 'k1'"
        assert f"Failed decoding arguments <- {named}" in said
        assert "sealed with key 'k1'" in caplog.text  # the worker's log says it too
        # The next attempt goes to a worker with the key, and the run completes.
        async with running([Worker(sender, task_queue=task_queue, activities=[stub.upsert])]):
            assert await result_within(handle) == {"upserted": len(job["records"])}
    for text in (said, caplog.text):
        assert OLD not in text and OTHER not in text


@pytest.mark.parametrize("how", DAMAGES)
def test_ciphertext_truncated_garbled_or_not_a_payload_is_refused_naming_the_key(how: str) -> None:
    codec = EncryptionCodec(parse_keys(f"new:{NEW}"))
    [sealed] = codec.seal([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])
    with pytest.raises(EncryptionKeyError) as refused:
        codec.open([damaged(sealed)[how]])
    assert "key 'new'" in str(refused.value) and NEW not in str(refused.value)


class Damaging(EncryptionCodec):
    """Seals as the service does, then spoils what it sealed: a disk or a proxy between."""

    def __init__(self, how: str) -> None:
        super().__init__(parse_keys(f"new:{NEW}"))
        self.how = how

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [damaged(sealed)[self.how] for sealed in self.seal(payloads)]


async def test_a_worker_given_damaged_ciphertext_fails_the_task_with_encryption_key_error(
    client: Client, task_queue: str
) -> None:
    worker_side = await keyed(client, f"new:{NEW}")
    for how in ("truncated to 5 bytes", "garbled", "not a payload"):
        spoiler = await new_client(
            target_host=client.service_client.config.target_host,
            namespace=client.namespace,
            data_converter=dataclasses.replace(DATA_CONVERTER, payload_codec=Damaging(how)),
        )
        handle = await spoiler.start_workflow(
            Workflow.run, example_input(), id=f"damaged-{uuid.uuid4()}", task_queue=task_queue
        )
        async with serving_stubs(worker_side, task_queue, StubUpserts()):
            with pytest.raises(AssertionError, match="a workflow task failed"):
                await result_within(worker_side.get_workflow_handle(handle.id), timeout=30)
        failure = await last_task_failure(client, handle.id)
        assert failure.application_failure_info.type == "EncryptionKeyError", how
        said = await failure_read(worker_side, failure)
        assert "key 'new'" in said and NEW not in said, how
        await handle.terminate()


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


def test_required_without_keys_refuses_to_build_a_converter_or_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEYS_VARIABLE, raising=False)
    for word in ("", "0", "no", "False", "OFF"):
        monkeypatch.setenv(REQUIRED_VARIABLE, word)
        assert data_converter() is DATA_CONVERTER  # not required: plaintext, as before
    says = f"{REQUIRED_VARIABLE} is set but {KEYS_VARIABLE} lists no key"
    for word in ("1", "true", "Yes", "on"):
        monkeypatch.setenv(REQUIRED_VARIABLE, word)
        with pytest.raises(EncryptionKeyError, match=says):
            data_converter()
    ran = run_cli("init-db", env=dict(os.environ))
    assert ran.returncode == 2
    assert f"error: {says}" in ran.stderr
    monkeypatch.setenv(REQUIRED_VARIABLE, "maybe")
    with pytest.raises(EncryptionKeyError, match=f"{REQUIRED_VARIABLE}='maybe' is invalid"):
        data_converter()


async def test_required_workers_refuse_plaintext_saying_why_and_run_sealed_work(
    client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEYS_VARIABLE, f"new:{NEW}")
    monkeypatch.setenv(REQUIRED_VARIABLE, "true")
    # The service's own client, from the environment, as a worker process builds it.
    strict = await new_client(
        target_host=client.service_client.config.target_host, namespace=client.namespace
    )
    job = example_input()
    # The session's client has no keys: what it starts is plaintext.
    plain = await client.start_workflow(
        Workflow.run, job, id=f"plain-{uuid.uuid4()}", task_queue=task_queue
    )
    sealed = await (await keyed(client, f"new:{NEW}")).start_workflow(
        Workflow.run, job, id=f"sealed-{uuid.uuid4()}", task_queue=task_queue
    )
    async with serving_stubs(strict, task_queue, StubUpserts()):
        with pytest.raises(AssertionError, match="a workflow task failed"):
            await result_within(strict.get_workflow_handle(plain.id), timeout=30)
        assert await result_within(strict.get_workflow_handle(sealed.id)) == {
            "upserted": len(job["records"])
        }
    said = await failure_read(strict, await last_task_failure(client, plain.id))
    assert f"a plaintext payload was refused: {REQUIRED_VARIABLE} is set" in said
    assert NEW not in said
    await plain.terminate()
    # The codec server, for people, still shows what was written in plaintext.
    assert CodecSettings.from_environment().codec.open([PLAIN]) == [PLAIN]
    # Not required, the same keys open plaintext, written before keys were set.
    assert EncryptionCodec(parse_keys(f"new:{NEW}")).open([PLAIN]) == [PLAIN]
    with pytest.raises(EncryptionKeyError, match="a plaintext payload was refused"):
        EncryptionCodec(parse_keys(f"new:{NEW}"), required=True).open([PLAIN])


PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')


class RefusingUpserts(StubUpserts):
    """The upsert refusing every batch with an error that quotes a value from it, as a
    FieldError does: the value a sealed failure must not show the server."""

    @activity.defn(name=f"{NAME}Activities.upsert")
    async def upsert(self, batch: Job) -> int:
        value = f"{batch['records'][0]}-{QUOTED}"
        raise ApplicationError(f"record refused: {value!r}", non_retryable=True) from ValueError(
            f"cannot store {value!r}"
        )


QUOTED = f"quoted-{uuid.uuid4().hex}"
TRACEBACK = b'File "'  # how every line of a Python stack trace begins


async def test_with_keys_failures_travel_sealed_and_the_codec_server_opens_them(
    client: Client, task_queue: str
) -> None:
    sealed = await keyed(client, f"new:{NEW}")
    async with serving_stubs(sealed, task_queue, RefusingUpserts()):
        handle = await sealed.start_workflow(
            Workflow.run, example_input(), id=f"refused-{uuid.uuid4()}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await result_within(handle)
    # Whoever holds the key reads the failure whole, the activity's own error included.
    chain: list[str] = []
    error: BaseException | None = failed.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__
    assert QUOTED in application_error(failed.value).message
    assert any(message.startswith("ValueError: cannot store") for message in chain), chain
    assert all(QUOTED in message for message in chain if "refused" in message), chain
    # The server does not: no message, cause or stack trace of it is there in the clear.
    histories = await handle_histories(client, handle)
    raw = b"".join(event.SerializeToString() for h in histories for event in h.events)
    assert QUOTED.encode() not in raw and TRACEBACK not in raw
    [activity_failed] = events(histories, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)
    failure = activity_failed.activity_task_failed_event_attributes.failure
    assert (failure.message, failure.stack_trace) == ("Encoded failure", "")
    assert failure.encoded_attributes.metadata[KEY_ID] == b"new"
    assert failure.cause.encoded_attributes.metadata[KEY_ID] == b"new"
    # The codec server opens it, as the Web UI and the CLI ask it to.
    settings = CodecSettings(EncryptionCodec(parse_keys(f"new:{NEW}")))
    with codec_server.serving("127.0.0.1:0", settings) as server:
        status, _, body = call(f"{server.url}/decode", body=as_json([failure.encoded_attributes]))
    assert status == 200
    [opened] = DATA_CONVERTER.payload_converter.from_payloads(from_json(body))
    assert QUOTED in opened["message"]
    assert TRACEBACK.decode() in opened["stack_trace"] and "in upsert" in opened["stack_trace"]


class RefusingAtLength(StubUpserts):
    """The upsert refusing every batch, permanently, with a message of 300,000 characters:
    an error that quotes a whole batch."""

    @activity.defn(name=f"{NAME}Activities.upsert")
    async def upsert(self, batch: Job) -> int:
        raise ApplicationError("refused: " + "x" * 300_000, type="Refused", non_retryable=True)


@pytest.mark.parametrize("keys", ["", f"new:{NEW}"], ids=["plain", "sealed"])
async def test_a_failure_of_any_length_travels_cut_to_size_and_stays_permanent(
    client: Client, task_queue: str, keys: str
) -> None:
    # Sealed whole, its message would be a payload over 200 KiB, refused: the SDK then
    # sends "Failed building exception result", retryable, and the run retries for ever.
    keyed_client = await keyed(client, keys)
    async with serving_stubs(keyed_client, task_queue, RefusingAtLength()):
        handle = await keyed_client.start_workflow(
            Workflow.run, example_input(), id=f"long-{uuid.uuid4()}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await result_within(handle, timeout=30)
    error = application_error(failed.value)
    assert (error.type, error.non_retryable) == ("Refused", True)
    assert error.message.startswith("refused: xxx")
    assert error.message.endswith(f"[... {300_009 - MESSAGE_CHARS:,} characters cut]")
    # Every payload of the run's history stayed within the rule's limit.
    histories = await handle_histories(client, handle)
    assert max(payload_sizes(histories)) < MAX_PAYLOAD_BYTES
