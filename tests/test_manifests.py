"""A baked service's Kubernetes manifests are valid by the Kubernetes schemas, strictly
(no unknown field), and its KEDA ScaledObject by KEDA's CRD schema, for every variant:
the names a bake puts in them included.

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
