"""The {{ cookiecutter.workflow_name }} workflow module, as the registry sees it.

``record.py`` (the record), ``schema.sql`` (its table), ``workflow_interface.py``
(the names clients use) and ``workflow.py`` (the code that runs).
"""

from {{ cookiecutter.package_name }}.db import Database
from {{ cookiecutter.package_name }}.temporal.module import WorkflowModule

from .record import FIELDS
from .workflow import (
    TABLE_NAME,
    WORKFLOWS,
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
)
from .workflow_interface import (
    TASK_QUEUE,
    WORKFLOW_TYPE,
    {{ cookiecutter.workflow_name }}Job,
)


async def work(database: Database, batch: {{ cookiecutter.workflow_name }}Job) -> int:
    """One batch, as the upsert activity does it: what ``make bench`` runs without Temporal."""
    return await {{ cookiecutter.workflow_name }}ActivitiesImpl(database).upsert(batch)


MODULE = WorkflowModule(
    package=__name__,
    workflow_type=WORKFLOW_TYPE,
    task_queue=TASK_QUEUE,
    workflows=WORKFLOWS,
    activities=lambda database: {{ cookiecutter.workflow_name }}ActivitiesImpl(database).all(),
    table=TABLE_NAME,
    work=work,
    fields=FIELDS,
)
