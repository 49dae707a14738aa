"""A CSV cell or a JSON Lines value as a field's Python value, checked as ``from_dict`` checks.

A record's payload carries JSON types; a CSV carries text. Each cell is first read as
the JSON value a payload would hold (``"12"`` as the whole number 12, ``"true"`` as
true, a list or json field's JSON text as the list or object), then handed to the
field's own check (:meth:`Field.load`), so a value refused in a job is refused in a
file, with the same words. A JSON Lines value has its JSON type checked as the payload
converter checks a job's: 1.5 is no whole number, and a number is no text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..fields import Field, FieldError, Fields

Converter = Callable[[Any], Any]
"""From a CSV row's cells, or a JSON line's object, to one field's value."""

WHOLE = re.compile(r"[+-]?\d+")
TRUE, FALSE = {"true", "t"}, {"false", "f"}
# What a payload holds for each declared type, as the payload converter checks it.
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "decimal": (str,),
    "date": (str,),
    "datetime": (str,),
    "uuid": (str,),
    "json": (dict,),
    "list[str]": (list,),
    "list[int]": (list,),
}
NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
         dict: "an object", list: "a list"}  # fmt: skip


class HeaderMismatchError(ValueError):
    """A CSV header that does not name the record's fields."""


def _from_text(field: Field, cell: str) -> Any:
    """The JSON value a payload would hold for this cell."""
    if field.type == "str":
        return cell
    if field.type == "int":
        if not WHOLE.fullmatch(cell.strip()):
            raise FieldError(field.name, f"{cell!r} is not a whole number")
        return int(cell)
    if field.type == "float":
        try:
            number = float(cell)
        except ValueError:
            raise FieldError(field.name, f"{cell!r} is not a number") from None
        if not math.isfinite(number):
            raise FieldError(field.name, f"{cell!r} is not a finite number")
        return number
    if field.type == "bool":
        word = cell.strip().lower()
        if word not in TRUE | FALSE:
            raise FieldError(field.name, f"{cell!r} is not true or false")
        return word in TRUE
    if field.type in ("json", "list[str]", "list[int]"):
        try:
            return json.loads(cell)
        except json.JSONDecodeError:
            raise FieldError(field.name, "is not JSON text") from None
    return cell


def _json_typed(field: Field, value: Any) -> Any:
    """``value`` if its JSON type is the field's, as the payload converter would find it."""
    expected = JSON_TYPES[field.type]
    items: Any = value  # what isinstance below narrows to object
    if isinstance(value, bool) and bool not in expected:
        raise FieldError(field.name, f"must be {NAMES[expected[-1]]}, got true or false")
    if not isinstance(value, expected):
        raise FieldError(field.name, f"must be {NAMES[expected[-1]]}")
    if field.type == "list[str]" and not all(isinstance(item, str) for item in items):
        raise FieldError(field.name, "must be a list of text")
    if field.type == "list[int]" and not all(
        isinstance(item, int) and not isinstance(item, bool) for item in items
    ):
        raise FieldError(field.name, "must be a list of whole numbers")
    if field.type == "float" and not math.isfinite(items):
        raise FieldError(field.name, "must be a finite number")
    return field.load(value)


def _csv_cell(field: Field, index: int) -> Converter:
    if field.type == "str":
        # A cell is text already: the field's own check is all there is to do, and the
        # shortest way matters, a call a cell (a million rows of ten fields).
        load = field.load

        def text(cells: Sequence[str]) -> Any:
            cell = cells[index]
            return None if cell == "" and field.optional else load(cell)

        return text

    def convert(cells: Sequence[str]) -> Any:
        cell = cells[index]
        if cell == "" and field.optional:
            return None
        return _json_typed(field, _from_text(field, cell))

    return convert


def _absent(field: Field) -> Converter:
    return lambda _: None


def csv_cell(value: Any) -> str:
    """A payload value as the CSV cell a file holds it in: what the converters read back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def csv_converters(fields: Fields, header: Sequence[str]) -> list[Converter]:
    """One converter per field, in the fields' order, reading the column the header names.

    The header must name every field that is not optional, and nothing else.
    """
    unknown = [column for column in header if column not in fields.names]
    twice = sorted({column for column in header if header.count(column) > 1})
    missing = [f.name for f in fields.all if not f.optional and f.name not in header]
    problems = []
    if missing:
        problems.append(f"lacks {', '.join(missing)}")
    if unknown:
        problems.append(f"names no field {', '.join(map(repr, unknown))}")
    if twice:
        problems.append(f"names {', '.join(twice)} twice")
    if problems:
        raise HeaderMismatchError(
            f"the CSV header {'; '.join(problems)}: it must name the fields "
            f"{', '.join(fields.names)} (optional ones may be left out)"
        )
    by_column = {column: index for index, column in enumerate(header)}
    # Converters in the header's order would read the cells in turn; the fields' order
    # is the staging table's, so each converter picks its cell by index.
    return [
        _csv_cell(f, by_column[f.name]) if f.name in by_column else _absent(f) for f in fields.all
    ]


def json_converters(fields: Fields) -> list[Converter]:
    """One converter per field, reading it from a JSON line's object."""

    def reader(field: Field) -> Converter:
        def convert(data: dict[str, Any]) -> Any:
            if field.name not in data:
                if field.optional:
                    return None
                raise FieldError(field.name, "is missing")
            value = data[field.name]
            if value is None:
                if field.optional:
                    return None
                raise FieldError(field.name, "must not be null")
            return _json_typed(field, value)

        return convert

    return [reader(field) for field in fields.all]
