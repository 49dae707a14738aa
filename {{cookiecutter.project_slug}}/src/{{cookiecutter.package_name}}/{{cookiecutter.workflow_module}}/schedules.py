{%- set when = cookiecutter.schedule | schedule_keywords -%}
"""When the {{ cookiecutter.workflow_name }} workflow runs on its own: its Temporal Schedules.

``python -m {{ cookiecutter.package_name }} schedules apply`` makes the server match this
list (temporal/schedules.py says how); ``dev`` and the deploy's Job run it. A schedule
is created paused when it says ``paused=True``, and stays as people leave it: ``schedules
unpause ID`` starts it, ``schedules trigger ID`` runs it once now.
"""

from __future__ import annotations
{% if when %}
from datetime import timedelta
{% endif %}
from ..temporal.scheduled_job import ScheduledJob
from .workflow_interface import {{ cookiecutter.workflow_name }}Job

{% if not when -%}
# None yet: a ScheduledJob here (see temporal/scheduled_job.py) makes the workflow recurring.
SCHEDULES: list[ScheduledJob[{{ cookiecutter.workflow_name }}Job]] = []
{%- else -%}
SCHEDULES: list[ScheduledJob[{{ cookiecutter.workflow_name }}Job]] = [
    ScheduledJob(
        id="{{ cookiecutter.project_slug }}.{{ cookiecutter.workflow_module | replace('_', '-') }}",
        # The example's records; a real job names what to fetch or sync at each run.
        job={
            "records": [
{{ cookiecutter.record_fields | python_records(cookiecutter.record_name, 16) }}
            ]
        },
        {{ when }},
        time_zone="UTC",
        # A run still going at the next time makes that time skipped, never doubled.
        # A time missed by more than the window (the server was down) is not run late.
        catchup_window=timedelta(minutes=10),
        # Created paused, so that a new service does nothing on its own.
        paused=True,
    ),
]
{%- endif %}
