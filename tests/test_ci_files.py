"""The habits a baked service ships with: its GitHub Actions workflow, Dependabot file and
compose file are valid by their published schemas, and its pre-commit hooks pass on a
fresh bake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import Cookies, bake_ok, make

# Installed beside the template's own tools (requirements.txt).
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
WORKFLOW = Path(".github/workflows/ci.yml")
DEPENDABOT = Path(".github/dependabot.yml")


def schema_errors(schema: str, path: Path) -> str:
    """What check-jsonschema says is wrong with ``path`` by a schema it ships; empty if valid."""
    checked = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return "" if checked.returncode == 0 else checked.stdout + checked.stderr


def test_the_ci_workflow_and_dependabot_file_are_valid(cookies: Cookies) -> None:
    project = bake_ok(cookies, {})
    assert schema_errors("vendor.github-workflows", project / WORKFLOW) == ""
    assert schema_errors("custom.github-workflows-require-timeout", project / WORKFLOW) == ""
    assert schema_errors("vendor.dependabot", project / DEPENDABOT) == ""


def test_the_compose_file_is_valid_by_the_compose_specification(
    cookies: Cookies, tmp_path: Path
) -> None:
    compose = bake_ok(cookies, {}) / "compose.yaml"
    assert schema_errors("vendor.compose-spec", compose) == ""
    # The schema refuses what it does not know (a mistyped key), so the check can fail.
    mistyped = tmp_path / "compose.yaml"
    text = compose.read_text(encoding="utf-8")
    mistyped.write_text(text.replace("stop_grace_period:", "stop_grace_periods:"), encoding="utf-8")
    assert "stop_grace_periods" in schema_errors("vendor.compose-spec", mistyped)


def test_the_ci_workflow_keeps_its_expressions_and_has_its_jobs(cookies: Cookies) -> None:
    project = bake_ok(cookies, {})
    text = (project / WORKFLOW).read_text(encoding="utf-8")
    # GitHub's ${{ }} expressions look like Jinja: the bake must leave them whole.
    for expression in ("${{ github.ref }}", "${{ matrix.python }}"):
        assert expression in text
    workflow: dict[str, Any] = yaml.safe_load(text)
    jobs = workflow["jobs"]
    assert set(jobs) == {"check", "test", "faults", "large", "image", "template"}
    assert jobs["test"]["strategy"]["matrix"]["python"] == ["3.10", "3.13"]
    assert any("-m faults" in step.get("run", "") for step in jobs["faults"]["steps"])
    test_steps = [step.get("run", "") for step in jobs["test"]["steps"]]
    assert any('-m "not faults and not large"' in step for step in test_steps)
    assert any("make test-large" in step.get("run", "") for step in jobs["large"]["steps"])
    assert any("make template-check" in step.get("run", "") for step in jobs["template"]["steps"])
    image_steps = [step.get("run", "") for step in jobs["image"]["steps"]]
    assert any("make image" in step and "${{ github.sha }}" in step for step in image_steps)


@pytest.mark.slow
def test_pre_commit_passes_on_a_fresh_bake(
    cookies: Cookies, baked_venv: Path, tmp_path: Path
) -> None:
    project = bake_ok(cookies, {})
    installed = make(project, baked_venv)  # pre-commit comes with the service's dev extra
    assert installed.returncode == 0, installed.stdout[-3000:]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    # The hooks run `make lint` and `make types`: in the shared environment here.
    env = os.environ | {"VENV": str(baked_venv), "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    pre_commit = str(baked_venv / "bin" / "pre-commit")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    validated = run("validate-config", ".pre-commit-config.yaml")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    ran = run("run", "--all-files")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    passed = [line for line in ran.stdout.splitlines() if line.endswith("Passed")]
    assert len(passed) == 2, ran.stdout
