"""The record this workflow upserts. To make the service yours, start here.

A record travels between client, workflow and activities as plain JSON, the
TypedDict below, which the service's payload converter checks field by field. In
code it is used as the dataclass below, which checks what a type cannot say.
Its ``key`` is the natural key: the table's unique key, which makes every upsert
idempotent. Pure Python: workflow code may import it inside the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

# The key is in the unique index, whose entries PostgreSQL caps at about 2,700
# bytes; schema.sql repeats both limits as CHECK constraints.
MAX_KEY_LENGTH = 200
MAX_VALUE_LENGTH = 2000


class {{ cookiecutter.workflow_name }}RecordDict(TypedDict):
    """One record as it travels in payloads."""

    key: str
    value: str


@dataclass(frozen=True)
class {{ cookiecutter.workflow_name }}Record:
    """One record: ``key`` names it, ``value`` is its data."""

    key: str
    value: str

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("key must not be empty")
        if len(self.key) > MAX_KEY_LENGTH:
            raise ValueError(f"key is {len(self.key):,} characters long, over {MAX_KEY_LENGTH}")
        if len(self.value) > MAX_VALUE_LENGTH:
            raise ValueError(
                f"value is {len(self.value):,} characters long, over {MAX_VALUE_LENGTH:,}"
            )

    def to_dict(self) -> {{ cookiecutter.workflow_name }}RecordDict:
        return {"key": self.key, "value": self.value}

    @classmethod
    def from_dict(
        cls,
        data: {{ cookiecutter.workflow_name }}RecordDict,
    ) -> {{ cookiecutter.workflow_name }}Record:
        """Build from a payload (the converter checked its shape); ValueError names a bad value."""
        return cls(key=data["key"], value=data["value"])

    @classmethod
    def numbered(
        cls,
        number: int,
    ) -> {{ cookiecutter.workflow_name }}Record:
        """Record ``number`` of a job's ``key_range``, made from the number alone.

        Stands for work that lives outside the payload: in your service the number
        would be the id of a row (a URL to fetch, say) that the activity reads.
        """
        return cls(key=f"{number:010d}", value=f"record {number}")
