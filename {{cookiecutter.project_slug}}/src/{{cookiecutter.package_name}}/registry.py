"""The service's workflow modules, one line each.

The worker, ``init-db``, ``dev``, ``run`` and the tests read this list; nothing
else names a workflow module. Each listed package exports ``MODULE``, a
:class:`WorkflowModule`. To add one, add its line here.
"""

from __future__ import annotations

from importlib import import_module

from .temporal.module import WorkflowModule

WORKFLOW_MODULES = [
    "{{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}",
]


def load() -> list[WorkflowModule]:
    """The listed modules' records, in the order listed."""
    modules = [import_module(name).MODULE for name in WORKFLOW_MODULES]
    for name, module in zip(WORKFLOW_MODULES, modules, strict=True):
        if not isinstance(module, WorkflowModule):
            raise TypeError(f"{name}.MODULE is a {type(module).__name__}, not a WorkflowModule")
    return modules
