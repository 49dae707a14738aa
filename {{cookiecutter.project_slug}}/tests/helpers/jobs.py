"""The module under test's example jobs and records, as the tests build them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..module_under_test import FIELDS, MODULE, Record

PACKAGE = "{{ cookiecutter.package_name }}"
PROJECT_ROOT = Path(__file__).parents[2]
MODULE_NAME = MODULE.package.rsplit(".", 1)[-1]
EXAMPLE = PROJECT_ROOT / "examples" / f"{MODULE_NAME}.json"
LARGE_EXAMPLE = PROJECT_ROOT / "examples" / f"{MODULE_NAME}_large.json"
# The record's fields, in order: the table has one column of the same name for each.
FIELD_NAMES = FIELDS.names
TEXT_FIELDS = FIELDS.of_type("str")


def example_input(path: Path = EXAMPLE) -> Any:
    """An input the service ships in examples/, as any client reads it."""
    return json.loads(path.read_text(encoding="utf-8"))


def records(*numbers: int) -> list[Any]:
    """Valid records in payload form, made by the module itself."""
    return [Record.numbered(number).to_dict() for number in numbers]


def job_over(size: int) -> dict[str, Any]:
    """A valid job of numbered records whose JSON is just over ``size`` bytes, written
    as compactly as the SDK writes a payload."""
    compact = (",", ":")
    job: dict[str, Any] = {"records": []}
    written = len(json.dumps(job, separators=compact)) - 1  # a comma before each record
    while written <= size:
        [record] = records(len(job["records"]) + 1)
        job["records"].append(record)
        written += len(json.dumps(record, separators=compact)) + 1
    return job
