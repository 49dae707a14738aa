"""What clients and other workflows import to use the {{ cookiecutter.workflow_name }} workflow.

Interfaces only: the task queue, the payload types, and the
``{{ cookiecutter.workflow_name }}Workflow`` / ``{{ cookiecutter.workflow_name }}Activities`` classes whose names the
Temporal server and Web UI show. The code that runs lives in ``workflow.py``
(``...WorkflowImpl`` / ``...ActivitiesImpl``). This module imports nothing that
touches the outside world, so workflow code may import it inside the sandbox.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict

from temporalio import activity, workflow

TASK_QUEUE = "{{ cookiecutter.task_queue }}"

# Payloads are plain JSON objects, so any client can start the workflow: this
# service, another SDK, or `temporal workflow start --input-file ...`.


class {{ cookiecutter.workflow_name }}Dict(TypedDict):
    """One {{ cookiecutter.workflow_name }} as it travels in payloads."""

    name: str
    surname: str
    known_for: str


class {{ cookiecutter.workflow_name }}WorkflowInput(TypedDict):
    """Input of {{ cookiecutter.workflow_name }}Workflow: the family to keep up with and who is in it."""

    family: str
    members: list[{{ cookiecutter.workflow_name }}Dict]


class {{ cookiecutter.workflow_name }}WorkflowResult(TypedDict):
    """Result of {{ cookiecutter.workflow_name }}Workflow."""

    upserted: int
    family_size: int


@dataclass(frozen=True)
class {{ cookiecutter.workflow_name }}:
    """The domain object; converts to and from its payload form."""

    name: str
    surname: str
    known_for: str = ""

    def to_dict(self) -> {{ cookiecutter.workflow_name }}Dict:
        return {"name": self.name, "surname": self.surname, "known_for": self.known_for}

    @classmethod
    def from_dict(cls, data: {{ cookiecutter.workflow_name }}Dict | dict[str, Any]) -> {{ cookiecutter.workflow_name }}:
        """Build from a payload; raise ValueError naming the field if it has the wrong shape."""
        if not isinstance(data, dict):
            raise ValueError(f"expected an object with name and surname, got {type(data).__name__}")
        return cls(
            name=_text_field(data, "name"),
            surname=_text_field(data, "surname"),
            known_for=_text_field(data, "known_for", default=""),
        )


def _text_field(data: dict[str, Any] | {{ cookiecutter.workflow_name }}Dict, key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise ValueError(f"missing field {key!r}")
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string, got {type(value).__name__}")
    return value


def parse_input(raw: Any) -> tuple[str, list[{{ cookiecutter.workflow_name }}]]:
    """Check a workflow input's shape; raise ValueError saying what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError(f"input must be a JSON object, got {type(raw).__name__}")
    family = raw.get("family")
    if not isinstance(family, str):
        raise ValueError("input field 'family' must be a string")
    members = raw.get("members")
    if not isinstance(members, list):
        raise ValueError("input field 'members' must be a list")
    parsed = []
    for index, member in enumerate(members):
        try:
            parsed.append({{ cookiecutter.workflow_name }}.from_dict(member))
        except ValueError as error:
            raise ValueError(f"members[{index}]: {error}") from None
    return family, parsed


def workflow_id_for(workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput) -> str:
    """A workflow id derived from the input: starting the same input twice finds the same run."""
    canonical = json.dumps(workflow_input, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return f"{{ cookiecutter.workflow_module | replace('_', '-') }}-{digest}"


# Generous for one upsert; a stuck call is cut off and retried as a new attempt.
ACTIVITY_START_TO_CLOSE = timedelta(seconds=30)
# Retries go on through a database outage of up to this long, then the workflow fails.
ACTIVITY_SCHEDULE_TO_CLOSE = timedelta(minutes=30)


class {{ cookiecutter.workflow_name }}Activities:
    """Activity interface. Names are qualified with the class so two modules never collide."""

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.add_{{ cookiecutter.workflow_module }}")
    async def add_{{ cookiecutter.workflow_module }}(self, {{ cookiecutter.workflow_module }}: {{ cookiecutter.workflow_name }}Dict) -> int:
        """Upsert one {{ cookiecutter.workflow_name }}; return its row id (the same id on every retry)."""
        raise NotImplementedError

    @activity.defn(name="{{ cookiecutter.workflow_name }}Activities.count_family")
    async def count_family(self, surname: str) -> int:
        """How many rows share the surname."""
        raise NotImplementedError


@workflow.defn(name="{{ cookiecutter.workflow_name }}Workflow")
class {{ cookiecutter.workflow_name }}Workflow:
    """Workflow interface: clients start it through this class, for example
    ``client.execute_workflow({{ cookiecutter.workflow_name }}Workflow.run, data, id=..., task_queue=TASK_QUEUE)``.
    """

    @workflow.run
    async def run(self, workflow_input: {{ cookiecutter.workflow_name }}WorkflowInput) -> {{ cookiecutter.workflow_name }}WorkflowResult:
        """Upsert every member, then count the family."""
        raise NotImplementedError
