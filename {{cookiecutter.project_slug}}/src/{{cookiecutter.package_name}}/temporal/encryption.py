"""PAYLOAD_ENCRYPTION_KEYS: every payload sealed with AES-256-GCM before it leaves the process.

Temporal stores every workflow, activity and child payload in its database, and
anyone with Web UI access reads them. With keys set, the service's data converter
seals each payload after the converter has written (and size-checked) it, so the
server holds ciphertext only; workers and clients with the key open it again.

``PAYLOAD_ENCRYPTION_KEYS`` is comma-separated ``id:base64key`` entries, each key 32
bytes (``python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"``).
The first key seals; every listed key opens, so rotating is "put the new key first and
keep the old one" until no run sealed under the old one is left. A sealed payload names
its key's id in its metadata (never the key), and a process that lacks that key fails
with the id. Unset, nothing is encrypted.

With keys set, failures travel sealed too: a failure's message and stack trace (which
quote values, such as a refused record's) move into its encoded attributes, which the
codec seals like any payload; the codec server opens them for the CLI and the Web UI.

``PAYLOAD_ENCRYPTION_REQUIRED`` (``true``/``1``/``yes``/``on``) makes the codec refuse
to open a payload that is not sealed, so that a client without keys cannot feed the
workers plaintext unnoticed; set without keys, it stops the process at start.

Whatever the codec cannot open (a key it lacks, ciphertext truncated or altered, bytes
that are no payload) raises EncryptionKeyError naming the key's id, never the key.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

from .failures import SealedFailureConverter

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEYS_VARIABLE = "PAYLOAD_ENCRYPTION_KEYS"
REQUIRED_VARIABLE = "PAYLOAD_ENCRYPTION_REQUIRED"
YES = ("1", "true", "yes", "on")
NO = ("", "0", "false", "no", "off")
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce, random for every payload
TAG_BYTES = 16  # GCM's tag, after the ciphertext: a shorter sealed payload was cut
ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


class EncryptionKeyError(ValueError):
    """A key the service cannot use, or lacks; the message names the id, never the key."""


def parse_keys(text: str) -> dict[str, bytes]:
    """``id:base64key`` entries in their order (the first seals); a bad one raises
    EncryptionKeyError naming the variable and the entry, never its key."""
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(text.split(","), 1):
        key_id, colon, encoded = entry.strip().partition(":")
        where = f"{KEYS_VARIABLE}: entry {position}"
        if not colon or not key_id:
            raise EncryptionKeyError(f"{where} must be id:base64key")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise EncryptionKeyError(f"{where} (id {key_id!r}): the key is not base64") from None
        if len(key) != KEY_BYTES:
            raise EncryptionKeyError(
                f"{where} (id {key_id!r}): the key is {len(key)} bytes, not {KEY_BYTES}"
            )
        if key_id in keys:
            raise EncryptionKeyError(f"{where}: id {key_id!r} is listed twice")
        keys[key_id] = key
    return keys


def required_from_environment() -> bool:
    """``PAYLOAD_ENCRYPTION_REQUIRED``: whether every payload must arrive sealed."""
    text = os.environ.get(REQUIRED_VARIABLE, "").strip().lower()
    if text not in YES + NO:
        raise EncryptionKeyError(
            f"{REQUIRED_VARIABLE}={text!r} is invalid: must be true or false (1/0, yes/no, on/off)"
        )
    return text in YES


def keys_from_environment() -> dict[str, bytes]:
    """The keys ``PAYLOAD_ENCRYPTION_KEYS`` lists; none when it is unset or empty.

    Also checks ``PAYLOAD_ENCRYPTION_REQUIRED``, as every command calls this at start:
    required with no key listed is refused there, not at the first payload.
    """
    text = os.environ.get(KEYS_VARIABLE, "").strip()
    keys = parse_keys(text) if text else {}
    if required_from_environment() and not keys:
        raise missing_keys()
    return keys


def missing_keys() -> EncryptionKeyError:
    return EncryptionKeyError(
        f"{REQUIRED_VARIABLE} is set but {KEYS_VARIABLE} lists no key: set the keys the "
        f"workers seal with, or unset {REQUIRED_VARIABLE}"
    )


def sealing_key_of(payload: Payload) -> str | None:
    """The id of the key ``payload`` is sealed with, or None when it is plaintext."""
    if payload.metadata.get("encoding") != ENCODING:
        return None
    # Read from the server: any bytes at all; never let their decoding be the error.
    return payload.metadata.get(KEY_ID, b"").decode(errors="replace")


def current_sealing_key(converter: DataConverter) -> str | None:
    """The id of the key ``converter`` seals with, or None when it seals nothing."""
    codec = converter.payload_codec
    return codec.sealing_key_id if isinstance(codec, EncryptionCodec) else None


class EncryptionCodec(PayloadCodec):
    """Seals payloads with the first key, opens them with whichever key they name."""

    def __init__(self, keys: dict[str, bytes], *, required: bool = False) -> None:
        if not keys:
            raise EncryptionKeyError(f"{KEYS_VARIABLE} lists no key")
        # Imported only when keys are set, not with the module: a test module that
        # defines a workflow imports this one inside Temporal's sandbox, which cannot
        # import cryptography's compiled core a second time (SystemError).
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._ciphers: dict[str, AESGCM] = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.sealing_key_id = next(iter(keys))
        self.required = required

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.seal(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.open(payloads)

    def seal(self, payloads: Sequence[Payload]) -> list[Payload]:
        """``payloads``, each sealed with the first key (what encode() does, without a loop)."""
        cipher = self._ciphers[self.sealing_key_id]
        key_id = self.sealing_key_id.encode()
        sealed = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # The key id is authenticated too: a payload relabelled to another key fails.
            data = nonce + cipher.encrypt(nonce, payload.SerializeToString(), key_id)
            sealed.append(Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=data))
        return sealed

    def open(self, payloads: Sequence[Payload]) -> list[Payload]:
        """``payloads``, each opened with the key it names; unsealed ones pass as they are,
        unless ``required``. Anything it cannot open raises EncryptionKeyError."""
        opened = []
        for payload in payloads:
            key_id = sealing_key_of(payload)
            if key_id is not None:
                opened.append(self.open_one(payload, key_id))
            elif self.required:
                raise EncryptionKeyError(
                    f"a plaintext payload was refused: {REQUIRED_VARIABLE} is set, so every "
                    f"payload must arrive sealed; its sender sealed nothing (no {KEYS_VARIABLE}, "
                    "or a CLI or UI without the codec server)"
                )
            else:
                opened.append(payload)  # sealed by nobody: written before keys were set
        return opened

    def open_one(self, payload: Payload, key_id: str) -> Payload:
        from cryptography.exceptions import InvalidTag

        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise EncryptionKeyError(
                f"a payload is sealed with key {key_id!r}, which {KEYS_VARIABLE} does not list here"
            )
        # Checked before decrypting: AES-GCM takes a nonce of 8 bytes or more, so a cut
        # one would raise a bare ValueError rather than fail as altered.
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise EncryptionKeyError(
                f"a payload sealed with key {key_id!r} is {len(payload.data)} bytes, shorter "
                f"than its nonce and tag ({NONCE_BYTES + TAG_BYTES}): it was truncated"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain_bytes = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise EncryptionKeyError(
                f"a payload named key {key_id!r} but does not open with it: it was "
                "altered, or sealed by another key of that id"
            ) from None
        plain = Payload()
        try:
            plain.ParseFromString(plain_bytes)
        except DecodeError:
            # It authenticated, so it was sealed with our key, but not by this codec.
            raise EncryptionKeyError(
                f"a payload opened with key {key_id!r} but holds no Temporal payload: "
                "something other than this service sealed it with that key"
            ) from None
        return plain


def with_encryption(
    converter: DataConverter, keys: dict[str, bytes], *, required: bool = False
) -> DataConverter:
    """``converter``, sealing every payload and failure with ``keys``; unchanged when
    there are none. ``required``: refuse plaintext on the way in (and refuse no keys)."""
    if not keys:
        if required:
            raise missing_keys()
        return converter
    return dataclasses.replace(
        converter,
        payload_codec=EncryptionCodec(keys, required=required),
        # A failure's message and stack trace quote values (a refused record, an
        # error's arguments): cut to size and moved into a payload, the codec seals them.
        failure_converter_class=SealedFailureConverter,
    )
