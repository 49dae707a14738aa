"""The domain object and the checks on what arrives in payloads. Pure: safe in the sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    MAX_ACTIVITIES_PER_RUN,
    {{ cookiecutter.workflow_name }}ChunkInput,
    {{ cookiecutter.workflow_name }}Dict,
    {{ cookiecutter.workflow_name }}WorkflowInput,
)

# Names are part of the unique key, whose index entries PostgreSQL caps at about
# 2,700 bytes; schema.sql repeats these limits as CHECK constraints.
MAX_NAME_LENGTH = 200
MAX_TEXT_LENGTH = {"known_for": 2000}
# Fans are made from their numbers, so a billion cost nothing to send; the bound only
# keeps a typo from starting a job that would run for years.
MAX_FANS = 10**9


@dataclass(frozen=True)
class {{ cookiecutter.workflow_name }}:
    """One {{ cookiecutter.workflow_name }}; converts to and from its payload form."""

    name: str
    surname: str
    known_for: str = ""

    def to_dict(self) -> {{ cookiecutter.workflow_name }}Dict:
        return {"name": self.name, "surname": self.surname, "known_for": self.known_for}

    @classmethod
    def from_dict(cls, data: object) -> {{ cookiecutter.workflow_name }}:
        """Build from a payload; raise ValueError naming the field if it has the wrong shape."""
        if not isinstance(data, dict):
            raise ValueError(f"expected an object with name and surname, got {type(data).__name__}")
        return cls(
            name=_text(data, "name"),
            surname=_text(data, "surname"),
            known_for=_text(data, "known_for", default=""),
        )

    @classmethod
    def fan(cls, family: str, number: int) -> {{ cookiecutter.workflow_name }}:
        """Fan number ``number`` of ``family``, made from the number alone.

        Stands for any work that lives outside the payload: in your service the
        number would be a key into a table (of URLs, say) that the activity reads.
        """
        return cls(name=f"Fan {number:07d}", surname=family, known_for="fan")


@dataclass(frozen=True)
class {{ cookiecutter.workflow_name }}Job:
    """A checked workflow input: who to upsert and how to split the work."""

    family: str
    members: list[{{ cookiecutter.workflow_name }}]
    fans: int
    limit: int
    done: int

    @property
    def total(self) -> int:
        return len(self.members) + self.fans

    def chunk(self, start: int, stop: int) -> {{ cookiecutter.workflow_name }}ChunkInput:
        """Items ``start`` to ``stop``: members first, then fans numbered from 1."""
        members = [m.to_dict() for m in self.members[start:stop]]
        first_fan = max(start - len(self.members), 0) + 1
        fans = stop - max(start, len(self.members)) if stop > len(self.members) else 0
        return {"family": self.family, "members": members, "first_fan": first_fan, "fans": fans}

    def resume_input(self, done: int) -> {{ cookiecutter.workflow_name }}WorkflowInput:
        """The input of the run that continues this one, with ``done`` items behind it."""
        return {
            "family": self.family,
            "members": [m.to_dict() for m in self.members],
            "fans": self.fans,
            "max_activities_per_run": self.limit,
            "done": done,
        }


def parse_input(raw: object) -> {{ cookiecutter.workflow_name }}Job:
    """Check a workflow input's shape and limits; raise ValueError saying what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError(f"input must be a JSON object, got {type(raw).__name__}")
    family = _text(raw, "family")
    if not family:
        raise ValueError("input field 'family' must not be empty")
    parsed = _members(raw)
    fans = _whole(raw, "fans", 0, 0, MAX_FANS)
    limit = _whole(raw, "max_activities_per_run", MAX_ACTIVITIES_PER_RUN, 2, MAX_ACTIVITIES_PER_RUN)
    done = _whole(raw, "done", 0, 0, len(parsed) + fans)
    return {{ cookiecutter.workflow_name }}Job(
        family=family,
        members=parsed,
        fans=fans,
        limit=limit,
        done=done,
    )


def chunk_items(raw: object) -> list[{{ cookiecutter.workflow_name }}]:
    """The items of a child workflow's share: its members, then its fans by number."""
    if not isinstance(raw, dict):
        raise ValueError(f"input must be a JSON object, got {type(raw).__name__}")
    family = _text(raw, "family")
    members = _members(raw)
    first_fan = _whole(raw, "first_fan", 1, 1, MAX_FANS)
    count = _whole(raw, "fans", 0, 0, MAX_ACTIVITIES_PER_RUN - len(members))
    numbers = range(first_fan, first_fan + count)
    fans = [{{ cookiecutter.workflow_name }}.fan(family, number) for number in numbers]
    return members + fans


def _members(raw: Mapping[str, object]) -> list[{{ cookiecutter.workflow_name }}]:
    members = raw.get("members", [])
    if not isinstance(members, list):
        raise ValueError("input field 'members' must be a list")
    parsed = []
    for index, member in enumerate(members):
        try:
            parsed.append({{ cookiecutter.workflow_name }}.from_dict(member))
        except ValueError as error:
            raise ValueError(f"members[{index}]: {error}") from None
    return parsed


def _text(data: Mapping[str, object], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise ValueError(f"missing field {key!r}")
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string, got {type(value).__name__}")
    limit = MAX_TEXT_LENGTH.get(key, MAX_NAME_LENGTH)
    if len(value) > limit:
        raise ValueError(f"field {key!r} is {len(value):,} characters long, over {limit:,}")
    if "\x00" in value:
        raise ValueError(f"field {key!r} holds a NUL character, which PostgreSQL cannot store")
    return value


def _whole(data: Mapping[str, object], key: str, default: int, low: int, high: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"input field {key!r} must be a whole number from {low} to {high}")
    return value
