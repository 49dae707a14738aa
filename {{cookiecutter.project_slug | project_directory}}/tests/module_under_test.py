"""The workflow module these tests prove, under neutral names: the one place they name it.

The tests build records with ``Record.numbered()`` and read field names from
``RecordDict``, so they keep working when the record's fields change; only
``KEY`` must name its natural key.
"""

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }} import MODULE
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.record import (
    {{ cookiecutter.workflow_name }}Record as Record,
)
from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.record import (
    {{ cookiecutter.workflow_name }}RecordDict as RecordDict,
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
# The record's natural key: the unique column its upserts conflict on.
KEY = "key"

__all__ = [
    "KEY",
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
