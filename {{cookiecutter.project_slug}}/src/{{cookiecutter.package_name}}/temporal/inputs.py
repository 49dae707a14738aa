"""Input checks that fail a workflow at once, never its workflow task.

A workflow task that raises an ordinary exception is retried by Temporal for ever:
a retry storm instead of an answer. So every check here raises
:class:`InvalidInputError`, a non-retryable ``ApplicationError``, which fails the
workflow (or activity) on its first try, whoever sent the input:

* :func:`.shapes.conform` checks a decoded JSON value against the type hint it is
  meant to have, through pydantic; the service's payload converter runs it on every
  typed argument it decodes. It lives apart because workflow code imports this module
  inside the sandbox, which would import pydantic again for every run.
* :class:`InputChecks`, a worker interceptor, refuses a start with the wrong number
  of arguments (the SDK would call ``run()`` with them and fail the task) and
  re-checks the payload size of inputs from clients that skip our converter.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from temporalio import workflow
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


def positional_arity(function: Callable[..., Any]) -> tuple[int, int] | None:
    """How many arguments a workflow's ``run(self, ...)`` needs and takes at most (one
    with a default may be left out), or None if any number."""
    parameters = list(inspect.signature(function).parameters.values())[1:]  # after self
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return None
    positional = [p for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    required = sum(p.default is inspect.Parameter.empty for p in positional)
    return required, len(positional)


def arguments(fewest: int, most: int) -> str:
    """What a run() takes, in words: "1 argument", "0 or 1 arguments"."""
    count = str(most) if fewest == most else f"{fewest} or {most}"
    return f"{count} argument{'s' * (count != '1')}"


class _CheckedWorkflowStart(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        arity = positional_arity(input.run_fn)
        if arity is not None and not arity[0] <= len(input.args) <= arity[1]:
            name = workflow.info().workflow_type
            raise InvalidInputError(
                f"{name} takes {arguments(*arity)} (one JSON object), got {len(input.args)}"
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
