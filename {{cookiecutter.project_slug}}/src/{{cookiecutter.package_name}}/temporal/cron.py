"""Cron expressions as Temporal Schedules read them, checked before any reaches the server.

``schedules apply`` checks every declaration before it changes anything, so a typo in
one schedule cannot leave the others half applied. This accepts the five-field form
(``minute hour day-of-month month day-of-week``) and the ``@hourly``-style names;
each field is ``*``, a number or name, a range ``a-b``, a step ``/n`` after either,
or a comma-separated list of those. The server reads more (six and seven fields,
``@every``); a schedule that needs them can say ``every=`` instead.
"""

from __future__ import annotations

import re

NAMED = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# Each field's name, its smallest and largest value, and the names it accepts.
FIELDS: tuple[tuple[str, int, int, list[str]], ...] = (
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 6, DAYS),
)
PART = re.compile(r"(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>[0-9]+))?")


def cron_problem(expression: str) -> str | None:
    """What is wrong with ``expression``, in words, or None if the server can read it."""
    text = expression.strip().lower()
    if text.startswith("@"):
        return None if text in NAMED else f"{expression!r} is not one of {', '.join(NAMED)}"
    fields = text.split()
    if len(fields) != len(FIELDS):
        return (
            f"{expression!r} has {len(fields)} fields, not 5 "
            "(minute hour day-of-month month day-of-week)"
        )
    for value, (name, low, high, names) in zip(fields, FIELDS, strict=True):
        for part in value.split(","):
            problem = _part_problem(part, low, high, names)
            if problem:
                return f"{expression!r}: {name} {part!r} {problem}"
    return None


def _part_problem(part: str, low: int, high: int, names: list[str]) -> str | None:
    found = PART.fullmatch(part)
    if not found:
        return "is not *, a value, a range or a step"
    if found["step"] is not None and int(found["step"]) == 0:
        return "has a step of 0"
    if found["range"] == "*":
        return None
    ends = found["range"].split("-")
    numbers = [_number(end, low, names) for end in ends]
    bounds = [number for number in numbers if number is not None and low <= number <= high]
    if len(bounds) < len(ends):
        return f"is outside {low} to {high}"
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        return "is a range that ends before it starts"
    return None


def _number(text: str, low: int, names: list[str]) -> int | None:
    """A field's value, written as a number or a name (the first name is ``low``)."""
    if text.isdigit():
        return int(text)
    return names.index(text) + low if text in names else None
