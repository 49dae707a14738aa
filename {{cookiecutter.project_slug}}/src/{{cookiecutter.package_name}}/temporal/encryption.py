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
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEYS_VARIABLE = "PAYLOAD_ENCRYPTION_KEYS"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce, random for every payload
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


def keys_from_environment() -> dict[str, bytes]:
    """The keys ``PAYLOAD_ENCRYPTION_KEYS`` lists; none when it is unset or empty."""
    text = os.environ.get(KEYS_VARIABLE, "").strip()
    return parse_keys(text) if text else {}


class EncryptionCodec(PayloadCodec):
    """Seals payloads with the first key, opens them with whichever key they name."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise EncryptionKeyError(f"{KEYS_VARIABLE} lists no key")
        # Imported only when keys are set, not with the module: a test module that
        # defines a workflow imports this one inside Temporal's sandbox, which cannot
        # import cryptography's compiled core a second time (SystemError).
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._ciphers: dict[str, AESGCM] = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.sealing_key_id = next(iter(keys))

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
        """``payloads``, each opened with the key it names; unsealed ones pass as they are."""
        from cryptography.exceptions import InvalidTag

        opened = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                opened.append(payload)  # sealed by nobody: written before keys were set
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise EncryptionKeyError(
                    f"a payload is sealed with key {key_id!r}, which {KEYS_VARIABLE} "
                    "does not list here"
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
            plain.ParseFromString(plain_bytes)
            opened.append(plain)
        return opened


def with_encryption(converter: DataConverter, keys: dict[str, bytes]) -> DataConverter:
    """``converter``, sealing every payload with ``keys``; unchanged when there are none."""
    if not keys:
        return converter
    return dataclasses.replace(converter, payload_codec=EncryptionCodec(keys))
