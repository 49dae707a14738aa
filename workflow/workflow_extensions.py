"""Jinja extensions of the ``workflow/`` sub-template, named in its cookiecutter.json.

``service('name')`` reads an answer the service was baked with from its ``.cruft.json``,
so the person adding a workflow types only the new names. The hooks import this module
too, for the service's answers and the list of a module's files. The filters and the sandbox
are the main template's own, loaded from ``../local_extensions.py`` under another
module name: both templates may run in one process, and each must find its own.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from cookiecutter.exceptions import FailedHookException
from cookiecutter.utils import simple_filter
from jinja2 import Environment
from jinja2.ext import Extension

SERVICE_FILE = ".cruft.json"


def module_files(package: str, module: str) -> list[str]:
    """The paths, relative to a service's root, that belong to one workflow module:
    what the pre-generation hook refuses to overwrite and the post-generation hook moves."""
    return [
        f"src/{package}/{module}",
        f"examples/{module}.json",
        f"examples/{module}.csv",
        f"examples/{module}_large.json",
        f"tests/modules/test_{module}.py",
        f"tests/histories/{module}_small.json",
        f"tests/histories/{module}_fan_out.json",
    ]


def _main_template_extensions() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "local_extensions.py"
    spec = importlib.util.spec_from_file_location("_main_template_extensions", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_MAIN = _main_template_extensions()
snake_case = _MAIN.snake_case
plural_snake = _MAIN.plural_snake
SandboxedAnswers = _MAIN.SandboxedAnswers
TemplateDirectory = _MAIN.TemplateDirectory

# The staging directory's name comes from workflow_module, and cookiecutter creates
# it before any hook runs: refuse anything but a plain identifier here, so that
# `a/../b` never becomes a path. The full rules run in the pre-generation hook.
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


@simple_filter
def staging_directory(module: str) -> str:
    """Where the hooks bake the new module before moving it into the service."""
    if not _IDENTIFIER.fullmatch(module):
        raise FailedHookException(
            f"ERROR: workflow_module={module!r} is invalid: must start with a lowercase "
            "letter and hold only lowercase letters, digits and '_'"
        )
    return f".new-workflow-{module}"


def service_answers(directory: Path) -> dict[str, Any]:
    """The answers the service in ``directory`` was baked with, or a refusal that says why."""
    path = directory / SERVICE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        answers = state["context"]["cookiecutter"]
    except FileNotFoundError:
        raise FailedHookException(
            f"ERROR: no {SERVICE_FILE} in {directory}: run this from the root of a service "
            "baked from this template"
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise FailedHookException(f"ERROR: {path} holds no baked answers: {error!r}") from None
    if not isinstance(answers, dict):
        raise FailedHookException(f"ERROR: {path} holds no baked answers")
    return answers


class ServiceAnswers(Extension):
    """Adds ``service(name)``: an answer of the service being grown, read from its files."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)

        def service(name: str) -> str:
            value = service_answers(Path.cwd()).get(name)
            if not isinstance(value, str):
                raise FailedHookException(f"ERROR: {SERVICE_FILE} has no answer {name!r}")
            return value

        environment.globals["service"] = service
