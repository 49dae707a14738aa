"""A baked service's Kubernetes manifests are valid by the Kubernetes schemas, strictly
(no unknown field), its KEDA ScaledObject by KEDA's CRD schema, and its worker
controller's resources by the controller's CRDs (tests/crd.py), for every variant: the
names a bake puts in them included.

The baked service's own tests/test_manifests.py checks that they agree with its code;
tests/test_image.py runs the Deployment with podman kube play.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from crd import crd, crd_errors
from helpers import REPO_ROOT, Cookies, bake_ok
from variants import Variant, variant_params

# Installed beside the template's own tools (requirements.txt).
KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
KUBERNETES_VERSION = "1.37.0"
# Kinds of Kubernetes itself; the KEDA ScaledObject and the Kustomization are not.
KUBERNETES_FILES = [
    "configmap.yaml",
    "deployment.yaml",
    "poddisruptionbudget.yaml",
    "init-db-job.yaml",
]


@pytest.mark.parametrize("variant", variant_params())
def test_every_manifest_is_valid_by_the_kubernetes_schemas(
    cookies: Cookies, variant: Variant
) -> None:
    manifests = bake_ok(cookies, variant.answers) / "deploy" / "kubernetes"
    checked = subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "--kubernetes-version", KUBERNETES_VERSION,
         *(str(manifests / name) for name in KUBERNETES_FILES)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    passed = [line for line in checked.stdout.splitlines() if " passed for resource " in line]
    assert len(passed) == len(KUBERNETES_FILES), checked.stdout


# `make test` installs it (npm ci in tests/keda, the `node` target for Node.js).
KEDA_VALIDATOR = REPO_ROOT / "tests" / "keda" / "validate.mjs"


def keda_says(resource: dict[str, Any]) -> str:
    """What KEDA's CRD schema says of the resource: "valid", or "invalid: <why>"."""
    checked = subprocess.run(
        ["node", str(KEDA_VALIDATOR)], input=json.dumps(resource), cwd=KEDA_VALIDATOR.parent,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.stdout, checked.stderr  # node ran the validator (installed by make test)
    return checked.stdout.strip()


@pytest.mark.parametrize("variant", variant_params())
def test_the_keda_scaler_is_valid_by_kedas_crd_schema(cookies: Cookies, variant: Variant) -> None:
    manifests = bake_ok(cookies, variant.answers) / "deploy" / "kubernetes"
    scaler = yaml.safe_load((manifests / "keda-scaledobject.yaml").read_text(encoding="utf-8"))
    assert keda_says(scaler) == "valid"
    # The schema has teeth: KEDA takes trigger settings as strings only.
    scaler["spec"]["triggers"][0]["metadata"]["targetQueueSize"] = 16
    assert keda_says(scaler).endswith("targetQueueSize must be string")


# The worker controller's resources (deploy/worker-controller/), each with its CRD's file.
CONTROLLER_RESOURCES = {
    "connection.yaml": "connections.yaml",
    "workerdeployment.yaml": "workerdeployments.yaml",
    "workerresourcetemplate.yaml": "workerresourcetemplates.yaml",
}


def controller_resource(project: Path, name: str) -> dict[str, Any]:
    path = project / "deploy" / "worker-controller" / name
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("variant", variant_params())
def test_the_worker_controllers_resources_are_valid_by_its_crds(
    cookies: Cookies, variant: Variant
) -> None:
    project = bake_ok(cookies, variant.answers)
    for name, definition in CONTROLLER_RESOURCES.items():
        assert crd_errors(crd(definition), controller_resource(project, name)) == [], name


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        # A field the schema does not know, refused rather than silently dropped.
        (lambda d: d["spec"]["rollout"].update(stepz=[]), "'stepz' was unexpected"),
        (lambda d: d["spec"]["rollout"]["steps"][0].update(rampPercentage=100), "99"),
        # The CRD's CEL rules: a pause under 30 s, Progressive without steps.
        (lambda d: d["spec"]["rollout"]["steps"][0].update(pauseDuration="10s"), "30s"),
        (lambda d: d["spec"]["rollout"].pop("steps"), "steps are required"),
        (lambda d: d["spec"].pop("workerOptions"), "'workerOptions' is a required property"),
        (lambda d: d["spec"]["template"]["spec"]["containers"][0].update(imagePullPolice="x"),
         "'imagePullPolice' was unexpected"),
    ],
    ids=["unknown-field", "ramp-100", "short-pause", "no-steps", "no-options", "pod-typo"],
)  # fmt: skip
def test_the_crd_check_refuses_what_the_api_server_would(
    cookies: Cookies, change: Any, refused: str
) -> None:
    deployment = controller_resource(bake_ok(cookies, {}), "workerdeployment.yaml")
    change(deployment)
    errors = crd_errors(crd("workerdeployments.yaml"), deployment)
    assert any(refused in error for error in errors), errors


def rendered_by_the_controller(template: dict[str, Any], build_id: str) -> dict[str, Any]:
    """The ScaledObject the controller makes of the template for one version: it fills
    the fields left empty for it (its docs/worker-resource-templates.md)."""
    rendered: dict[str, Any] = json.loads(json.dumps(template))
    rendered["metadata"] = {"name": f"kardashian-tracker-scaler-{build_id}"}
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"worker-{build_id}"}
    rendered["spec"]["scaleTargetRef"] = target
    filled = {
        "namespace": "default",
        "workerDeploymentName": "prod/kardashian-tracker",
        "workerDeploymentBuildId": build_id,
    }
    for trigger in rendered["spec"]["triggers"]:
        for key, value in filled.items():
            if trigger["metadata"].get(key) == "":
                trigger["metadata"][key] = value
    return rendered


@pytest.mark.parametrize("variant", variant_params())
def test_each_versions_scaler_is_valid_by_kedas_crd_schema(
    cookies: Cookies, variant: Variant
) -> None:
    project = bake_ok(cookies, variant.answers)
    template = controller_resource(project, "workerresourcetemplate.yaml")["spec"]["template"]
    # Left empty for the controller, which refuses a template that fills them itself.
    assert template["spec"]["scaleTargetRef"] == {}
    trigger = template["spec"]["triggers"][0]["metadata"]
    assert [trigger[key] for key in ("namespace", "workerDeploymentName")] == ["", ""]
    assert trigger["workerDeploymentBuildId"] == ""
    rendered = rendered_by_the_controller(template, "1.4.2-b7c9")
    assert keda_says(rendered) == "valid"
    assert keda_says(template).startswith("invalid"), "unrendered, it lacks its target"
