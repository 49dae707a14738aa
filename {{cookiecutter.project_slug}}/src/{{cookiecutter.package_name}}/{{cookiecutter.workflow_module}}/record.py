{%- set fields = cookiecutter.record_fields | record_fields -%}
{%- set record = cookiecutter.record_name -%}
"""The record this workflow upserts, as declared when the service was baked:

    {{ cookiecutter.record_fields | wordwrap(80, wrapstring="\n    ") }}

To make the service yours, start here. A record travels between client, workflow and
activities as plain JSON, the TypedDict below (``...Dict``), whose shape the service's
payload converter checks. In code it is the dataclass below, with real Python types;
``from_dict`` checks each value where it enters and names the field that is wrong. Its
key fields are the table's unique key, which makes every upsert idempotent. Pure
Python: workflow code may import it inside the sandbox.
"""

from __future__ import annotations

{% for line in fields | record_imports -%}
{{ line }}
{% endfor %}
# pydantic, which checks payloads (temporal/shapes.py), reads this TypedDict on Python 3.10.
from typing_extensions import TypedDict

from ..fields import Fields

# Each field in the words of the service's record_fields answer (see fields.py): the
# dataclass, the TypedDict, schema.sql and the upsert in workflow.py list the same.
FIELDS = Fields(
{%- for field in fields %}
    {{ field.name }}="{{ field.spec }}",
{%- endfor %}
)


class {{ record }}Dict(TypedDict):
    """One record as it travels in payloads: JSON types only."""
{% for field in fields %}
    {{ field.name }}: {{ field.json_hint }}
{%- endfor %}


@dataclass(frozen=True)
class {{ record }}:
    """One record, with the Python types of its fields."""
{% for field in fields %}
    {{ field.name }}: {{ field.python_hint }}
{%- endfor %}

    def to_dict(
        self,
    ) -> {{ record }}Dict:
        return cast({{ record }}Dict, FIELDS.dump(self))

    @classmethod
    def from_dict(
        cls,
        data: {{ record }}Dict,
    ) -> {{ record }}:
        """Build from a payload; FieldError, a ValueError, names a value that does not fit."""
        return cls(**FIELDS.load(data))

    @classmethod
    def numbered(
        cls,
        number: int,
    ) -> {{ record }}:
        """Stand-in record ``number`` of a job's ``key_range``, made from the number alone.

        For the benchmark and the large example, where the items live outside the
        payload; in your service the number would be the id of a row (a URL to fetch,
        say) that the activity reads. NUMBERED_RECORDS=off refuses them.
        """
        return cls(**FIELDS.numbered(number))
