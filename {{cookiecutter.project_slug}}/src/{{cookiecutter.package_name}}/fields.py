"""A record's fields, as its module declares them: checked where they enter, JSON where they travel.

A record class lists its fields once, as :class:`Fields`, in the words of the
template's ``record_fields`` answer: ``Fields(order_id="str key", price="decimal",
shipped_at="datetime?")``. From that one list come its ``to_dict``/``from_dict``,
its numbered stand-ins and its database row. Payloads carry JSON types only:

* ``decimal`` travels as text, digits and all (``"12.50"`` stays ``12.50``);
* ``date`` as ``YYYY-MM-DD``; ``datetime`` as ISO 8601 with an offset, written in UTC
  (a naive time is refused: it names no instant);
* ``uuid`` as its canonical text; ``json`` as an object; lists as lists.

A bad value raises :class:`FieldError`, a ValueError that names the field and says what
was expected: ``price: 'twelve' is not a decimal``. Pure Python, so workflow code may
use it inside the sandbox.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

# A key's text is in the unique index, whose entries PostgreSQL caps at about 2,700
# bytes; schema.sql repeats the limit as a CHECK constraint.
MAX_KEY_TEXT_LENGTH = 200
BIGINT = range(-(2**63), 2**63)
NUMERIC_DIGITS, NUMERIC_SCALE = 131_072, 16_383
# Numbered stand-ins count days and seconds from here.
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FieldError(ValueError):
    """A value that does not fit its field: ``"<field>: <what is wrong>"``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def _stored_text(value: str) -> str:
    """``value`` if PostgreSQL can store it as text: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise ValueError("holds a NUL character, which PostgreSQL cannot store")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds a lone surrogate (\\ud800 to \\udfff), which is no text") from None
    return value


def _text(value: Any, key: bool) -> str:
    _stored_text(value)
    if key and not value:
        raise ValueError("must not be empty: it is part of the key")
    if key and len(value) > MAX_KEY_TEXT_LENGTH:
        raise ValueError(f"is {len(value):,} characters long, over {MAX_KEY_TEXT_LENGTH}")
    return str(value)


def _bigint(value: Any) -> int:
    if value not in BIGINT:
        raise ValueError(f"{value} is out of range for a BIGINT column")
    return int(value)


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a decimal")
    # PostgreSQL's numeric holds up to 131,072 digits before the point and 16,383 after.
    digits_after = -int(number.as_tuple().exponent)
    if (number and number.adjusted() >= NUMERIC_DIGITS) or digits_after > NUMERIC_SCALE:
        raise ValueError("is past the range of PostgreSQL's numeric")
    return number


def _float(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _json(value: Any) -> dict[str, Any]:
    """``value`` if jsonb can store it: no NaN or infinity, no NUL or lone surrogate in
    any text, keys included."""
    place = _unstorable_json(value, "")
    if place is not None:
        where, why = place
        raise ValueError(f"{where.lstrip('.')} {why}".lstrip())
    return dict(value)


def _unstorable_json(value: Any, path: str) -> tuple[str, str] | None:
    """Where in ``value`` jsonb would refuse it, and why; None if nowhere."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, "holds NaN or infinity, which JSON has no number for"
    if isinstance(value, str):
        try:
            _stored_text(value)
        except ValueError as error:
            return path, str(error)
    items: Any = ()
    if isinstance(value, dict):
        # A key that cannot be printed (a NUL, a lone surrogate) is shown escaped.
        items = (
            (f"{path}.{key}" if key.isprintable() else f"{path}[{key!r}]", key, item)
            for key, item in value.items()
        )
    elif isinstance(value, list):
        items = ((f"{path}[{index}]", "", item) for index, item in enumerate(value))
    for where, key, item in items:
        found = _unstorable_json(key, where) or _unstorable_json(item, where)
        if found:
            return found
    return None


def _date(value: Any) -> date:
    try:
        if ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def _datetime(value: Any) -> datetime:
    try:
        # Python 3.10's parser does not read the "Z" that many clients write.
        moment = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", value))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date and time") from None
    if moment.utcoffset() is None:
        raise ValueError(f"{value!r} has no UTC offset: a naive time names no instant")
    try:
        # Stored in UTC, and read back as Python's datetime, which ends at years 1 and 9999.
        moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{value!r} is before year 1 or after 9999 in UTC") from None
    return moment


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID") from None


# How each declared type enters from a payload value whose JSON type the payload
# converter has already checked, and how it is written back into one.
_LOAD: dict[str, Callable[[Any], Any]] = {
    "int": _bigint,
    "float": _float,
    "bool": bool,
    "decimal": _decimal,
    "date": _date,
    "datetime": _datetime,
    "uuid": _uuid,
    "json": _json,
    "list[str]": lambda items: [_stored_text(item) for item in items],
    "list[int]": lambda items: [_bigint(item) for item in items],
}
_DUMP: dict[str, Callable[[Any], Any]] = {
    "decimal": lambda number: format(number, "f"),  # 1E+3 is written 1000
    "date": date.isoformat,
    "datetime": lambda moment: moment.astimezone(timezone.utc).isoformat(),
    "uuid": str,
    "json": dict,
    "list[str]": list,
    "list[int]": list,
}


def _days_and_seconds(number: int, unique: bool) -> tuple[int, int]:
    # Within what date and datetime hold, but for the key's own counting field.
    return (number, number) if unique else (number % 36_525, number % 10**9)


_MICROSECOND = timedelta(microseconds=1)
# A valid value of each type for stand-in record ``number`` of field ``name``; ``unique``
# values differ for every number (the key's counting field), the others only look the
# part. Built once: ``make bench`` makes millions of them.
_NUMBERED: dict[str, Callable[[str, int, bool], Any]] = {
    "str": lambda name, number, unique: f"{number:010d}" if unique else f"{name} {number}",
    "int": lambda name, number, unique: number,
    "float": lambda name, number, unique: number / 4,
    "bool": lambda name, number, unique: number % 2 == 0,
    "decimal": lambda name, number, unique: Decimal(number).scaleb(-2),
    "date": lambda name, number, unique: (
        EPOCH + timedelta(days=_days_and_seconds(number, unique)[0])
    ).date(),
    "datetime": lambda name, number, unique: (
        EPOCH
        + timedelta(seconds=_days_and_seconds(number, unique)[1])
        + _MICROSECOND * (number % 10**6)
    ),
    "uuid": lambda name, number, unique: uuid.UUID(int=number),
    "json": lambda name, number, unique: {"number": number},
    "list[str]": lambda name, number, unique: [f"{name} {number}"],
    "list[int]": lambda name, number, unique: [number, -number],
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    optional: bool
    key: bool

    def load(self, value: Any) -> Any:
        if value is None and self.optional:
            return None
        try:
            if self.type == "str":
                return _text(value, self.key)
            return _LOAD[self.type](value)
        except (ValueError, TypeError, OverflowError) as error:
            raise FieldError(self.name, str(error)) from None

    def dump(self, value: Any) -> Any:
        if value is None:
            return None
        return _DUMP.get(self.type, lambda same: same)(value)


class Fields:
    """A record's fields in their declared order, each as ``name="type[?][ key]"``."""

    def __init__(self, **declared: str) -> None:
        self.all = [_field(name, spec) for name, spec in declared.items()]
        self.names = [field.name for field in self.all]
        self.key = [field.name for field in self.all if field.key]
        # The key field whose value tells numbered stand-ins apart.
        self._counting = next(f.name for f in self.all if f.key and f.type != "bool")

    def of_type(self, *types: str) -> list[str]:
        """The names of the fields of these declared types."""
        return [field.name for field in self.all if field.type in types]

    def load(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A payload's values as the record's Python values; FieldError names a bad one."""
        return {field.name: field.load(data.get(field.name)) for field in self.all}

    def dump(self, record: object) -> dict[str, Any]:
        """A record's values as its payload, JSON types only."""
        return {field.name: field.dump(getattr(record, field.name)) for field in self.all}

    def numbered(self, number: int) -> dict[str, Any]:
        """Values for stand-in record ``number``: valid for every field, unique in the key.
        Optional fields are null in every fourth."""
        values: dict[str, Any] = {}
        for field in self.all:
            if field.optional and number % 4 == 0:
                values[field.name] = None
                continue
            try:
                value = _NUMBERED[field.type](field.name, number, field.name == self._counting)
            except OverflowError:
                raise FieldError(field.name, f"stand-in {number:,} is out of range") from None
            values[field.name] = field.load(field.dump(value))  # checked as any value is
        return values

    def row(self, record: object, json: Callable[[Any], Any]) -> dict[str, Any]:
        """A record's values as query parameters; ``json`` wraps objects (psycopg's Jsonb)."""
        values = {name: getattr(record, name) for name in self.names}
        for name in self.of_type("json"):
            if values[name] is not None:
                values[name] = json(values[name])
        return values


def _field(name: str, spec: str) -> Field:
    words = spec.split()
    type_ = words[0].removesuffix("?")
    if (type_ not in _LOAD and type_ != "str") or words[1:] not in ([], ["key"]):
        raise ValueError(f"field {name}: {spec!r} is not 'type[?][ key]'")
    return Field(name, type_, optional=words[0].endswith("?"), key=words[1:] == ["key"])
