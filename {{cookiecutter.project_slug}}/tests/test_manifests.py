"""deploy/kubernetes/, deploy/worker-controller/ and compose.yaml agree with the code they
deploy, and the two deploy paths with each other: probes, ports, user, shutdown, queues.

These read the YAML as data; the template's own tests also validate every manifest
against the Kubernetes schemas and run the Deployment with ``podman kube play``.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.client import Client

from {{ cookiecutter.package_name }} import config, db, registry
from {{ cookiecutter.package_name }}.gate import workflow_interface as gate
from {{ cookiecutter.package_name }}.temporal.worker import MAX_CONCURRENT_ACTIVITIES, create_workers

from .helpers import PROJECT_ROOT, run_cli, service_env

MANIFESTS = PROJECT_ROOT / "deploy" / "kubernetes"
# The versioned path, for Temporal's worker controller (docs/shipping.md).
CONTROLLER = PROJECT_ROOT / "deploy" / "worker-controller"
# What the worker needs between its graceful timeout and SIGKILL: stop polling, close
# the pool and the client, and exit.
STOP_MARGIN_SECONDS = 10


def manifest(name: str, directory: Path = MANIFESTS) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((directory / name).read_text(encoding="utf-8"))
    return loaded


def pod_of(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = manifest(name)["spec"]["template"]["spec"]
    return spec


def container_of(name: str) -> dict[str, Any]:
    [container] = pod_of(name)["containers"]
    return dict(container)


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container["env"]}


@pytest.mark.parametrize("directory", [MANIFESTS, CONTROLLER], ids=["plain", "controller"])
def test_the_kustomization_lists_files_that_exist(directory: Path) -> None:
    for resource in manifest("kustomization.yaml", directory)["resources"]:
        assert (directory / resource).is_file(), resource


def test_the_probes_ask_the_worker_what_health_py_answers() -> None:
    worker = container_of("deployment.yaml")
    ports = {port["name"]: port["containerPort"] for port in worker["ports"]}
    env = env_of(worker)
    assert env["HEALTH_ADDRESS"] == f"0.0.0.0:{ports['health']}"
    assert env["METRICS_ADDRESS"] == f"0.0.0.0:{ports['metrics']}"
    assert worker["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert worker["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert worker["startupProbe"]["httpGet"]["path"] == "/healthz"
    annotations = manifest("deployment.yaml")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["metrics"])


def test_the_startup_probe_outlasts_the_workers_own_tries_and_drains_pass_an_outage() -> None:
    probe = container_of("deployment.yaml")["startupProbe"]
    waited = probe["periodSeconds"] * probe["failureThreshold"]
    # Each try up to the connect timeout, then a second's pause, then the start itself.
    tries = db.STARTUP_ATTEMPTS * (db.CONNECT_TIMEOUT + 1)
    assert waited >= tries + STOP_MARGIN_SECONDS, (waited, tries)
    # Not ready is not healthy: a database outage must not block node drains.
    budget = manifest("poddisruptionbudget.yaml")["spec"]
    assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_sigkill_never_cuts_a_graceful_stop_short() -> None:
    settings = manifest("configmap.yaml")["data"]
    graceful = float(settings["GRACEFUL_SHUTDOWN_SECONDS"])
    grace = pod_of("deployment.yaml")["terminationGracePeriodSeconds"]
    assert grace >= graceful + STOP_MARGIN_SECONDS, (grace, graceful)
    # The image's default, for a worker run without the ConfigMap, holds to the same rule.
    assert grace >= config.DEFAULT_GRACEFUL_SHUTDOWN_SECONDS + STOP_MARGIN_SECONDS


@pytest.mark.parametrize("name", ["deployment.yaml", "init-db-job.yaml"])
def test_every_pod_runs_locked_down_as_the_images_user(name: str) -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    found = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    assert found is not None
    uid, gid = map(int, found.groups())
    pod = pod_of(name)["securityContext"]
    assert (pod["runAsNonRoot"], pod["runAsUser"], pod["runAsGroup"]) == (True, uid, gid)
    assert pod_of(name)["automountServiceAccountToken"] is False
    settings = manifest("configmap.yaml")["metadata"]["name"]
    assert "DATABASE_URL" not in manifest("configmap.yaml")["data"]
    containers = [*pod_of(name).get("initContainers", []), *pod_of(name)["containers"]]
    for container in containers:
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert set(container["resources"]) == {"requests", "limits"}
        assert container["envFrom"] == [{"configMapRef": {"name": settings}}]
    # The database's password comes from a Secret, never from the ConfigMap or the file.
    databases = [env_of(c)["DATABASE_URL"] for c in containers if "env" in c]
    assert databases and all(set(database) == {"secretKeyRef"} for database in databases)


async def test_the_workers_take_their_graceful_stop_from_the_setting(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the ConfigMap sets is what every worker the service builds is given.
    seconds = manifest("configmap.yaml")["data"]["GRACEFUL_SHUTDOWN_SECONDS"]
    monkeypatch.setenv("GRACEFUL_SHUTDOWN_SECONDS", seconds)
    # Built, never run; each on a queue of its own, as one client allows one per queue.
    queue = f"graceful-{uuid.uuid4()}"
    [worker] = create_workers(client, None, registry.load(), task_queue=queue, role="workflows")
    assert worker.config()["graceful_shutdown_timeout"] == timedelta(seconds=float(seconds))
    monkeypatch.delenv("GRACEFUL_SHUTDOWN_SECONDS")
    queue = f"graceful-{uuid.uuid4()}"
    [worker] = create_workers(client, None, registry.load(), task_queue=queue, role="workflows")
    default = timedelta(seconds=config.DEFAULT_GRACEFUL_SHUTDOWN_SECONDS)
    assert worker.config()["graceful_shutdown_timeout"] == default


def test_the_job_applies_the_schema_then_the_schedules_and_the_deployment_runs_the_worker() -> None:
    [schema] = pod_of("init-db-job.yaml")["initContainers"]
    assert schema["args"] == ["init-db"]
    assert container_of("init-db-job.yaml")["args"] == ["schedules", "apply"]
    assert pod_of("init-db-job.yaml")["restartPolicy"] == "Never"
    assert container_of("deployment.yaml")["args"] == ["worker"]
    # A bad setting stops the process at start, as the pod's first log line.
    env = service_env("", "") | {"GRACEFUL_SHUTDOWN_SECONDS": "soon"}
    ran = run_cli("worker", env=env, timeout=30)
    assert ran.returncode == 2
    assert "GRACEFUL_SHUTDOWN_SECONDS='soon' is invalid" in ran.stderr


def test_the_disruption_budget_and_the_scaler_point_at_the_workers() -> None:
    deployment = manifest("deployment.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = manifest("poddisruptionbudget.yaml")["spec"]["selector"]["matchLabels"]
    assert selector == deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    scaler = manifest("keda-scaledobject.yaml")["spec"]
    assert scaler["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert scaler["minReplicaCount"] >= 1


def test_the_scaler_watches_every_task_queue_the_workers_poll() -> None:
    queues = {module.task_queue for module in registry.load()}
    triggers = manifest("keda-scaledobject.yaml")["spec"]["triggers"]
    watched = {trigger["metadata"]["taskQueue"] for trigger in triggers}
    assert {trigger["type"] for trigger in triggers} == {"temporal"}
    # One trigger per module's queue: the workflow/ sub-template adds one with a module.
    assert watched == queues, f"no trigger for {queues - watched}, none polled: {watched - queues}"
    assert len(triggers) == len(queues)
    # Its target is stated in activity slots: two rounds of one worker's.
    for trigger in triggers:
        assert int(trigger["metadata"]["targetQueueSize"]) == 2 * MAX_CONCURRENT_ACTIVITIES


def test_the_settings_are_ones_the_service_reads() -> None:
    sources = (PROJECT_ROOT / "src").rglob("*.py")
    source = "\n".join(path.read_text(encoding="utf-8") for path in sources)
    for name in manifest("configmap.yaml")["data"]:
        # TEMPORAL_* are read by the SDK (temporalio.envconfig, in temporal/client.py).
        read = name.startswith("TEMPORAL_") or f'"{name}"' in source
        assert read, f"{name} is set in configmap.yaml but read nowhere"


def test_compose_runs_the_worker_locked_down_and_gives_it_its_graceful_stop() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8"))
    worker = compose["services"]["worker"]  # the x-service anchor merged in
    assert worker["command"] == ["worker"]
    assert compose["services"]["init-db"]["command"] == ["init-db"]
    assert worker["read_only"] is True and worker["cap_drop"] == ["ALL"]
    graceful = float(
        worker["environment"].get(
            "GRACEFUL_SHUTDOWN_SECONDS", config.DEFAULT_GRACEFUL_SHUTDOWN_SECONDS
        )
    )
    grace = re.fullmatch(r"(\d+)s", worker["stop_grace_period"])
    assert grace is not None and int(grace.group(1)) >= graceful + STOP_MARGIN_SECONDS
    # The password is the environment's (PGPASSWORD), never in the URL or the file.
    assert "@" in worker["environment"]["DATABASE_URL"]
    assert ":" not in worker["environment"]["DATABASE_URL"].split("//", 1)[1].split("@")[0]
    assert worker["environment"]["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_each_version_runs_the_plain_paths_pods_and_is_gated_by_the_workers_gate() -> None:
    versioned = manifest("workerdeployment.yaml", CONTROLLER)["spec"]
    # The same pods on both paths: settings, probes, limits and lock-down never drift.
    assert versioned["template"] == manifest("deployment.yaml")["spec"]["template"]
    rollout = versioned["rollout"]
    assert rollout["gate"]["workflowType"] == gate.WORKFLOW_TYPE  # what every worker serves
    ramps = [step["rampPercentage"] for step in rollout["steps"]]
    assert rollout["strategy"] == "Progressive" and len(ramps) >= 2
    assert ramps == sorted(set(ramps)) and ramps[0] > 0 and ramps[-1] < 100
    connection = manifest("connection.yaml", CONTROLLER)
    settings = manifest("configmap.yaml")["data"]
    assert versioned["workerOptions"]["connectionRef"]["name"] == connection["metadata"]["name"]
    assert versioned["workerOptions"]["temporalNamespace"] == settings["TEMPORAL_NAMESPACE"]
    assert connection["spec"]["hostPort"] == settings["TEMPORAL_ADDRESS"]
    # The plain path's disruption budget, applied on this path too, covers every version.
    selector = manifest("poddisruptionbudget.yaml")["spec"]["selector"]["matchLabels"]
    assert selector.items() <= versioned["template"]["metadata"]["labels"].items()


def test_each_versions_scaler_is_the_plain_scaler_on_that_versions_backlog() -> None:
    resource_template = manifest("workerresourcetemplate.yaml", CONTROLLER)["spec"]
    deployment = manifest("workerdeployment.yaml", CONTROLLER)["metadata"]["name"]
    assert resource_template["workerDeploymentRef"]["name"] == deployment
    versioned = resource_template["template"]["spec"]
    plain = manifest("keda-scaledobject.yaml")["spec"]
    # Left empty for the controller to fill, version by version.
    per_version = {"namespace": "", "workerDeploymentName": "", "workerDeploymentBuildId": ""}
    for ours, theirs in zip(versioned["triggers"], plain["triggers"], strict=True):
        assert ours["metadata"] == theirs["metadata"] | per_version
    settings = {key: value for key, value in versioned.items() if key != "triggers"}
    assert settings == {key: value for key, value in plain.items() if key != "triggers"} | {
        "scaleTargetRef": {}
    }
