"""The {{ cookiecutter.workflow_name }} workflow module, as the registry sees it.

``record.py`` (the record), ``schema.sql`` (its table), ``workflow_interface.py``
(the names clients use) and ``workflow.py`` (the code that runs).
"""

from {{ cookiecutter.package_name }}.temporal.module import WorkflowModule

from .record import FIELDS
from .workflow import (
    TABLE_NAME,
    WORKFLOWS,
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
)
from .workflow_interface import TASK_QUEUE, WORKFLOW_TYPE

MODULE = WorkflowModule(
    package=__name__,
    workflow_type=WORKFLOW_TYPE,
    task_queue=TASK_QUEUE,
    workflows=WORKFLOWS,
    activities=lambda database: {{ cookiecutter.workflow_name }}ActivitiesImpl(database).all(),
    table=TABLE_NAME,
    fields=FIELDS,
)
