"""The workflow module these tests prove, under neutral names: the one place they name it.

The tests build records with ``Record.numbered()`` and read the fields, their types
and the natural key from ``FIELDS``, so they hold for whatever record is declared.
"""

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }} import MODULE
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.record import (
    FIELDS,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.record import (
    {{ cookiecutter.record_name }} as Record,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.record import (
    {{ cookiecutter.record_name }}Dict as RecordDict,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    WORKFLOWS,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import (
    {{ cookiecutter.workflow_name }}ActivitiesImpl as ActivitiesImpl,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    UPSERT_OPTIONS,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Activities as Activities,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Job as Job,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow_interface import (
    {{ cookiecutter.workflow_name }}Workflow as Workflow,
)

NAME = "{{ cookiecutter.workflow_name }}"

__all__ = [
    "FIELDS",
    "MODULE",
    "NAME",
    "UPSERT_OPTIONS",
    "WORKFLOWS",
    "Activities",
    "ActivitiesImpl",
    "Job",
    "Record",
    "RecordDict",
    "Workflow",
]
