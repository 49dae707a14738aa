"""The {{ cookiecutter.workflow_name }} workflow module, as the registry sees it.

``record.py`` (the record), ``schema.sql`` (its table), ``workflow_interface.py``
(the names clients use), ``workflow.py`` (the code that runs) and ``schedules.py``
(when it runs on its own).
"""

from ..temporal.module import WorkflowModule, job_checker
from .record import FIELDS, {{ cookiecutter.record_name }}
from .schedules import SCHEDULES
from .workflow import (
    TABLE_NAME,
    WORKFLOWS,
    {{ cookiecutter.workflow_name }}ActivitiesImpl,
)
from .workflow_interface import TASK_QUEUE, WORKFLOW_TYPE, {{ cookiecutter.workflow_name }}Job

MODULE = WorkflowModule(
    package=__name__,
    workflow_type=WORKFLOW_TYPE,
    task_queue=TASK_QUEUE,
    workflows=WORKFLOWS,
    activities=lambda database: {{ cookiecutter.workflow_name }}ActivitiesImpl(database).all(),
    table=TABLE_NAME,
    fields=FIELDS,
    schedules=SCHEDULES,
    check_job=job_checker({{ cookiecutter.workflow_name }}Job, {{ cookiecutter.record_name }}),
)
