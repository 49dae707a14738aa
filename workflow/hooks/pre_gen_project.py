"""Refuse a new workflow module that the service cannot take, before anything is written.

Cookiecutter runs this in the staging directory it just made inside the service. The
new names are checked twice: against the service (a module, workflow or table it
already has), then by baking the main template with the service's own answers and the
new names, which runs the main template's rules, unchanged. That bake stays in the
staging directory for the post-generation hook to move into place; on any refusal
cookiecutter deletes the staging directory, so the service is left as it was.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

# The only place Jinja touches this file: the answers as JSON data, never as code.
CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""
# This sub-template's folder, `workflow/` in the main template; in a JSON list so that
# the path's closing quote never meets the literal's own.
SUBTEMPLATE_DIR_JSON = r"""[{{ template_directory() | tojson }}]"""

SERVICE_ANSWERS = ("project_name", "project_slug", "package_name")
NEW_ANSWERS = (
    "workflow_name",
    "workflow_module",
    "task_queue",
    "record_name",
    "record_fields",
    "table_name",
    "schedule",
)
ASSIGNMENT = r'^{name} = "(?P<value>[^"]*)"$'


def assigned(path: Path, name: str) -> str | None:
    """The string a module assigns to ``name`` at the top level, e.g. WORKFLOW_TYPE."""
    if not path.is_file():
        return None
    found = re.search(ASSIGNMENT.format(name=name), path.read_text(encoding="utf-8"), re.M)
    return found["value"] if found else None


def listed_modules(registry: Path) -> list[str]:
    """The dotted names in the registry's WORKFLOW_MODULES list."""
    for node in ast.walk(ast.parse(registry.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "WORKFLOW_MODULES"
            for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return value
    raise ValueError(f"{registry} has no WORKFLOW_MODULES list of module names")


def clashes(service: Path, answers: dict[str, str], own_files: list[str]) -> list[str]:
    """One error line for each new name the service already uses, and each of the new
    module's files (``own_files``, relative to the service) that already exists."""
    package, module = answers["package_name"], answers["workflow_module"]
    workflow_type = f"{answers['workflow_name']}Workflow"
    source = service / "src" / package
    try:
        listed = listed_modules(source / "registry.py")
    except (OSError, SyntaxError, ValueError) as error:
        return [f"ERROR: cannot read the service's registry: {error}"]
    lines = []
    if f"{package}.{module}" in listed:
        lines.append(f"ERROR: workflow_module={module!r} clashes: the registry lists it")
    for dotted in listed:
        folder = service / "src" / Path(*dotted.split("."))
        if assigned(folder / "workflow_interface.py", "WORKFLOW_TYPE") == workflow_type:
            lines.append(
                f"ERROR: workflow_name={answers['workflow_name']!r} clashes: {dotted} "
                f"already defines {workflow_type}"
            )
        if assigned(folder / "workflow.py", "TABLE_NAME") == answers["table_name"]:
            lines.append(
                f"ERROR: table_name={answers['table_name']!r} clashes: {dotted} already "
                "upserts into it"
            )
    for path in own_files:
        if (service / path).exists():
            lines.append(f"ERROR: workflow_module={module!r} clashes: {path} exists")
    return lines


def bake_module(template: Path, answers: dict[str, str]) -> bool:
    """Bake the main template here with ``answers``; its own hook checks every name."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--default-config"]
    command += ["--output-dir", str(Path.cwd()), str(template)]
    command += [f"{name}={value}" for name, value in answers.items()]
    # Its next-steps message is about a new service, not this one: keep it quiet.
    return subprocess.run(command, stdout=subprocess.DEVNULL, check=False).returncode == 0


def main() -> None:
    context = json.loads(CONTEXT_JSON)
    service = Path(context["_output_dir"])
    subtemplate = Path(json.loads(SUBTEMPLATE_DIR_JSON)[0])
    sys.path.insert(0, str(subtemplate))
    from workflow_extensions import module_files, service_answers

    baked = service_answers(service)
    answers = {name: str(baked[name]) for name in SERVICE_ANSWERS if name in baked}
    answers |= {name: str(context[name]) for name in NEW_ANSWERS}
    own_files = module_files(answers["package_name"], answers["workflow_module"])
    lines = clashes(service, answers, own_files)
    for line in lines:
        print(line, file=sys.stderr)
    if lines or not bake_module(subtemplate.parent, answers):
        sys.exit(1)


if __name__ == "__main__":
    main()
