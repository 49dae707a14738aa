"""The ``schedule`` answer: when the baked module's example Schedule runs, if ever.

``none``; ``every 90m`` (a whole number of ``s``, ``m``, ``h`` or ``d``); or a cron
expression read in UTC (``0 6 * * *``, ``@daily``). The pre-generation hook refuses a
bad one and the template's filters render a good one. A cron expression is checked
by the baked service's own checker (``temporal/cron.py``), found by path, so the bake
and ``schedules apply`` agree on what is valid.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

EVERY = re.compile(r"every\s+(?P<count>[1-9][0-9]*)\s*(?P<unit>[smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
CRON_PATH = "{{cookiecutter.project_slug}}/src/{{cookiecutter.package_name}}/temporal/cron.py"


def _cron() -> ModuleType:
    spec = importlib.util.spec_from_file_location("baked_cron", Path(__file__).parent / CRON_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def problem(answer: object) -> str | None:
    """What is wrong with ``answer``, or None."""
    if not isinstance(answer, str):
        return "must be text"
    text = answer.strip()
    if text == "none" or EVERY.fullmatch(text):
        return None
    if text.startswith("every"):
        return "an interval is written 'every N' and a unit, s, m, h or d: 'every 90m'"
    said: str | None = _cron().cron_problem(text)
    return None if said is None else f"is not 'none', 'every N<unit>' or a cron expression: {said}"


def keywords(answer: str) -> str:
    """The ScheduledJob arguments for a valid answer: ``every=timedelta(minutes=90)`` or
    ``cron="0 6 * * *"``; empty for ``none``."""
    text = answer.strip()
    found = EVERY.fullmatch(text)
    if found:
        return f"every=timedelta({UNITS[found['unit']]}={found['count']})"
    return "" if text == "none" else f'cron="{text}"'
