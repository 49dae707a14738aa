"""Worker versioning: with ``BUILD_ID`` set, workers join a Worker Deployment.

In a pod that Temporal's worker controller manages, its ``TEMPORAL_WORKER_BUILD_ID`` and
``TEMPORAL_DEPLOYMENT_NAME`` come first (config.py), so the pod is the version it routes to.

Each build of the service is a version of the deployment (``DEPLOYMENT_NAME``, by
default the service's name). A deploy starts workers of the new build beside the old
ones and makes the new version current (``temporal worker deployment
set-current-version``): new workflows start on it, and each running workflow stays on
the build it started on.

That is the PINNED behaviour, chosen here: a deploy never needs ``workflow.patched()``
for runs in flight, as long as the old build's workers keep running until its runs are
done (``temporal worker deployment describe-version`` shows when it has drained). The
alternative, AUTO_UPGRADE, moves running workflows to the new build at their next task,
so their histories must replay on it: what ``tests/test_replay.py`` and patches are for.
Without ``BUILD_ID`` the workers run unversioned.
"""

from __future__ import annotations

from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import WorkerDeploymentConfig

from .. import config

DEFAULT_BEHAVIOR = VersioningBehavior.PINNED


def deployment_config(
    build_id: str | None = None, deployment_name: str | None = None
) -> WorkerDeploymentConfig | None:
    """The workers' deployment version: ``build_id`` or ``BUILD_ID``; None without one."""
    build_id = build_id or config.build_id()
    if not build_id:
        return None
    version = WorkerDeploymentVersion(
        deployment_name=deployment_name or config.deployment_name(), build_id=build_id
    )
    return WorkerDeploymentConfig(
        version=version, use_worker_versioning=True, default_versioning_behavior=DEFAULT_BEHAVIOR
    )
