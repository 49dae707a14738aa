"""Jinja extensions named in cookiecutter.json: a filter that derives defaults from
earlier answers, a filter that checks the project's directory name before cookiecutter
creates it, a sandbox for rendering the answers themselves, the template's own path
for the hooks, and base64 for the payloads of recorded histories."""

from __future__ import annotations

import base64
import csv
import importlib.util
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

from cookiecutter.exceptions import FailedHookException
from cookiecutter.utils import simple_filter
from jinja2 import Environment
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment, safe_range


def _sibling(name: str) -> Any:
    """A module beside this file, loaded by path: the ``workflow/`` sub-template loads
    this file from another directory, where a plain import would not find it."""
    path = Path(__file__).resolve().with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_template_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


fields_of = _sibling("record_fields")
schedule_of = _sibling("schedule_answer")


@simple_filter
def snake_case(value: str) -> str:
    """Turn ``PodcastEpisode`` into ``podcast_episode`` and ``HTTPFetch`` into ``http_fetch``."""
    return str(fields_of.snake_case(value))


# The rule for project_slug, the one answer that names a directory. It lives here,
# not in the pre-generation hook, because cookiecutter creates the directory before
# any hook runs: `a/b` would leave an empty `a` behind. cookiecutter.json applies it
# in the private variable __slug_checked, which is rendered with the answers, before
# any directory exists.
SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
SLUG_RULE = (
    "must be lowercase letters and digits in words joined by single '-', starting with a letter"
)
MAX_SLUG_LENGTH = 64


@simple_filter
def checked_slug(slug: str) -> str:
    """``slug`` itself, or a refusal before anything is created.

    The error names the variable and the rule, like the hook's.
    """
    broken = [] if SLUG.fullmatch(slug) else [SLUG_RULE]
    if len(slug) > MAX_SLUG_LENGTH:
        broken.append(f"must be at most {MAX_SLUG_LENGTH} characters long")
    if not slug:
        broken.append("project_name gave no letters or digits to derive it from: set project_slug")
    if broken:
        raise FailedHookException(f"ERROR: project_slug={slug!r} is invalid: {'; '.join(broken)}")
    return slug


class SandboxedAnswers(Extension):
    """Render every answer in Jinja's sandbox.

    Cookiecutter renders each answer as a template before any hook sees it, in a
    plain Jinja environment, where ``{{ cycler.__init__.__globals__.os }}`` reaches
    the operating system. Loaded as an extension, this turns that environment into
    a sandboxed one: answers may still use filters and arithmetic, but an attempt
    to reach internals raises SecurityError and the bake stops with nothing written.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if isinstance(environment, SandboxedEnvironment):
            return
        base = type(environment)
        environment.__class__ = type(f"Sandboxed{base.__name__}", (SandboxedEnvironment, base), {})
        # What SandboxedEnvironment.__init__ would have set up.
        sandbox: Any = environment
        sandbox.globals["range"] = safe_range
        sandbox.binop_table = SandboxedEnvironment.default_binop_table.copy()
        sandbox.unop_table = SandboxedEnvironment.default_unop_table.copy()


class TemplateDirectory(Extension):
    """Adds ``template_directory()``: the template's absolute path, for the hooks.

    Cookiecutter records the template as given (``.`` for ``cookiecutter .``) and runs
    each hook from the new project's directory, where that path no longer points at
    the template. It renders each hook inside the template's directory, though
    (``cookiecutter.hooks.run_hook_from_repo_dir``), so the current directory at that
    moment is the one the hooks need.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_directory"] = lambda: str(Path.cwd())


@simple_filter
def b64encode(text: str) -> str:
    """``text`` as base64 of its UTF-8: a payload's data in a recorded history."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@simple_filter
def record_fields(declaration: str) -> list[Any]:
    """The declared fields, for the templates to loop over; the hook refused a bad one."""
    try:
        return list(fields_of.parse(declaration))
    except fields_of.DeclarationError as error:
        message = f"ERROR: record_fields={declaration!r} is invalid: {error}"
        raise FailedHookException(message) from None


@simple_filter
def record_imports(fields: list[Any]) -> list[str]:
    """The import lines the record's dataclass needs for its fields' types."""
    return list(fields_of.imports(fields))


@simple_filter
def plural_snake(camel: str) -> str:
    """The default table name: a record's plural in snake_case (Category → categories)."""
    return str(fields_of.plural_snake(camel))


@simple_filter
def example_job(declaration: str, record_name: str, large: bool = False) -> str:
    """The example job's JSON: six plausible records, one a line; ``large`` adds a million
    numbered stand-ins."""
    records = fields_of.example_records(fields_of.parse(declaration), record_name)
    lines = ",\n".join(f"    {json.dumps(record, ensure_ascii=False)}" for record in records)
    text = f'{{\n  "records": [\n{lines}\n  ]'
    if large:
        text += ',\n  "key_range": {"first": 1, "count": 1000000}'
    return text + "\n}\n"


@simple_filter
def example_csv(declaration: str, record_name: str) -> str:
    """The example job's records as the CSV a team's export would be, for ``load``: a header
    of the field names, then a record a row; a list or json field as JSON text, an absent
    optional value as an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = fields_of.parse(declaration)
    writer.writerow([field.name for field in fields])
    for record in fields_of.example_records(fields, record_name):
        writer.writerow([_cell(value) for value in record.values()])
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@simple_filter
def wrapped(names: list[str], indent: int, width: int = 88) -> str:
    """``names`` joined by ", ", broken into lines of at most ``width`` after ``indent`` spaces."""
    lines = [""]
    for name in names:
        if lines[-1] and indent + len(lines[-1]) + len(name) + 2 > width:
            lines[-1] += ","
            lines.append("")
        lines[-1] += (", " if lines[-1] else "") + name
    return f"\n{' ' * indent}".join(lines)


@simple_filter
def schedule_keywords(answer: str) -> str:
    """The example ScheduledJob's ``every=`` or ``cron=``; empty for ``none``."""
    problem = schedule_of.problem(answer)
    if problem:
        raise FailedHookException(f"ERROR: schedule={answer!r} is invalid: {problem}")
    return str(schedule_of.keywords(answer))


def _python(value: object) -> str:
    """``value``, plain JSON, as the Python literal ruff would format it."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_python(k)}: {_python(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_python(item) for item in value) + "]"
    if isinstance(value, bool) or value is None:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


@simple_filter
def python_records(declaration: str, record_name: str, indent: int) -> str:
    """The example job's records as Python, one a line at ``indent`` spaces, or one field
    a line when a record is longer than the 100-column style allows."""
    records = fields_of.example_records(fields_of.parse(declaration), record_name)
    pad, lines = " " * indent, []
    for record in records:
        line = f"{pad}{_python(record)},"
        if len(line) <= 100:
            lines.append(line)
            continue
        lines.append(f"{pad}{{")
        lines += [f"{pad}    {_python(name)}: {_python(value)}," for name, value in record.items()]
        lines.append(f"{pad}}},")
    return "\n".join(lines)
