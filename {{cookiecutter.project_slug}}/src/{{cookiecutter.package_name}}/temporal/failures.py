"""Failures cut to a size that always travels, before they leave the worker.

A failure's message and stack trace are written by whatever raised: an error that quotes
a whole batch, or a deep recursion, can run to megabytes. With payload encryption on,
both are sealed as a payload, which the 200 KiB rule (payloads.py) then refuses; the SDK
answers that by sending "Failed building exception result" instead, retryable, with the
error's type and non_retryable lost: a permanent failure retried until its timeout. So
each failure of a chain keeps the head of its message and the tail of its stack trace
(the innermost frames, where it was raised), and says how much was cut.
"""

from __future__ import annotations

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverter, PayloadConverter

# Enough for any message a person reads, and a stack trace's last few hundred lines; a
# failure and each of its causes stay far under the 200 KiB of one payload.
MESSAGE_CHARS = 8 * 1024
STACK_TRACE_CHARS = 32 * 1024
# What DefaultFailureConverterWithEncodedAttributes leaves in the clear for a sealed one.
SEALED_MESSAGE = "Encoded failure"


def head(text: str, keep: int) -> str:
    """``text``, or its first ``keep`` characters and how many more were cut."""
    if len(text) <= keep:
        return text
    return f"{text[:keep]} [... {len(text) - keep:,} characters cut]"


def tail(text: str, keep: int) -> str:
    """``text``, or its last ``keep`` characters and how many before them were cut."""
    if len(text) <= keep:
        return text
    return f"[{len(text) - keep:,} characters cut ...]\n{text[-keep:]}"


class BoundedFailureConverter(DefaultFailureConverter):
    """The SDK's failure converter, each failure's message and stack trace cut to
    MESSAGE_CHARS and STACK_TRACE_CHARS (its causes too: the SDK converts them here)."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        failure.message = head(failure.message, MESSAGE_CHARS)
        failure.stack_trace = tail(failure.stack_trace, STACK_TRACE_CHARS)


class SealedFailureConverter(BoundedFailureConverter):
    """Bounded, then each failure's message and stack trace moved into one payload, which
    the codec seals, as ``DefaultFailureConverterWithEncodedAttributes`` does; reading
    them back is the SDK's own (any failure with encoded attributes)."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        if failure.HasField("encoded_attributes"):  # a failure passed on whole, sealed
            return
        attributes = {"message": failure.message, "stack_trace": failure.stack_trace}
        failure.encoded_attributes.CopyFrom(payload_converter.to_payloads([attributes])[0])
        failure.message = SEALED_MESSAGE
        failure.stack_trace = ""
