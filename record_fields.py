"""The ``record_fields`` answer: the record's fields, parsed and checked as data.

A declaration is comma-separated ``name:type``; a ``?`` after the type makes the field
optional, and the word ``key`` after it puts the field in the natural key, for example
``order_id:str key, line:int key, price:decimal, shipped_at:datetime?``.

The pre-generation hook refuses a bad declaration before anything is written; the
template's filters (``local_extensions.py``) render the record, its table and its
examples from the same :func:`parse`. Pure Python, no cookiecutter: the template's
tests import it as well.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

MAX_KEY_FIELDS = 4
# PostgreSQL truncates longer identifiers without a word.
MAX_NAME_LENGTH = 63

# The declared type: its payload (JSON) form in the TypedDict, its Python type in the
# dataclass, and its column type.
TYPES: dict[str, tuple[str, str, str]] = {
    "str": ("str", "str", "TEXT"),
    "int": ("int", "int", "BIGINT"),
    "float": ("float", "float", "DOUBLE PRECISION"),
    "bool": ("bool", "bool", "BOOLEAN"),
    "decimal": ("str", "Decimal", "NUMERIC"),
    "date": ("str", "date", "DATE"),
    "datetime": ("str", "datetime", "TIMESTAMPTZ"),
    "uuid": ("str", "UUID", "UUID"),
    "json": ("dict[str, Any]", "dict[str, Any]", "JSONB"),
    "list[str]": ("list[str]", "list[str]", "TEXT[]"),
    "list[int]": ("list[int]", "list[int]", "BIGINT[]"),
}
# What a key may not be: equality on these is not what a natural key needs (floats
# round, objects and lists compare by their whole content).
NOT_KEY_TYPES = frozenset({"float", "json", "list[str]", "list[int]"})
# Where the dataclass's types come from.
IMPORTS = {"Decimal": "decimal", "date": "datetime", "datetime": "datetime", "UUID": "uuid"}

# Soft keywords too, so one Python does not accept what another refuses.
PYTHON_KEYWORDS = (
    frozenset(keyword.kwlist)
    | frozenset(getattr(keyword, "softkwlist", []))
    | frozenset({"_", "case", "match", "type"})
)
# PostgreSQL's reserved key words, which cannot name a table or column without quoting.
_RESERVED_WORDS = """
all analyse analyze and any array as asc asymmetric authorization binary both case
cast check collate collation column concurrently constraint create cross
current_catalog current_date current_role current_schema current_time
current_timestamp current_user default deferrable desc distinct do else end except
false fetch for foreign freeze from full grant group having ilike in initially inner
intersect into is isnull join lateral leading left like limit localtime
localtimestamp natural not notnull null offset on only or order outer overlaps
placing primary references returning right select session_user similar some
symmetric system_user table tablesample then to trailing true union unique user
using variadic verbose when where window with
"""
SQL_RESERVED = frozenset(_RESERVED_WORDS.split())
# The table's own column, and the record class's own methods.
TAKEN_NAMES = frozenset({"id", "to_dict", "from_dict", "numbered"})

NAME = re.compile(r"[a-z][a-z0-9_]*")
FIELD = re.compile(r"(?P<name>[^:\s]*)\s*:\s*(?P<type>[^\s?]+)(?P<optional>\?)?(?P<rest>.*)")


class DeclarationError(ValueError):
    """A declaration the template cannot bake; the message names the field and the rule."""


@dataclass(frozen=True)
class Field:
    """One declared field."""

    name: str
    type: str
    optional: bool = False
    key: bool = False

    @property
    def json_hint(self) -> str:
        """Its type in the payload's TypedDict."""
        hint = TYPES[self.type][0]
        return f"{hint} | None" if self.optional else hint

    @property
    def python_hint(self) -> str:
        """Its type in the record's dataclass."""
        hint = TYPES[self.type][1]
        return f"{hint} | None" if self.optional else hint

    @property
    def sql_type(self) -> str:
        return TYPES[self.type][2]

    @property
    def spec(self) -> str:
        """The field as the baked ``fields.Fields`` reads it: ``"datetime?"``, ``"str key"``."""
        return self.type + "?" * self.optional + " key" * self.key


def _field(text: str, position: int) -> Field:
    found = FIELD.fullmatch(text.strip())
    if not found:
        raise DeclarationError(
            f"field {position} ({text.strip()!r}) must be written name:type, "
            "then '?' if optional and 'key' if in the natural key"
        )
    name, type_ = found["name"], found["type"]
    problem = _name_problem(name)
    if problem:
        raise DeclarationError(f"field {name!r} {problem}")
    if type_ not in TYPES:
        raise DeclarationError(
            f"field {name!r} has unknown type {type_!r}: use one of {', '.join(TYPES)}"
        )
    rest = found["rest"].split()
    if rest not in ([], ["key"]):
        raise DeclarationError(f"field {name!r}: after its type only 'key' may follow")
    field = Field(name, type_, optional=bool(found["optional"]), key=rest == ["key"])
    if field.key and field.optional:
        raise DeclarationError(f"field {name!r} is in the key, so it cannot be optional")
    if field.key and type_ in NOT_KEY_TYPES:
        raise DeclarationError(f"field {name!r} is a {type_}, which cannot be in the key")
    return field


def _name_problem(name: str) -> str | None:
    if not NAME.fullmatch(name):
        return "must be snake_case: a lowercase letter, then lowercase letters, digits and '_'"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long, over PostgreSQL's {MAX_NAME_LENGTH}"
    if name in PYTHON_KEYWORDS:
        return "is a Python keyword"
    if name in SQL_RESERVED:
        return "is an SQL reserved word"
    if name in TAKEN_NAMES:
        return "is taken by the template (the table's id, the record's own methods)"
    return None


def parse(declaration: str) -> list[Field]:
    """The fields of ``declaration``, in order; DeclarationError says what is wrong."""
    if not declaration.strip():
        raise DeclarationError("declares no field")
    fields = [_field(text, position) for position, text in enumerate(declaration.split(","), 1)]
    seen: set[str] = set()
    for field in fields:
        if field.name in seen:
            raise DeclarationError(f"field {field.name!r} is declared twice")
        seen.add(field.name)
    key = [field for field in fields if field.key]
    if not key:
        raise DeclarationError("has no key: write 'key' after the fields that name a record")
    if len(key) > MAX_KEY_FIELDS:
        raise DeclarationError(f"has {len(key)} key fields, more than {MAX_KEY_FIELDS}")
    if all(field.type == "bool" for field in key):
        raise DeclarationError(
            "has a key of bool fields only, which can name no more than a few records"
        )
    return fields


def problem(declaration: object) -> str | None:
    """Why the hook must refuse ``declaration``, or None."""
    if not isinstance(declaration, str):
        return "must be text"
    try:
        parse(declaration)
    except DeclarationError as error:
        return str(error)
    return None


def imports(fields: list[Field]) -> list[str]:
    """The standard library's ``from module import names`` lines the record needs, sorted."""
    needed: dict[str, set[str]] = {"dataclasses": {"dataclass"}, "typing": {"cast"}}
    for field in fields:
        hint = TYPES[field.type][1]
        if hint in IMPORTS:
            needed.setdefault(IMPORTS[hint], set()).add(hint)
        if "Any" in hint:
            needed["typing"].add("Any")
    return [
        f"from {module} import {', '.join(sorted(names))}"
        for module, names in sorted(needed.items())
    ]


_ES_ENDINGS = ("s", "x", "z", "ch", "sh")
# An upper-case letter that starts a new word: after a lower-case letter or digit
# ("fooBar"), or before a lower-case letter at the end of an acronym ("HTTPServer").
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(camel: str) -> str:
    """``PodcastEpisode`` as ``podcast_episode``, ``HTTPFetch`` as ``http_fetch``."""
    return _WORD_START.sub("_", camel).lower()


def plural_snake(camel: str) -> str:
    """A CamelCase noun's plural in snake_case: MeterReading → meter_readings,
    Category → categories, Address → addresses."""
    words = snake_case(camel)
    if words.endswith(_ES_ENDINGS):
        return words + "es"
    if words.endswith("y") and words[-2:-1] not in ("a", "e", "i", "o", "u"):
        return words[:-1] + "ies"
    return words + "s"


# The defaults' story: the guide's own example, told only by the defaults' record.
STORY_RECORD = "Kardashian"
STORY = [
    ("Kim", "Kardashian"),
    ("Kourtney", "Kardashian"),
    ("Khloé", "Kardashian"),
    ("Kris", "Jenner"),
    ("Kendall", "Jenner"),
    ("Kylie", "Jenner"),
]
EXAMPLE_COUNT = len(STORY)


def example_value(field: Field, number: int) -> object:
    """A plausible payload value of ``field`` for example record ``number`` (1 to 6):
    decimals with trailing zeros, times with an offset other than UTC, a null in the last."""
    if field.optional and number == EXAMPLE_COUNT:
        return None
    words = field.name.replace("_", "-")
    values: dict[str, object] = {
        "str": f"{words}-{number}",
        "int": number if field.key else number * 7,
        "float": number * 1.25,
        "bool": number % 2 == 1,
        "decimal": f"{number * 4}.{number * 25 % 100:02d}",
        "date": f"2026-0{number}-1{number}",
        "datetime": f"2026-0{number}-1{number}T0{number}:30:00.{number}00000+02:00",
        "uuid": f"{number:08x}-0000-4000-8000-{number:012x}",
        "json": {"source": "example", "rank": number},
        "list[str]": [f"tag-{number}", "example"],
        "list[int]": [number, number * 10],
    }
    return values[field.type]


def example_records(fields: list[Field], record_name: str) -> list[dict[str, object]]:
    """The records of the service's example job."""
    if record_name == STORY_RECORD and [f.name for f in fields] == ["name", "surname"]:
        return [{"name": name, "surname": surname} for name, surname in STORY]
    return [
        {field.name: example_value(field, number) for field in fields}
        for number in range(1, EXAMPLE_COUNT + 1)
    ]
