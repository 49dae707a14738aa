"""codec-server: the CLI and the Web UI read plaintext through it; only the fenced-in may.

The protocol tests talk HTTP to a server in this process. The last ones run the real
commands: ``codec-server`` beside ``temporal workflow show --codec-endpoint``, and
``dev`` with keys, whose Web UI is pointed at its own codec server (the template's
tests/test_web_ui.py then reads the decoded input in headless Chromium).
"""

from __future__ import annotations

import http.client
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from {{ cookiecutter.package_name }} import cli as service_cli
from {{ cookiecutter.package_name }}.temporal import codec_server
from {{ cookiecutter.package_name }}.temporal.codec_server import (
    ORIGINS_VARIABLE,
    TOKEN_VARIABLE,
    CodecSettings,
    CodecSettingsError,
    parse_origins,
)
from {{ cookiecutter.package_name }}.temporal.encryption import (
    ENCODING,
    KEY_ID,
    KEYS_VARIABLE,
    EncryptionCodec,
    parse_keys,
)
from {{ cookiecutter.package_name }}.temporal.histories import stored_payloads
from {{ cookiecutter.package_name }}.temporal.payloads import DATA_CONVERTER

from .helpers import (
    StubUpserts,
    background,
    cli,
    dev_running,
    example_input,
    free_port,
    result_within,
    run_cli,
    service_env,
    serving_stubs,
    temporal_cli,
    wait_for_port,
)
from .module_under_test import Workflow
from .sealing import (
    NEW,
    OLD,
    as_json,
    call,
    damaged,
    from_json,
    history_shown,
    keyed,
    plaintext_needles,
    shown_in,
)

UI = "http://localhost:8233"
TOKEN = f"codec-token-{uuid.uuid4().hex}"


@pytest.fixture
def server() -> Iterator[codec_server.CodecHTTPServer]:
    """A codec server on a free loopback port, for the UI's origin, with a token."""
    settings = CodecSettings(EncryptionCodec(parse_keys(f"new:{NEW}")), frozenset({UI}), TOKEN)
    with codec_server.serving("127.0.0.1:0", settings) as started:
        yield started


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_encode_seals_and_decode_opens_under_any_namespace(
    server: codec_server.CodecHTTPServer,
) -> None:
    plain = DATA_CONVERTER.payload_converter.to_payloads([example_input()])
    status, _, sealed = call(f"{server.url}/encode", body=as_json(plain), **AUTH)
    assert status == 200
    [payload] = from_json(sealed)
    assert payload.metadata["encoding"] == ENCODING
    for needle in plaintext_needles(example_input()):
        assert needle.encode() not in payload.data
    # The CLI's endpoint templating puts the namespace first in the path.
    for path in ("/decode", "/default/decode"):
        status, _, opened = call(f"{server.url}{path}", body=sealed, **AUTH)
        assert status == 200
        assert from_json(opened) == plain


def test_only_the_two_routes_answer_and_a_bad_body_is_refused(
    server: codec_server.CodecHTTPServer,
) -> None:
    assert call(f"{server.url}/decode", method="GET", **AUTH)[0] == 405
    assert call(f"{server.url}/a/b/decode", body={"payloads": []}, **AUTH)[0] == 404
    assert call(f"{server.url}/keys", body={"payloads": []}, **AUTH)[0] == 404
    status, _, said = call(f"{server.url}/decode", body={"payload": "x"}, **AUTH)
    assert status == 400 and "payloads" in said["error"]


def test_with_a_token_set_every_request_must_carry_it(
    server: codec_server.CodecHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    sealed = as_json(EncryptionCodec(parse_keys(f"new:{NEW}")).seal([Payload(data=b'"x"')]))
    caplog.set_level(logging.DEBUG)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        status, _, said = call(f"{server.url}/decode", body=sealed, **headers)
        assert status == 401, headers
        assert TOKEN_VARIABLE in said["error"] and TOKEN not in said["error"]
    assert call(f"{server.url}/decode", body=sealed, **AUTH)[0] == 200
    assert TOKEN not in caplog.text and NEW not in caplog.text


def test_browsers_may_call_it_from_the_listed_origins_only(
    server: codec_server.CodecHTTPServer,
) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    status, headers, _ = call(f"{server.url}/decode", method="OPTIONS", Origin=UI, **preflight)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == UI
    allowed = {name.strip() for name in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"Authorization", "Content-Type", "X-Namespace"} <= allowed
    other = "http://evil.example"
    status, headers, _ = call(f"{server.url}/decode", method="OPTIONS", Origin=other, **preflight)
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    # Without the header a browser withholds even a successful answer from the page.
    status, headers, _ = call(f"{server.url}/decode", body={"payloads": []}, Origin=other, **AUTH)
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


def test_a_payload_under_a_key_it_lacks_is_refused_naming_the_id(
    server: codec_server.CodecHTTPServer,
) -> None:
    foreign = EncryptionCodec(parse_keys(f"k9:{OLD}")).seal([Payload(data=b'"x"')])
    status, _, said = call(f"{server.url}/decode", body=as_json(foreign), **AUTH)
    assert status == 400
    assert "sealed with key 'k9'" in said["error"] and OLD not in said["error"]
    # Relabelled to a key it has, the payload fails authentication instead of opening.
    foreign[0].metadata[KEY_ID] = b"new"
    status, _, said = call(f"{server.url}/decode", body=as_json(foreign), **AUTH)
    assert status == 400 and "does not open with it" in said["error"]


def test_ciphertext_truncated_garbled_or_not_a_payload_is_a_400_naming_the_key(
    server: codec_server.CodecHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    [sealed] = EncryptionCodec(parse_keys(f"new:{NEW}")).seal([Payload(data=b'"x"')])
    caplog.set_level(logging.WARNING)
    for how, spoilt in damaged(sealed).items():
        # A handler that raised would close the connection with no answer at all.
        status, headers, said = call(f"{server.url}/decode", body=as_json([spoilt]), **AUTH)
        assert (status, headers["Content-Type"]) == (400, "application/json"), how
        assert "key 'new'" in said["error"] and NEW not in said["error"], how
        assert "decode for namespace - refused: " in caplog.text, how
    # And a server still answering: nothing above took a handler down.
    assert call(f"{server.url}/decode", body=as_json([sealed]), **AUTH)[0] == 200
    assert NEW not in caplog.text


def test_a_content_length_that_is_no_number_is_a_400(
    server: codec_server.CodecHTTPServer,
) -> None:
    connection = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=10)
    connection.putrequest("POST", "/decode")
    connection.putheader("Authorization", AUTH["Authorization"])
    connection.putheader("Content-Length", "²")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 400
    assert "Content-Length" in json.loads(response.read())["error"]
    connection.close()


def test_bad_settings_are_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for origins in ("*", "temporal-ui.example.com", "https://ui.example.com/path", "ftp://x"):
        with pytest.raises(CodecSettingsError, match=ORIGINS_VARIABLE):
            parse_origins(origins)
    assert parse_origins(" https://a.example, http://localhost:8233/ ") == {
        "https://a.example",
        "http://localhost:8233",
    }
    monkeypatch.delenv(KEYS_VARIABLE, raising=False)
    with pytest.raises(CodecSettingsError, match=KEYS_VARIABLE):
        CodecSettings.from_environment()
    env = service_env("", "") | {KEYS_VARIABLE: f"new:{NEW}", ORIGINS_VARIABLE: "*"}
    ran = run_cli("codec-server", "--address", f"127.0.0.1:{free_port()}", env=env, timeout=30)
    assert ran.returncode == 1
    assert ran.stderr.startswith(f"error: {ORIGINS_VARIABLE}: '*' is not an origin")


def test_it_listens_on_loopback_unless_told_and_warns_when_exposed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    args = service_cli.build_parser().parse_args(["codec-server"])
    assert args.address.split(":")[0] == "127.0.0.1"
    settings = CodecSettings(EncryptionCodec(parse_keys(f"new:{NEW}")))
    with caplog.at_level(logging.WARNING), codec_server.serving("0.0.0.0:0", settings):
        pass
    assert f"without {TOKEN_VARIABLE}: anyone who reaches it reads every payload" in caplog.text


@pytest.mark.processes
async def test_the_temporal_cli_shows_plaintext_through_the_codec_server(
    client: Client, task_queue: str, tmp_path: Path
) -> None:
    sealed = await keyed(client, f"new:{NEW}")
    job = example_input()
    async with serving_stubs(sealed, task_queue, StubUpserts()):
        handle = await sealed.start_workflow(
            Workflow.run, job, id=f"codec-{uuid.uuid4()}", task_queue=task_queue
        )
        await result_within(handle)
    port = free_port()
    env = service_env("", "") | {KEYS_VARIABLE: f"new:{NEW}", TOKEN_VARIABLE: TOKEN}
    output = tmp_path / "codec-server.log"
    address = client.service_client.config.target_host
    show = ("workflow", "show", "--workflow-id", handle.id, "--output", "json")
    endpoint = ("--codec-endpoint", f"http://127.0.0.1:{port}")
    with background(cli("codec-server", "--address", f"127.0.0.1:{port}"), env, output) as server:
        wait_for_port(port, server)
        decoded = temporal_cli(address, *show, *endpoint, "--codec-auth", f"Bearer {TOKEN}")
        raw = temporal_cli(address, *show)
        refused = temporal_cli(address, *show, *endpoint, "--codec-auth", "Bearer wrong")
    assert decoded.returncode == 0, decoded.stderr
    assert raw.returncode == 0, raw.stderr
    needles = plaintext_needles(job)
    # The CLI's JSON is the history's own form: read it as one, payloads and all.
    opened = stored_payloads([history_shown(handle.id, decoded.stdout)])
    assert {payload.metadata["encoding"] for payload in opened} == {b"json/plain"}
    assert [needle for needle in needles if not shown_in(needle, opened)] == []
    as_stored = stored_payloads([history_shown(handle.id, raw.stdout)])
    assert {payload.metadata["encoding"] for payload in as_stored} == {ENCODING}
    assert [needle for needle in needles if shown_in(needle, as_stored)] == []
    # With the wrong token the CLI gets no plaintext, whatever it prints instead.
    assert not any(needle in refused.stdout + refused.stderr for needle in needles)
    logged = output.read_text(encoding="utf-8")
    assert "decode:" in logged and "for namespace default" in logged
    assert TOKEN not in logged and NEW not in logged
    assert not any(needle in logged for needle in needles)


@pytest.mark.processes
def test_dev_with_keys_points_its_web_ui_at_its_codec_server(
    postgres_url: str, tmp_path: Path
) -> None:
    env = service_env("", postgres_url) | {KEYS_VARIABLE: f"new:{NEW}"}
    env.pop("TEMPORAL_ADDRESS")
    with dev_running(env, tmp_path) as (port, printed):
        codec = printed.split("Codec:     ", 1)[1].split()[0]
        ui_origin = f"http://localhost:{port + 1000}"
        _, _, settings = call(f"{ui_origin}/api/v1/settings", method="GET")
        preflight = call(f"{codec}/decode", method="OPTIONS", Origin=ui_origin)
    assert codec.startswith("http://127.0.0.1:")
    assert settings["Codec"]["Endpoint"] == codec
    assert preflight[0] == 204 and preflight[1]["Access-Control-Allow-Origin"] == ui_origin
