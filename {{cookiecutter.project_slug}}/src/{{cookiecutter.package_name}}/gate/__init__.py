"""The rollout gate: a workflow every worker serves on each of its task queues, which a
new build must complete before it takes traffic.

Temporal's worker controller starts it on each workflow task queue of a new version,
pinned to that version, and promotes the version only if every run completes
(deploy/worker-controller/). It proves what a deploy can break before any job meets
it: the new build's workers start, reach PostgreSQL, and find the tables and columns
their code writes (``init-db`` ran for this build). Anyone may start it by hand too:
``temporal workflow start --type RolloutGateWorkflow --task-queue <queue>``.

``workflow_interface.py`` holds the names, ``workflow.py`` the code that runs.
"""
