"""Input checks that fail a workflow at once, never its workflow task.

A workflow task that raises an ordinary exception is retried by Temporal for ever:
a retry storm instead of an answer. So every check here raises
:class:`InvalidInputError`, a non-retryable ``ApplicationError``, which fails the
workflow (or activity) on its first try, whoever sent the input:

* :func:`conform` checks a decoded JSON value against the type hint it is meant to
  have (a TypedDict, a list, text, a whole number). The service's payload converter
  runs it on every typed argument it decodes, so the TypedDict on ``run()`` is the
  one model of a payload: no hand-written twin checks it again.
* :class:`InputChecks`, a worker interceptor, refuses a start with the wrong number
  of arguments (the SDK would call ``run()`` with them and fail the task) and
  re-checks the payload size of inputs from clients that skip our converter.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

from temporalio import workflow
from temporalio.converter import value_to_type
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

INVALID_INPUT = "InvalidInput"

JSON_NAMES = {dict: "an object", list: "a list", str: "text", bool: "true or false"}


class InvalidInputError(ApplicationError):
    """Input that no retry can fix: fails the workflow or activity on its first try."""

    def __init__(self, message: str) -> None:
        super().__init__(f"invalid input: {message}", type=INVALID_INPUT, non_retryable=True)


def json_name(value: object) -> str:
    """What a JSON reader would call the value's type."""
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return JSON_NAMES.get(type(value), type(value).__name__)


def conform(value: object, hint: Any, path: str = "input") -> Any:
    """``value`` if it has the shape ``hint`` describes; raise InvalidInputError naming the path.

    Stricter than the SDK's own conversion, which takes 1.5 or true for a whole
    number and lets a TypedDict miss required keys.
    """
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if hint is str:
        if not isinstance(value, str):
            raise InvalidInputError(f"{path} must be text, got {json_name(value)}")
        if "\x00" in value:
            raise InvalidInputError(f"{path} holds a NUL character, which PostgreSQL cannot store")
        return value
    if hint is int or hint is float:
        allowed = int if hint is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            kind = "a whole number" if hint is int else "a number"
            raise InvalidInputError(f"{path} must be {kind}, got {json_name(value)}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise InvalidInputError(f"{path} must be true or false, got {json_name(value)}")
        return value
    if hint is type(None):
        if value is not None:
            raise InvalidInputError(f"{path} must be null, got {json_name(value)}")
        return value
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise InvalidInputError(f"{path} must be one of {typing.get_args(hint)}")
        return value
    if origin is Union or origin is types.UnionType:
        return _first_match(value, typing.get_args(hint), path)
    if origin is list:
        if not isinstance(value, list):
            raise InvalidInputError(f"{path} must be a list, got {json_name(value)}")
        [item_hint] = typing.get_args(hint) or [Any]
        return [conform(item, item_hint, f"{path}[{index}]") for index, item in enumerate(value)]
    if origin is dict:  # a JSON object of any content: dict[str, Any]
        if not isinstance(value, dict):
            raise InvalidInputError(f"{path} must be an object, got {json_name(value)}")
        return value
    if typing.is_typeddict(hint):
        return _conform_typeddict(value, hint, path)
    try:  # dataclasses, datetimes, ...: the SDK's own conversion
        return value_to_type(hint, value)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{path}: {error}") from None


def _first_match(value: object, hints: tuple[Any, ...], path: str) -> Any:
    errors = []
    for hint in hints:
        try:
            return conform(value, hint, path)
        except InvalidInputError as error:
            errors.append(error.message.removeprefix("invalid input: "))
    raise InvalidInputError(" or ".join(errors))


@functools.cache
def _fields_of(typeddict: Any) -> dict[str, Any]:
    # Resolving a TypedDict's hints costs far more than checking a value against them:
    # uncached, it was nine tenths of checking a job of 1,000 records.
    return typing.get_type_hints(typeddict)


def _conform_typeddict(value: object, hint: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{path} must be an object, got {json_name(value)}")
    fields = _fields_of(hint)
    missing = sorted(hint.__required_keys__ - value.keys())
    if missing:
        raise InvalidInputError(f"{path} is missing field {missing[0]!r}")
    for key in value:
        if key not in fields:
            # A typo ("max_activities_pre_run") must not be ignored silently.
            raise InvalidInputError(f"{path} has unknown field {key!r}")
    return {key: conform(item, fields[key], f"{path}.{key}") for key, item in value.items()}


def positional_arity(function: Callable[..., Any]) -> int | None:
    """How many arguments a workflow's ``run(self, ...)`` takes, or None if any number."""
    parameters = list(inspect.signature(function).parameters.values())[1:]  # after self
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return None
    return sum(p.kind is not inspect.Parameter.KEYWORD_ONLY for p in parameters)


class _CheckedWorkflowStart(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        takes = positional_arity(input.run_fn)
        if takes is not None and len(input.args) != takes:
            name = workflow.info().workflow_type
            raise InvalidInputError(
                f"{name} takes {takes} argument{'s' * (takes != 1)} "
                f"(one JSON object), got {len(input.args)}"
            )
        # Clients built on this service refuse an over-limit payload before sending
        # it; other clients (the temporal CLI, other SDKs) do not, so check it here.
        workflow.payload_converter().to_payloads(input.args)
        return await super().execute_workflow(input)


class InputChecks(Interceptor):
    """Worker interceptor: every workflow start is checked before ``run()`` is called."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _CheckedWorkflowStart
