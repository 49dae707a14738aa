"""Move the new workflow module into the service and list it in the registry.

The pre-generation hook left a bake of the main template, with the service's answers
and the new names, in this staging directory. Only the module's own files come out
of it: the package, its example inputs, its test file and its recorded histories.
Then the registry gains the one line that makes the worker, ``init-db``, ``dev`` and
the tests serve the module, and the staging directory goes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

# The only places Jinja touches this file: the answers as JSON data, never as code, and
# this sub-template's folder, in a JSON list so that the path's closing quote never
# meets the literal's own.
CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""
SUBTEMPLATE_DIR_JSON = r"""[{{ template_directory() | tojson }}]"""

REGISTRY_LIST = re.compile(r"^WORKFLOW_MODULES = \[\n(?:.*\n)*?(?=\]\n)", re.M)


def move_into(service: Path, baked: Path, paths: list[str]) -> None:
    """Move ``paths`` from the bake into the service, making folders as needed."""
    for path in paths:
        (service / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(baked / path, service / path)
    # A service baked before tests/modules/ existed gets its package marker too.
    marker = Path("tests/modules/__init__.py")
    if not (service / marker).exists():
        shutil.copyfile(baked / marker, service / marker)


def register(registry: Path, dotted: str) -> None:
    """Append ``dotted`` to the registry's WORKFLOW_MODULES list."""
    text = registry.read_text(encoding="utf-8")
    found = REGISTRY_LIST.search(text)
    if found is None:
        sys.exit(f"ERROR: no WORKFLOW_MODULES list in {registry}: add {dotted!r} to it by hand")
    text = text[: found.end()] + f'    "{dotted}",\n' + text[found.end() :]
    registry.write_text(text, encoding="utf-8")


# A scaler's first trigger, at whatever depth: the plain path's ScaledObject, or the
# one inside the worker controller's WorkerResourceTemplate.
FIRST_TRIGGER = re.compile(r"^( *)- type: temporal\n(?:\1  .*\n)+", re.M)
QUEUE_LINE = re.compile(r"^( +taskQueue: ).*$", re.M)
# The KEDA scalers of the two deploy paths (docs/shipping.md).
SCALERS = [
    Path("deploy/kubernetes/keda-scaledobject.yaml"),
    Path("deploy/worker-controller/workerresourcetemplate.yaml"),
]


def scale_on(scaler: Path, task_queue: str) -> str:
    """Give a KEDA scaler a trigger on ``task_queue``, like its first one, which ends the
    file; say what was done (a service baked before the scaler existed has none)."""
    if not scaler.is_file():
        return ""
    text = scaler.read_text(encoding="utf-8")
    found = FIRST_TRIGGER.search(text)
    if found is None or not QUEUE_LINE.search(found.group(0)):
        return f"  add a trigger on {task_queue} to {scaler.name} by hand"
    trigger = QUEUE_LINE.sub(lambda line: line.group(1) + task_queue, found.group(0))
    scaler.write_text(text.rstrip("\n") + "\n" + trigger, encoding="utf-8")
    return f"  {scaler.name} scales the workers on {task_queue} too"


def main() -> None:
    context = json.loads(CONTEXT_JSON)
    sys.path.insert(0, json.loads(SUBTEMPLATE_DIR_JSON)[0])
    from workflow_extensions import module_files

    staging = Path.cwd()
    service = Path(context["_output_dir"])
    [baked] = [path for path in staging.iterdir() if path.is_dir()]
    package = next(path.name for path in (baked / "src").iterdir() if path.is_dir())
    module, name = context["workflow_module"], context["workflow_name"]

    move_into(service, baked, module_files(package, module))
    register(service / "src" / package / "registry.py", f"{package}.{module}")
    scaled = [scale_on(service / scaler, context["task_queue"]) for scaler in SCALERS]
    os.chdir(service)
    shutil.rmtree(staging)
    print(
        "\n".join(
            [
                f"Added {name}Workflow: src/{package}/{module}/, examples/{module}.json and .csv, "
                f"tests/modules/test_{module}.py, and its line in src/{package}/registry.py.",
                "Next:",
                "  make test      # the new module's tests run with the others",
                f"  make init-db   # creates its table, {context['table_name']}, in production",
                *(line for line in scaled if line),
            ]
        )
    )


if __name__ == "__main__":
    main()
